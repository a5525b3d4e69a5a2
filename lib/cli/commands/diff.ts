/**
 * `pigeon diff [DIR] [--from V] [--to V]`: what changed between two versions.
 *
 * @module
 */

import { defineCommand } from "../command.ts";
import { changesBetween } from "../../drive/version_changes.ts";
import {
  changeFields,
  changeLine,
  countChanges,
  openDrive,
  parseVersion,
  resolveDir,
} from "./_drive.ts";
import { versionsOf } from "./log.ts";

/** `pigeon diff`. */
export const diff = defineCommand({
  name: "diff",
  summary: "Show what changed between two versions of a drive",
  usage: `Usage: pigeon diff [DIR] [--from V] [--to V]

Lists the paths that differ between version --from and version --to of the
drive in DIR (default: the current folder): A added, M changed, D deleted
(symlinks end in @). --to defaults to the latest version, --from to the
version before the latest change. Uncommitted changes of the folder are
shown by pigeon status.

Options:
  --from V   The older version (default: the one before --to's change)
  --to V     The newer version (default: the latest)

With --json: one {"event":"change","type","path","kind","size"} per change,
then {"event":"diff","from","to","added","changed","deleted"}.`,
  options: { from: { type: "string" }, to: { type: "string" } },
  positionals: { min: 0, max: 1, names: "[DIR]" },
  async run({ values, positionals }, io) {
    const drive = await openDrive(io, resolveDir(io, positionals[0]));
    const to = values.to === undefined ? drive.version : parseVersion(values.to, "--to");
    let from: number;
    if (values.from !== undefined) {
      from = parseVersion(values.from, "--from");
    } else {
      from = 1;
      for (const v of versionsOf(drive)) {
        if (v.version <= to) {
          from = v.version === to ? v.previous : v.version;
          break;
        }
      }
    }
    drive.checkout(Math.max(1, from)); // range checks with a clear message
    drive.checkout(Math.max(1, to));
    const changes = await changesBetween(drive.drive, from, to);
    for (const c of changes) await io.out.result(changeLine(c), "change", changeFields(c));
    if (changes.length === 0) await io.out.note(`no differences between ${from} and ${to}`);
    await io.out.event("diff", { from, to, ...countChanges(changes) });
  },
});
