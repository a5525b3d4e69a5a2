/**
 * What the folder-drive commands share: finding the folder, opening its
 * drive, parsing versions, and printing changes.
 *
 * @module
 */

import type { Io } from "../command.ts";
import { UsageError } from "../exit.ts";
import type { JsonValue } from "../output.ts";
import { dataDir } from "../data_dir.ts";
import { FolderDrive } from "../../drive/folder_drive.ts";
import type { Change, ImportProgress, ImportResult } from "../../drive/import.ts";
import { formatLink } from "../../encoding/link.ts";

/** The folder under the data folder that holds drive secret keys. */
export const KEYS_SUBDIR = "keys";

/** `<data folder>/keys`. */
export function keysDir(io: Io): string {
  return `${dataDir((name) => io.env(name))}/${KEYS_SUBDIR}`;
}

/** `path` made absolute against the working directory, without a trailing slash. */
export function resolveDir(io: Io, path: string | undefined): string {
  const p = path === undefined || path === "" ? "." : path;
  let full = p.startsWith("/") ? p : `${io.cwd}/${p}`;
  const parts: string[] = [];
  for (const part of full.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  full = "/" + parts.join("/");
  return full;
}

/** Opens the drive in `dir` (read-only unless `writable`), closed when the command ends. */
export async function openDrive(io: Io, dir: string, writable = false): Promise<FolderDrive> {
  const drive = await FolderDrive.open(dir, { keysDir: keysDir(io), writable });
  io.onCleanup(() => drive.close());
  return drive;
}

/** The drive's link (`hyper://<z32 key>`). */
export function linkOf(drive: FolderDrive): string {
  return formatLink({ key: drive.key });
}

/** Parses a version argument (a whole number ≥ 1). */
export function parseVersion(text: string, what: string): number {
  if (!/^\d{1,15}$/.test(text) || Number(text) < 1) {
    throw new UsageError(`${what} must be a version number ≥ 1, got ${JSON.stringify(text)}`);
  }
  return Number(text);
}

/** The one-letter code of a change: A(dded), M(odified), D(eleted). */
export function changeLetter(change: Change): string {
  return change.type === "add" ? "A" : change.type === "change" ? "M" : "D";
}

/** A change as a line: `A /path` (symlinks get an `@`). */
export function changeLine(change: Change): string {
  return `${changeLetter(change)} ${change.path}${change.kind === "symlink" ? "@" : ""}`;
}

/** A change as JSON fields. */
export function changeFields(change: Change): Record<string, JsonValue> {
  return { type: change.type, path: change.path, kind: change.kind, size: change.size };
}

/** Counts of a change list. */
export function countChanges(
  changes: Change[],
): { added: number; changed: number; deleted: number } {
  let added = 0;
  let changed = 0;
  let deleted = 0;
  for (const c of changes) {
    if (c.type === "add") added++;
    else if (c.type === "change") changed++;
    else deleted++;
  }
  return { added, changed, deleted };
}

/** "3 added, 1 changed, 0 deleted". */
export function summary(changes: Change[]): string {
  const n = countChanges(changes);
  return `${n.added} added, ${n.changed} changed, ${n.deleted} deleted`;
}

/** Human-readable byte count. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`;
}

/** Import callbacks that report progress and warnings through `io`. */
export function importCallbacks(io: Io): {
  signal: AbortSignal;
  onWarning: (message: string) => void;
  onProgress: (p: ImportProgress) => void;
} {
  return {
    signal: io.signal,
    onWarning: (message) => void io.out.warn(message),
    onProgress: (p) =>
      void io.out.progress(
        `importing ${p.files}/${p.totalFiles} files, ${formatBytes(p.bytes)}/${
          formatBytes(p.totalBytes)
        }`,
      ),
  };
}

/** The JSON fields describing an import's outcome (the last line of create/add). */
export function importFields(drive: FolderDrive, result: ImportResult): Record<string, JsonValue> {
  return {
    link: linkOf(drive),
    version: result.version,
    previous: result.previous,
    ...countChanges(result.changes),
    entries: result.entries,
    bytes: result.bytesAppended,
    skipped: result.skipped.map((s) => s.path),
  };
}
