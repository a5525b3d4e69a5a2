/**
 * What changed between two versions of a drive, found from the db history
 * (the blocks written between them) rather than by listing both versions, so
 * the cost follows the number of changes, not the size of the drive.
 *
 * @module
 */

import type { Drive, DriveEntry, DriveReader } from "./drive.ts";
import { decodeEntryKey } from "./entry.ts";
import type { Change } from "./import.ts";

/** Most changes {@link changesBetween} collects (bounds memory on huge histories). */
export const MAX_CHANGES = 10_000_000;

/**
 * The changes that turn version `from` into version `to` (either order),
 * sorted by path. A path written again with the same value is not a change.
 */
export async function changesBetween(drive: Drive, from: number, to: number): Promise<Change[]> {
  const a = Math.max(1, from);
  const b = Math.max(1, to);
  if (a === b) return [];
  const lo = Math.min(a, b);
  const hi = Math.max(a, b);
  const touched = new Set<string>();
  for await (const h of drive.db.checkout(hi).history({ gte: lo, lt: hi })) {
    touched.add(decodeEntryKey(h.key));
    if (touched.size >= MAX_CHANGES) break;
  }
  const before = drive.checkout(a);
  const after = drive.checkout(b);
  const out: Change[] = [];
  for (const path of [...touched].sort()) {
    const change = await compare(path, before, after);
    if (change !== null) out.push(change);
  }
  return out;
}

async function compare(
  path: string,
  before: DriveReader,
  after: DriveReader,
): Promise<Change | null> {
  const x = await before.entry(path);
  const y = await after.entry(path);
  if (x === null && y === null) return null;
  if (y === null) return { type: "delete", path, kind: kindOf(x!), size: 0 };
  if (x !== null && sameValue(x, y)) return null;
  return {
    type: x === null ? "add" : "change",
    path,
    kind: kindOf(y),
    size: y.value.blob?.byteLength ?? 0,
  };
}

function kindOf(e: DriveEntry): "file" | "symlink" {
  return e.value.linkname !== null ? "symlink" : "file";
}

function sameValue(x: DriveEntry, y: DriveEntry): boolean {
  if (x.seq === y.seq) return true;
  return JSON.stringify(x.value) === JSON.stringify(y.value);
}
