/**
 * `pigeon create [DIR]`: makes a folder a drive and records its files as the
 * first version.
 *
 * @module
 */

import { defineCommand } from "../command.ts";
import { FolderDrive } from "../../drive/folder_drive.ts";
import { toHex } from "../../crypto/bytes.ts";
import { PigeonError } from "../../errors.ts";
import {
  changeFields,
  formatBytes,
  importCallbacks,
  importFields,
  keysDir,
  linkOf,
  resolveDir,
  summary,
} from "./_drive.ts";

/** `pigeon create`. */
export const create = defineCommand({
  name: "create",
  summary: "Make a folder a drive and record its files as the first version",
  usage: `Usage: pigeon create [DIR]

Makes DIR (default: the current folder; created if missing) a drive: its
state goes to DIR/.pigeon/, a new key pair is made, and every file not left
out by .pigeonignore is recorded as the first version. Prints the drive's
link (hyper://…) as the only line on stdout. The secret key that lets this
machine add versions is kept in the data folder, not in DIR (see
pigeon keys). Files stay where they are: the drive reads them in place.

With --json: one {"event":"change",…} per file, then the last line
{"event":"created","link","key","discoveryKey","version","previous","added",
"changed","deleted","entries","bytes","skipped"}.`,
  options: {},
  positionals: { min: 0, max: 1, names: "[DIR]" },
  async run({ positionals }, io) {
    const dir = resolveDir(io, positionals[0]);
    try {
      if (!Deno.statSync(dir).isDirectory) {
        throw new PigeonError("BAD_ARGUMENT", `Not a folder: ${dir}`);
      }
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
      Deno.mkdirSync(dir, { recursive: true });
    }
    const drive = await FolderDrive.create(dir, { keysDir: keysDir(io) });
    let done = false;
    io.onCleanup(async () => {
      await drive.close();
      if (!done) {
        // An interrupted or failed create leaves nothing behind, so it can be run again.
        await Deno.remove(`${dir}/.pigeon`, { recursive: true }).catch(() => {});
        await Deno.remove(drive.keyPath).catch(() => {});
      }
    });
    const result = await drive.add(importCallbacks(io));
    done = true;
    for (const c of result.changes) await io.out.event("change", changeFields(c));
    await io.out.note(
      `created a drive in ${dir}: version ${result.version}, ${summary(result.changes)}, ` +
        `${formatBytes(result.bytesAppended)}`,
    );
    await io.out.result(linkOf(drive), "created", {
      ...importFields(drive, result),
      key: toHex(drive.key),
      discoveryKey: toHex(drive.discoveryKey),
    });
  },
});
