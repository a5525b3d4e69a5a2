/**
 * `pigeon log [DIR]`: the versions of a drive, newest first, with their changes.
 *
 * @module
 */

import { defineCommand } from "../command.ts";
import type { FolderDrive } from "../../drive/folder_drive.ts";
import { changesBetween } from "../../drive/version_changes.ts";
import { changeFields, changeLine, openDrive, resolveDir, summary } from "./_drive.ts";
import { UsageError } from "../exit.ts";

/** One version as the log shows it. */
interface LogVersion {
  version: number;
  previous: number;
  time: string | null;
}

/** `pigeon log`. */
export const log = defineCommand({
  name: "log",
  summary: "List a drive's versions with their changes",
  usage: `Usage: pigeon log [DIR] [-n N] [--stat]

Lists the versions of the drive in DIR (default: the current folder), newest
first: "version N" with the time it was recorded (when known), then one line
per change (A added, M changed, D deleted). A version is the drive's db
length, the number pigeon checkout, cat --version and ls --version take.
Versions made by pigeon add on this machine are listed as such; for others
(a clone) every db block is its own version, as in Hyperdrive.

Options:
  -n, --limit N   Show only the N newest versions
  --stat          Show change counts instead of the changed paths

With --json: one {"event":"version","version","previous","time","added",
"changed","deleted","changes":[…]} per version, newest first.`,
  options: { limit: { type: "string", short: "n" }, stat: { type: "boolean" } },
  positionals: { min: 0, max: 1, names: "[DIR]" },
  async run({ values, positionals }, io) {
    const limit = values.limit === undefined ? Infinity : parseLimit(values.limit);
    const drive = await openDrive(io, resolveDir(io, positionals[0]));
    let shown = 0;
    for (const v of versionsOf(drive)) {
      if (shown++ >= limit) break;
      const changes = await changesBetween(drive.drive, v.previous, v.version);
      const counts = {
        added: changes.filter((c) => c.type === "add").length,
        changed: changes.filter((c) => c.type === "change").length,
        deleted: changes.filter((c) => c.type === "delete").length,
      };
      if (io.out.json) {
        await io.out.event("version", {
          version: v.version,
          previous: v.previous,
          time: v.time,
          ...counts,
          changes: values.stat ? [] : changes.map(changeFields),
        });
        continue;
      }
      await io.out.print(
        `version ${v.version}${v.time ? `  ${v.time}` : ""}  (${summary(changes)})`,
      );
      if (!values.stat) { for (const c of changes) await io.out.print(`  ${changeLine(c)}`); }
    }
  },
});

function parseLimit(text: string): number {
  if (!/^\d{1,9}$/.test(text)) throw new UsageError(`--limit takes a number, got ${text}`);
  return Number(text);
}

/**
 * The versions to list, newest first: the imports recorded in the history
 * (a version past the last record becomes one more), else every db length.
 */
export function* versionsOf(drive: FolderDrive): Generator<LogVersion> {
  const records = drive.history();
  const current = drive.version;
  if (records.length === 0) {
    for (let v = current; v >= 2; v--) yield { version: v, previous: v - 1, time: null };
    return;
  }
  const byVersion = new Map(records.map((r) => [r.version, r]));
  const bounds = [...new Set([1, ...records.map((r) => r.version), current])]
    .filter((v) => v >= 1 && v <= current)
    .sort((a, b) => a - b);
  for (let i = bounds.length - 1; i >= 1; i--) {
    const version = bounds[i]!;
    yield { version, previous: bounds[i - 1]!, time: byVersion.get(version)?.time ?? null };
  }
}
