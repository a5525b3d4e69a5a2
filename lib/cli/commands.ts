/**
 * The command registry: adding a command is one import and one entry here.
 * `pigeon help` lists them in this order.
 *
 * @module
 */

import type { Command } from "./command.ts";
import { help } from "./commands/help.ts";
import { link } from "./commands/link.ts";
import { recv } from "./commands/recv.ts";
import { seed } from "./commands/seed.ts";
import { send } from "./commands/send.ts";
import { version } from "./commands/version.ts";

/** Every command pigeon offers. */
export const COMMANDS: readonly Command[] = [
  send,
  recv,
  seed,
  link,
  version,
  help,
];
