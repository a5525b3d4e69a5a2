/**
 * The CLI's one entry point: parses arguments, finds the command, runs it
 * with signal handling and cleanup, and turns any failure into one line on
 * stderr and an exit code (see `exit.ts`). `cli.ts` calls {@link main} and
 * exits with what it returns; nothing else in pigeon exits the process.
 *
 * @module
 */

import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
import {
  type CleanupHook,
  type Command,
  type CommandArgs,
  GLOBAL_OPTIONS,
  type Io,
} from "./command.ts";
import { COMMANDS } from "./commands.ts";
import { EXIT, exitCodeFor, UsageError } from "./exit.ts";
import { commandHelp, overviewHelp } from "./help.ts";
import { type JsonValue, Output, type Sink, StdoutClosedError } from "./output.ts";
import { VERSION, versionLine } from "./version.ts";
import { PigeonError } from "../errors.ts";

type OptionValues = CommandArgs<ParseArgsOptionsConfig>["values"];

/** How long cleanup hooks may take after the command ends or a signal arrives. */
export const MAX_CLEANUP_MS = 5000;

/** The signals that interrupt a command (exit 130). */
export const INTERRUPT_SIGNALS: readonly Deno.Signal[] = ["SIGINT", "SIGTERM"];

/** Options that only make sense before the command name. */
const PRE_COMMAND_OPTIONS = {
  ...GLOBAL_OPTIONS,
  version: { type: "boolean", short: "V" },
} as const satisfies ParseArgsOptionsConfig;

/** The process around the CLI; {@link denoSystem} is the real one, tests pass their own. */
export interface System {
  /** Standard output. */
  stdout: Sink;
  /** Standard error. */
  stderr: Sink;
  /** Standard input. */
  stdin: ReadableStream<Uint8Array>;
  /** True when stdin is a terminal. */
  stdinIsTerminal: boolean;
  /** An environment variable, or `undefined`. */
  env(name: string): string | undefined;
  /** The working directory. */
  cwd: string;
  /** Terminal width, 0 when unknown. */
  columns: number;
  /** Subscribes to a signal. */
  addSignalListener(signal: Deno.Signal, handler: () => void): void;
  /** Unsubscribes from a signal. */
  removeSignalListener(signal: Deno.Signal, handler: () => void): void;
}

/** The real process: Deno's stdio, environment and signals. */
export function denoSystem(): System {
  let columns = 0;
  try {
    if (Deno.stderr.isTerminal()) columns = Deno.consoleSize().columns;
  } catch {
    columns = 0;
  }
  let cwd = "";
  try {
    cwd = Deno.cwd();
  } catch {
    cwd = "";
  }
  return {
    stdout: Deno.stdout,
    stderr: Deno.stderr,
    stdin: Deno.stdin.readable,
    stdinIsTerminal: Deno.stdin.isTerminal(),
    env: readEnv,
    cwd,
    columns,
    addSignalListener: (signal, handler) => Deno.addSignalListener(signal, handler),
    removeSignalListener: (signal, handler) => Deno.removeSignalListener(signal, handler),
  };
}

function readEnv(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined; // no env permission: behave as if unset
  }
}

/** Options for {@link main}. */
export interface MainOptions {
  /** The process to run in (default: the real one). */
  system?: System;
  /** The commands to offer (default: the registry). */
  commands?: readonly Command[];
}

/**
 * Runs the CLI for `argv` (without the program name) and resolves to the
 * process exit code. Never throws and never exits.
 */
export async function main(argv: readonly string[], options: MainOptions = {}): Promise<number> {
  const system = options.system ?? denoSystem();
  const commands = options.commands ?? COMMANDS;
  const debug = system.env("PIGEON_DEBUG") === "1";
  // Until arguments are parsed, guess the output mode from the raw arguments.
  let out = makeOutput(system, argv.includes("--json"), false, false);
  try {
    const parsed = parseCommandLine(argv, commands);
    const { json, quiet } = parsed;
    if (parsed.kind === "version") {
      out = makeOutput(system, json, quiet, false);
      await out.result(versionLine(), "version", versionFields());
      await out.flush();
      return EXIT.OK;
    }
    if (parsed.kind === "overview") {
      out = makeOutput(system, json, quiet, false);
      if (parsed.asked) {
        await writeText(system.stdout, overviewHelp(commands) + "\n");
        return EXIT.OK;
      }
      await writeText(system.stderr, overviewHelp(commands) + "\n");
      return EXIT.USAGE;
    }
    const { command } = parsed;
    out = makeOutput(system, json, quiet, command.stdoutIsData === true);
    if (parsed.help) {
      await writeText(system.stdout, commandHelp(command) + "\n");
      return EXIT.OK;
    }
    return await runCommand(command, parsed.values, parsed.positionals, {
      system,
      out,
      commands,
      debug,
    });
  } catch (err) {
    return await report(err, out, debug);
  }
}

interface ParsedOverview {
  kind: "overview";
  /** True when help was asked for (`--help`), false when no command was given. */
  asked: boolean;
  json: boolean;
  quiet: boolean;
}
interface ParsedVersion {
  kind: "version";
  json: boolean;
  quiet: boolean;
}
interface ParsedCommand {
  kind: "command";
  command: Command;
  values: Record<string, unknown>;
  positionals: string[];
  help: boolean;
  json: boolean;
  quiet: boolean;
}

/** Splits argv into global flags, the command and its arguments; throws UsageError. */
function parseCommandLine(
  argv: readonly string[],
  commands: readonly Command[],
): ParsedOverview | ParsedVersion | ParsedCommand {
  let i = 0;
  while (i < argv.length && argv[i]!.startsWith("-") && argv[i] !== "--") i++;
  const pre = parseOptions(argv.slice(0, i), PRE_COMMAND_OPTIONS, null, false);
  const json = pre.values.json === true;
  const quiet = pre.values.quiet === true;
  if (pre.values.version === true) return { kind: "version", json, quiet };
  if (argv[i] === "--") i++;
  const name = argv[i];
  if (name === undefined) return { kind: "overview", asked: pre.values.help === true, json, quiet };
  const command = commands.find((c) => c.name === name);
  if (command === undefined) {
    throw new UsageError(
      `unknown command ${JSON.stringify(name)} (run 'pigeon help' for the list)`,
    );
  }
  const config = { ...GLOBAL_OPTIONS, ...command.options };
  const rest = parseOptions(argv.slice(i + 1), config, command.name, true);
  const help = pre.values.help === true || rest.values.help === true;
  if (!help) checkPositionals(command, rest.positionals);
  return {
    kind: "command",
    command,
    values: rest.values,
    positionals: rest.positionals,
    help,
    json: json || rest.values.json === true,
    quiet: quiet || rest.values.quiet === true,
  };
}

function parseOptions(
  args: string[],
  options: ParseArgsOptionsConfig,
  commandName: string | null,
  allowPositionals: boolean,
): { values: Record<string, unknown>; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args, options, allowPositionals, strict: true });
    return { values: values as Record<string, unknown>, positionals };
  } catch (err) {
    const prefix = commandName === null ? "" : `${commandName}: `;
    const helpCommand = commandName === null ? "pigeon" : `pigeon ${commandName}`;
    throw new UsageError(`${prefix}${describeParseError(err)} (run '${helpCommand} --help')`);
  }
}

/** A short message for a node:util parseArgs error. */
function describeParseError(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: unknown } | null)?.code;
  const unknown = /^Unknown option '([^']*)'/.exec(message);
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" && unknown) return `unknown option ${unknown[1]}`;
  const missing = /^Option '([^' ]*)[^']*' argument missing/.exec(message);
  if (missing) return `option ${missing[1]} needs a value`;
  const ambiguous = /^Option '([^']*)' argument is ambiguous/.exec(message);
  if (ambiguous) return `option ${ambiguous[1]} needs a value (write ${ambiguous[1]}=-VALUE)`;
  const noArgument = /^Option '([^']*)' does not take an argument/.exec(message);
  if (noArgument) return `option ${noArgument[1]} takes no value`;
  const positional = /^Unexpected argument '([^']*)'/.exec(message);
  if (positional) return `unexpected argument ${JSON.stringify(positional[1])}`;
  return oneLine(message);
}

function checkPositionals(command: Command, positionals: string[]): void {
  const spec = command.positionals ?? { min: 0, max: 0, names: "" };
  const n = positionals.length;
  if (n >= spec.min && n <= spec.max) return;
  const who = command.name;
  if (spec.max === 0) {
    throw new UsageError(
      `${who}: unexpected argument ${JSON.stringify(positionals[0])} (run 'pigeon ${who} --help')`,
    );
  }
  const want = spec.min === spec.max
    ? `${spec.min}`
    : spec.max === Infinity
    ? `at least ${spec.min}`
    : `${spec.min} to ${spec.max}`;
  throw new UsageError(
    `${who}: expects ${want} argument${spec.max === 1 ? "" : "s"} (${spec.names}), got ${n} ` +
      `(run 'pigeon ${who} --help')`,
  );
}

interface RunContext {
  system: System;
  out: Output;
  commands: readonly Command[];
  debug: boolean;
}

/** Runs a command; SIGINT/SIGTERM aborts it, runs cleanup and yields 130. */
async function runCommand(
  command: Command,
  values: Record<string, unknown>,
  positionals: string[],
  { system, out, commands, debug }: RunContext,
): Promise<number> {
  const controller = new AbortController();
  const hooks: CleanupHook[] = [];
  let interrupted = false;
  let resolveInterrupt: (code: number) => void = () => {};
  const interruptedCode = new Promise<number>((resolve) => (resolveInterrupt = resolve));

  const onSignal = (): void => {
    if (interrupted) {
      resolveInterrupt(EXIT.INTERRUPTED); // a second signal: stop waiting for cleanup
      return;
    }
    interrupted = true;
    controller.abort(new PigeonError("CLOSED", "Interrupted"));
    void runCleanup(hooks, out, debug).then(() => resolveInterrupt(EXIT.INTERRUPTED));
  };
  for (const signal of INTERRUPT_SIGNALS) system.addSignalListener(signal, onSignal);

  const io: Io = {
    out,
    stdin: system.stdin,
    stdinIsTerminal: system.stdinIsTerminal,
    env: (name) => system.env(name),
    cwd: system.cwd,
    signal: controller.signal,
    onCleanup: (hook) => void hooks.push(hook),
    commands,
  };
  const work = (async (): Promise<number> => {
    try {
      const code = await command.run({ values: values as OptionValues, positionals }, io);
      await out.flush();
      return code ?? EXIT.OK;
    } catch (err) {
      if (interrupted) return EXIT.INTERRUPTED; // the failure is the interruption's echo
      return await report(err, out, debug);
    }
  })();
  try {
    const code = await Promise.race([work, interruptedCode]);
    if (interrupted) {
      await interruptedCode; // cleanup has run (or a second signal cut it short)
      await out.flush().catch(() => {});
      return EXIT.INTERRUPTED;
    }
    const cleaned = await runCleanup(hooks, out, debug);
    return code === EXIT.OK && !cleaned ? EXIT.ERROR : code;
  } finally {
    for (const signal of INTERRUPT_SIGNALS) system.removeSignalListener(signal, onSignal);
  }
}

/** Runs cleanup hooks last-first, each once, bounded by MAX_CLEANUP_MS; false if one failed. */
async function runCleanup(hooks: CleanupHook[], out: Output, debug: boolean): Promise<boolean> {
  let ok = true;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), MAX_CLEANUP_MS);
  });
  try {
    while (hooks.length > 0) {
      const hook = hooks.pop()!;
      try {
        const result = await Promise.race([Promise.resolve().then(hook), deadline]);
        if (result === "timeout") {
          await out.warn(`cleanup did not finish within ${MAX_CLEANUP_MS} ms`);
          return false;
        }
      } catch (err) {
        ok = false;
        await out.warn(`cleanup failed: ${messageOf(err)}`).catch(() => {});
        if (debug) await out.debug(stackOf(err)).catch(() => {});
      }
    }
  } finally {
    clearTimeout(timer);
  }
  return ok;
}

/** Prints the one-line error for `err` and returns its exit code. */
async function report(err: unknown, out: Output, debug: boolean): Promise<number> {
  if (err instanceof StdoutClosedError) return EXIT.OK; // `pigeon … | head`: not an error
  const code = exitCodeFor(err);
  const fields: Record<string, JsonValue> = { exit: code };
  if (err instanceof PigeonError) fields.code = err.code;
  let message = messageOf(err);
  if (code === EXIT.ERROR && !(err instanceof PigeonError) && !debug) {
    message += " (PIGEON_DEBUG=1 shows the stack)";
  }
  try {
    await out.error(message, fields);
    if (debug && !(err instanceof UsageError)) await out.debug(stackOf(err));
  } catch {
    // stderr is gone too; the exit code still tells.
  }
  return code;
}

/** One line describing `err`: PigeonError and usage messages as they are, others with their kind. */
function messageOf(err: unknown): string {
  if (err instanceof PigeonError || err instanceof UsageError) return oneLine(err.message);
  if (err instanceof Error) {
    const kind = err.name === "Error" ? "" : `${err.name}: `;
    return oneLine(kind + err.message);
  }
  return oneLine(String(err));
}

function stackOf(err: unknown): string {
  const parts: string[] = [];
  let current: unknown = err;
  for (let depth = 0; current !== undefined && depth < 8; depth++) {
    parts.push(current instanceof Error ? current.stack ?? String(current) : String(current));
    current = current instanceof Error ? current.cause : undefined;
    if (current !== undefined) parts.push("Caused by:");
  }
  return parts.join("\n");
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, " ").trim();
}

function versionFields(): Record<string, JsonValue> {
  return { pigeon: VERSION, deno: Deno.version.deno };
}

function makeOutput(system: System, json: boolean, quiet: boolean, stdoutIsData: boolean): Output {
  return new Output({
    json,
    quiet,
    stdoutIsData,
    stdout: system.stdout,
    stderr: system.stderr,
    columns: system.columns,
  });
}

async function writeText(sink: Sink, text: string): Promise<void> {
  const bytes = new TextEncoder().encode(text);
  let done = 0;
  try {
    while (done < bytes.byteLength) done += await sink.write(bytes.subarray(done));
  } catch (err) {
    if (!(err instanceof Deno.errors.BrokenPipe)) throw err;
  }
}
