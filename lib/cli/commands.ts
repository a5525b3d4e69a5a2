/**
 * The command registry: adding a command is one import and one entry here.
 * `pigeon help` lists them in this order.
 *
 * @module
 */

import type { Command } from "./command.ts";
import { add } from "./commands/add.ts";
import { cat } from "./commands/cat.ts";
import { checkout } from "./commands/checkout.ts";
import { clone } from "./commands/clone.ts";
import { create } from "./commands/create.ts";
import { diff } from "./commands/diff.ts";
import { keys } from "./commands/keys.ts";
import { log } from "./commands/log.ts";
import { ls } from "./commands/ls.ts";
import { pull } from "./commands/pull.ts";
import { share } from "./commands/share.ts";
import { status } from "./commands/status.ts";
import { sync } from "./commands/sync.ts";
import { help } from "./commands/help.ts";
import { link } from "./commands/link.ts";
import { recv } from "./commands/recv.ts";
import { seed } from "./commands/seed.ts";
import { send } from "./commands/send.ts";
import { version } from "./commands/version.ts";

/** Every command pigeon offers. */
export const COMMANDS: readonly Command[] = [
  create,
  add,
  status,
  log,
  diff,
  ls,
  cat,
  checkout,
  keys,
  share,
  clone,
  pull,
  sync,
  send,
  recv,
  seed,
  link,
  version,
  help,
];
