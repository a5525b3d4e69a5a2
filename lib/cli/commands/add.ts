/**
 * `pigeon add [DIR]`: records a drive folder's changes as one new version.
 *
 * @module
 */

import { defineCommand } from "../command.ts";
import {
  changeFields,
  changeLine,
  formatBytes,
  importCallbacks,
  importFields,
  openDrive,
  resolveDir,
  summary,
} from "./_drive.ts";

/** `pigeon add`. */
export const add = defineCommand({
  name: "add",
  summary: "Record a drive folder's changes as a new version",
  usage: `Usage: pigeon add [DIR]

Compares DIR (default: the current folder) with its drive's latest version
and records what was added, changed (content, executable bit, symlink
target) or deleted as one new version. Unchanged files are recognised by
size, modification time and inode, and are not read again. Prints one line
per change (A added, M changed, D deleted; symlinks end in @), then
"version N". Nothing changed: "no changes (version N)", and the version stays.
Needs this machine's secret key for the drive (see pigeon keys).

With --json: one {"event":"change","type","path","kind","size"} per change,
then the last line {"event":"added","link","version","previous","added",
"changed","deleted","entries","bytes","skipped"}.`,
  options: {},
  positionals: { min: 0, max: 1, names: "[DIR]" },
  async run({ positionals }, io) {
    const dir = resolveDir(io, positionals[0]);
    const drive = await openDrive(io, dir, true);
    const result = await drive.add(importCallbacks(io));
    for (const c of result.changes) {
      await io.out.result(changeLine(c), "change", changeFields(c));
    }
    if (result.changes.length > 0) {
      await io.out.note(`${summary(result.changes)}, ${formatBytes(result.bytesAppended)} read`);
    }
    const line = result.changes.length === 0
      ? `no changes (version ${result.version})`
      : `version ${result.version}`;
    await io.out.result(line, "added", importFields(drive, result));
  },
});
