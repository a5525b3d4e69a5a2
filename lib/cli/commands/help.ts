/**
 * `pigeon help [command]`: the overview, or one command's help page.
 *
 * @module
 */

import { defineCommand } from "../command.ts";
import { UsageError } from "../exit.ts";
import { commandHelp, overviewHelp } from "../help.ts";

/** `pigeon help [command]`. */
export const help = defineCommand({
  name: "help",
  summary: "Show help for pigeon or for one command",
  usage: `Usage: pigeon help [COMMAND]

Without COMMAND, lists every command with the global options and exit codes.
With COMMAND, shows that command's usage and options (same as 'pigeon COMMAND --help').`,
  options: {},
  positionals: { min: 0, max: 1, names: "COMMAND" },
  async run({ positionals }, io) {
    const name = positionals[0];
    if (name === undefined) {
      await io.out.write(new TextEncoder().encode(overviewHelp(io.commands) + "\n"));
      return;
    }
    const command = io.commands.find((c) => c.name === name);
    if (command === undefined) {
      throw new UsageError(
        `help: unknown command ${JSON.stringify(name)} (run 'pigeon help' for the list)`,
      );
    }
    await io.out.write(new TextEncoder().encode(commandHelp(command) + "\n"));
  },
});
