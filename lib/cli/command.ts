/**
 * The shape of one CLI command. Each command lives in its own file under
 * `lib/cli/commands/` and is listed once in `lib/cli/commands.ts`.
 *
 * @example A command
 * ```ts
 * import { defineCommand } from "./command.ts";
 * export const hello = defineCommand({
 *   name: "hello",
 *   summary: "Greet someone",
 *   usage: "pigeon hello [--loud] NAME\n\nOptions:\n  --loud   Shout",
 *   options: { loud: { type: "boolean" } },
 *   positionals: { min: 1, max: 1, names: "NAME" },
 *   async run({ values, positionals }, io) {
 *     const text = `hello ${positionals[0]}`;
 *     await io.out.result(values.loud ? text.toUpperCase() : text, "hello", { text });
 *   },
 * });
 * ```
 *
 * @module
 */

import type { ParseArgsOptionsConfig } from "node:util";
import type { Output } from "./output.ts";

/** The values `parseArgs` produces for an options config `O`. */
export type OptionValues<O extends ParseArgsOptionsConfig> = {
  [K in keyof O]?: O[K] extends { type: "boolean"; multiple: true } ? boolean[]
    : O[K] extends { type: "boolean" } ? boolean
    : O[K] extends { multiple: true } ? string[]
    : string;
};

/** What a command's `run` receives. */
export interface CommandArgs<O extends ParseArgsOptionsConfig> {
  /** Option values (the command's own; global options are handled by main). */
  values: OptionValues<O>;
  /** Positional arguments, already checked against `positionals`. */
  positionals: string[];
}

/** A cleanup function: closes storage, sockets, temp files. */
export type CleanupHook = () => void | Promise<void>;

/** The outside world, as a command sees it. Only lib/cli touches the process. */
export interface Io {
  /** Every printed byte goes through here. */
  readonly out: Output;
  /** Standard input. */
  readonly stdin: ReadableStream<Uint8Array>;
  /** True when stdin is a terminal (nothing piped in). */
  readonly stdinIsTerminal: boolean;
  /** An environment variable, or `undefined` (also when env access is denied). */
  env(name: string): string | undefined;
  /** The working directory. */
  readonly cwd: string;
  /** Aborted on SIGINT/SIGTERM; pass it to everything that waits. */
  readonly signal: AbortSignal;
  /**
   * Registers cleanup to run when the command ends or is interrupted (last
   * registered runs first; each hook runs once, bounded by main's cleanup limit).
   */
  onCleanup(hook: CleanupHook): void;
  /** Every registered command (for `help`). */
  readonly commands: readonly Command[];
}

/** How many positional arguments a command takes. */
export interface PositionalSpec {
  /** At least this many. */
  min: number;
  /** At most this many (`Infinity` for no limit). */
  max: number;
  /** How the usage line names them, for error messages (e.g. `LINK [PATH]`). */
  names: string;
}

/** One CLI command. */
export interface Command<O extends ParseArgsOptionsConfig = ParseArgsOptionsConfig> {
  /** The word after `pigeon`. */
  readonly name: string;
  /** One line for `pigeon help`. */
  readonly summary: string;
  /**
   * The full help text shown by `pigeon help NAME` and `pigeon NAME --help`:
   * synopsis line(s), a description, and the command's own options. The
   * global options (`--json`, `--quiet`, `--help`) are appended automatically.
   */
  readonly usage: string;
  /** The command's options, as a `node:util` `parseArgs` config. */
  readonly options: O;
  /** Positional arguments it takes; none when absent. */
  readonly positionals?: PositionalSpec;
  /** Its stdout carries data, so `--json` events go to stderr instead. */
  readonly stdoutIsData?: boolean;
  /** Does the work; resolves to an exit code (nothing means 0). Throws to fail. */
  run(args: CommandArgs<O>, io: Io): Promise<number | void>;
}

/**
 * Declares a command with its option types inferred from `options`, and
 * erases them so commands of different options fit in one registry.
 */
export function defineCommand<const O extends ParseArgsOptionsConfig>(
  command: Command<O>,
): Command {
  return command as unknown as Command;
}

/** The options every command accepts, handled by main. */
export const GLOBAL_OPTIONS = {
  json: { type: "boolean" },
  quiet: { type: "boolean", short: "q" },
  help: { type: "boolean", short: "h" },
} as const satisfies ParseArgsOptionsConfig;

/** Help text for {@link GLOBAL_OPTIONS}. */
export const GLOBAL_OPTIONS_HELP = `Global options:
  --json        Print NDJSON events ({"event": …}) instead of text
  -q, --quiet   Print no notes or progress (results, warnings and errors stay)
  -h, --help    Show help for this command`;
