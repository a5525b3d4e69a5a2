/**
 * Help texts: the overview `pigeon help` prints and each command's page.
 *
 * @module
 */

import { type Command, GLOBAL_OPTIONS_HELP } from "./command.ts";
import { VERSION } from "./version.ts";

/** The one-line exit code legend, also shown in the README. */
export const EXIT_CODES_HELP = `Exit codes:
  0    ok
  1    unexpected error
  2    usage or bad input (unknown command, bad flag, malformed link)
  3    nothing found (no peer, unknown key, timeout)
  4    integrity failure (data or a peer failed verification)
  130  interrupted (SIGINT, SIGTERM)`;

/** The overview: what pigeon is, every command with its summary, global options, exit codes. */
export function overviewHelp(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const list = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join("\n");
  return `pigeon ${VERSION} — share, version and sync data sets peer to peer, every byte verified

Usage:
  pigeon <command> [options] [arguments]
  pigeon --version
  pigeon help [command]

Commands:
${list}

${GLOBAL_OPTIONS_HELP}
  -V, --version Print pigeon's version (before a command)

${EXIT_CODES_HELP}

Data folder: $PIGEON_HOME, else $XDG_DATA_HOME/pigeon, else ~/.local/share/pigeon;
a shared folder keeps its logs in .pigeon/ inside it.

Run 'pigeon help <command>' or 'pigeon <command> --help' for a command's options.`;
}

/** A command's help page: its own usage text followed by the global options. */
export function commandHelp(command: Command): string {
  return `${command.usage.trimEnd()}\n\n${GLOBAL_OPTIONS_HELP}`;
}
