/**
 * "Files stay files": the `data` file of a writer's blobs log, read back from
 * the working files instead of a second copy of their bytes.
 *
 * The blobs log of a folder drive is a run of blobs, one per imported file
 * version: blob `[byteOffset, byteOffset + byteLength)` of the log holds the
 * bytes of one working file. {@link WorkingFileContent} keeps these ranges as
 * segments sorted by offset and answers a read by binary search, reading the
 * file at the matching offset. Writes made while appending are not stored:
 * the bytes already are the file's, and a write to a range no segment covers
 * is refused.
 *
 * A file changed behind pigeon's back no longer holds the bytes its blocks
 * were hashed from. The blobs core must be opened with `verifyReads`, so such
 * a block fails its hash check, reads as `NOT_AVAILABLE` and is marked as not
 * held; wrong bytes are never served. Ranges of old file versions (replaced
 * by a later import) have no segment and read as zeros, which fail the same
 * check.
 *
 * @module
 */

import { PigeonError } from "../errors.ts";
import type { RandomAccess } from "../core/storage.ts";
import type { IndexEntry } from "./folder_index.ts";

/** Working files kept open at once for reads (least recently used are closed). */
export const MAX_OPEN_FILES = 32;

/** One blob range and the working file that holds it. */
export interface Segment {
  /** Blobs-log byte offset of the first byte. */
  byteOffset: number;
  /** Bytes in the range (> 0). */
  byteLength: number;
  /** Normalised drive path of the file (`/a/b.txt`). */
  path: string;
}

/** The segments of every non-empty file in `entries`, sorted by offset. */
export function segmentsOf(entries: Iterable<IndexEntry>): Segment[] {
  const out: Segment[] = [];
  for (const e of entries) {
    if (e.kind !== "file" || e.size === 0) continue;
    out.push({ byteOffset: e.blob.byteOffset, byteLength: e.size, path: e.path });
  }
  out.sort((a, b) => a.byteOffset - b.byteOffset);
  return out;
}

/** A {@link RandomAccess} whose bytes are the working files of a folder (see the module doc). */
export class WorkingFileContent implements RandomAccess {
  readonly #root: string;
  #segments: Segment[];
  readonly #open = new Map<string, Deno.FsFile>();
  #closed = false;

  /** Content of the folder `root`, laid out as `segments` say (sorted, not overlapping). */
  constructor(root: string, segments: Segment[] = []) {
    this.#root = root;
    this.#segments = segments;
    for (let i = 1; i < segments.length; i++) {
      const prev = segments[i - 1]!;
      if (segments[i]!.byteOffset < prev.byteOffset + prev.byteLength) {
        throw new PigeonError("BAD_ARGUMENT", `Overlapping content segments at ${prev.path}`);
      }
    }
  }

  /** The folder the files are in. */
  get root(): string {
    return this.#root;
  }

  /** Number of segments. */
  get segmentCount(): number {
    return this.#segments.length;
  }

  /** Replaces every segment (after an import settled which files are where). */
  setSegments(segments: Segment[]): void {
    this.#segments = segments;
    this.#closeFiles();
  }

  /**
   * Adds the range of a file about to be appended; it must start at or after
   * the end of every existing segment.
   */
  register(segment: Segment): void {
    if (segment.byteLength <= 0) return;
    const last = this.#segments.at(-1);
    if (last !== undefined && segment.byteOffset < last.byteOffset + last.byteLength) {
      throw new PigeonError(
        "BAD_ARGUMENT",
        `Segment of ${segment.path} at ${segment.byteOffset} overlaps ${last.path}`,
      );
    }
    this.#segments.push(segment);
    const handle = this.#open.get(segment.path);
    if (handle !== undefined) {
      // The file may have been replaced since it was opened: read it afresh.
      handle.close();
      this.#open.delete(segment.path);
    }
  }

  /** Drops segments that end after `byteOffset` (a file that changed while it was imported). */
  dropFrom(byteOffset: number): void {
    while (this.#segments.length > 0) {
      const last = this.#segments.at(-1)!;
      if (last.byteOffset + last.byteLength <= byteOffset) break;
      this.#segments.pop();
    }
  }

  read(offset: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    const end = offset + length;
    let i = this.#find(offset);
    for (; i < this.#segments.length; i++) {
      const seg = this.#segments[i]!;
      if (seg.byteOffset >= end) break;
      const from = Math.max(offset, seg.byteOffset);
      const to = Math.min(end, seg.byteOffset + seg.byteLength);
      if (to > from) {
        this.#readFile(seg.path, from - seg.byteOffset, out.subarray(from - offset, to - offset));
      }
    }
    return out;
  }

  /**
   * Accepts a write only where segments cover every byte: the bytes are the
   * files', so nothing is stored.
   */
  write(offset: number, bytes: Uint8Array): void {
    let at = offset;
    const end = offset + bytes.byteLength;
    let i = this.#find(offset);
    while (at < end) {
      const seg = this.#segments[i];
      if (seg === undefined || seg.byteOffset > at || seg.byteOffset + seg.byteLength <= at) {
        throw new PigeonError(
          "NOT_WRITABLE",
          `Blobs bytes at ${at} belong to no working file; a folder drive is written by import`,
        );
      }
      at = seg.byteOffset + seg.byteLength;
      i++;
    }
  }

  size(): number {
    const last = this.#segments.at(-1);
    return last === undefined ? 0 : last.byteOffset + last.byteLength;
  }

  truncate(size: number): void {
    this.dropFrom(size);
  }

  sync(): void {}

  close(): void {
    this.#closed = true;
    this.#closeFiles();
  }

  /** Index of the first segment that ends after `offset`. */
  #find(offset: number): number {
    const segs = this.#segments;
    let lo = 0;
    let hi = segs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const s = segs[mid]!;
      if (s.byteOffset + s.byteLength <= offset) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Fills `into` from the file at `path`, starting at `position`; missing bytes stay zero. */
  #readFile(path: string, position: number, into: Uint8Array): void {
    if (this.#closed) throw new PigeonError("CLOSED", "Working file content is closed");
    const file = this.#handle(path);
    if (file === null) return;
    try {
      file.seekSync(position, Deno.SeekMode.Start);
      let done = 0;
      while (done < into.byteLength) {
        const n = file.readSync(into.subarray(done));
        if (n === null || n === 0) break;
        done += n;
      }
    } catch {
      // Unreadable now: the zeros left in `into` fail the block's hash check.
      this.#open.delete(path);
      try {
        file.close();
      } catch { /* already closed */ }
    }
  }

  #handle(path: string): Deno.FsFile | null {
    const cached = this.#open.get(path);
    if (cached !== undefined) {
      this.#open.delete(path); // re-insert: most recently used last
      this.#open.set(path, cached);
      return cached;
    }
    const full = this.#root + path;
    try {
      // Never follow a symlink that replaced the file: the bytes would not be the file's.
      if (!Deno.lstatSync(full).isFile) return null;
      const file = Deno.openSync(full, { read: true });
      if (this.#open.size >= MAX_OPEN_FILES) {
        const [oldest, handle] = this.#open.entries().next().value!;
        this.#open.delete(oldest);
        handle.close();
      }
      this.#open.set(path, file);
      return file;
    } catch {
      return null; // gone or unreadable: the block is not available
    }
  }

  #closeFiles(): void {
    for (const file of this.#open.values()) {
      try {
        file.close();
      } catch { /* already closed */ }
    }
    this.#open.clear();
  }
}
