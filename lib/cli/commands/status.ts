/**
 * `pigeon status [DIR]`: a drive folder's link, version, whether this
 * machine can write it, and its changes not yet recorded.
 *
 * @module
 */

import { defineCommand } from "../command.ts";
import { toHex } from "../../crypto/bytes.ts";
import { changeFields, changeLine, linkOf, openDrive, resolveDir, summary } from "./_drive.ts";

/** `pigeon status`. */
export const status = defineCommand({
  name: "status",
  summary: "Show a drive folder's link, version, and changes not yet added",
  usage: `Usage: pigeon status [DIR]

Prints the link, the latest version, whether this machine holds the secret
key (writable), and the changes pigeon add would record now (A added,
M changed, D deleted), without writing anything. A clone has no local changes.

With --json: one document {"event":"status","link","key","discoveryKey",
"kind":"writer"|"clone","version","writable","changes":[{"type","path",
"kind","size"}…]}.`,
  options: {},
  positionals: { min: 0, max: 1, names: "[DIR]" },
  async run({ positionals }, io) {
    const dir = resolveDir(io, positionals[0]);
    const drive = await openDrive(io, dir);
    const writable = drive.hasSecretKey;
    const changes = drive.kind === "writer"
      ? (await drive.status({ signal: io.signal, onWarning: (m) => void io.out.warn(m) })).changes
      : [];
    if (io.out.json) {
      await io.out.event("status", {
        link: linkOf(drive),
        key: toHex(drive.key),
        discoveryKey: toHex(drive.discoveryKey),
        kind: drive.kind,
        version: drive.version,
        writable,
        changes: changes.map(changeFields),
      });
      return;
    }
    await io.out.print(`link:     ${linkOf(drive)}`);
    await io.out.print(`version:  ${drive.version}`);
    await io.out.print(
      `writable: ${writable ? "yes" : "no"}${drive.kind === "clone" ? " (a clone)" : ""}`,
    );
    if (changes.length === 0) {
      await io.out.print("no changes");
      return;
    }
    await io.out.print(`changes:  ${summary(changes)} (record them with pigeon add)`);
    for (const c of changes) await io.out.print(`  ${changeLine(c)}`);
  },
});
