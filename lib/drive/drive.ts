/**
 * A Hyperdrive 13 compatible file system over two logs (SPEC g): a db log
 * holding a {@link Hyperbee} of entries and a blobs log holding contents.
 *
 * Writes happen the way hyperdrive 13.3.4 makes them, so the same sequence of
 * calls gives the same blocks: the content goes to the blobs log first, then
 * one entry block to the db log. A {@link DriveBatch} gathers entry writes into
 * one db append. Reads follow hyperdrive too: `list` is recursive and ordered
 * by path bytes, `readdir` yields the immediate child names of a folder.
 *
 * @module
 */

import { PigeonError } from "../errors.ts";
import type { Log } from "./log.ts";
import { type BeeEntry, Hyperbee, type HyperbeeBatch, type RangeOptions } from "./hyperbee.ts";
import { type BlobId, type ByteRange, Hyperblobs } from "./hyperblobs.ts";
import {
  decodeEntry,
  decodeEntryKey,
  encodeEntry,
  type Entry,
  entryKey,
  FILES_PREFIX,
  folderRange,
  type JsonValue,
  normalizeFolder,
  normalizePath,
  rawEntryKey,
} from "./entry.ts";

/** Symlinks followed by {@link DriveReader.entry} with `follow` before giving up. */
export const MAX_SYMLINK_HOPS = 16;

/** Hyperdrive's db header metadata: present, with no content feed. */
export const DRIVE_HEADER_METADATA = { contentFeed: null, userData: null };

/** One entry of a drive: its normalised path, the db block that wrote it, its value. */
export interface DriveEntry {
  /** Normalised path (`/a/b.txt`). */
  path: string;
  /** Db block seq that wrote the entry. */
  seq: number;
  /** The entry value. */
  value: Entry;
}

/** What {@link DriveReader.stat} reports. */
export interface DriveStat {
  /** File, symlink, or a folder (a path prefix of other entries). */
  type: "file" | "symlink" | "directory";
  /** Content bytes (0 for symlinks and folders). */
  size: number;
  /** Executable bit (files). */
  executable: boolean;
  /** Symlink target, or null. */
  linkname: string | null;
  /** User metadata, or null. */
  metadata: JsonValue | null;
  /** Db block seq of the entry; 0 for a folder. */
  seq: number;
}

/** One difference between two versions of a drive. */
export interface DriveDiff {
  /** Path that differs. */
  path: string;
  /** The entry in this drive's version, or null if absent there. */
  left: DriveEntry | null;
  /** The entry in the other version, or null if absent there. */
  right: DriveEntry | null;
}

/** Options of file writes. */
export interface PutOptions {
  /** Set the executable bit. */
  executable?: boolean;
  /** User metadata (JSON). */
  metadata?: JsonValue | null;
}

/** The reading side of a Hyperbee: live bee, checkout or batch. */
interface BeeView {
  readonly version: number;
  get(key: Uint8Array): Promise<BeeEntry | null>;
  range(options?: RangeOptions): AsyncGenerator<BeeEntry>;
}

function toDriveEntry(e: BeeEntry): DriveEntry {
  if (e.value === null) throw new PigeonError("DECODE_ERROR", `Drive entry ${e.seq} has no value`);
  return { path: decodeEntryKey(e.key), seq: e.seq, value: decodeEntry(e.value) };
}

/** Read operations of a drive version. */
export class DriveReader {
  /** The db view read. */
  protected readonly view: BeeView;
  /** The content store. */
  readonly blobs: Hyperblobs;

  /** A reader over `view` with contents in `blobs`. */
  constructor(view: BeeView, blobs: Hyperblobs) {
    this.view = view;
    this.blobs = blobs;
  }

  /** The db version read (db log length, at least 1). */
  get version(): number {
    return this.view.version;
  }

  /** The entry at `path`, following symlinks when `follow` is set. */
  async entry(path: string, options: { follow?: boolean } = {}): Promise<DriveEntry | null> {
    let name = normalizePath(path);
    for (let hop = 0; hop <= MAX_SYMLINK_HOPS; hop++) {
      const node = await this.view.get(entryKey(name));
      if (node === null) return null;
      const entry = toDriveEntry(node);
      if (!options.follow || entry.value.linkname === null) return entry;
      name = resolveLink(entry.path, entry.value.linkname);
    }
    throw new PigeonError("BAD_ARGUMENT", `More than ${MAX_SYMLINK_HOPS} symlinks from ${path}`);
  }

  /** True when `path` has an entry. */
  async exists(path: string): Promise<boolean> {
    return (await this.entry(path)) !== null;
  }

  /** The content of the file at `path` (or a byte range), or null if it has none. */
  async get(path: string, range?: ByteRange): Promise<Uint8Array | null> {
    const entry = await this.entry(path);
    if (entry === null || entry.value.blob === null) return null;
    return this.blobs.get(entry.value.blob, range);
  }

  /** The content of the file at `path` as chunks; nothing for a missing file. */
  async *read(path: string, range?: ByteRange): AsyncGenerator<Uint8Array> {
    const entry = await this.entry(path);
    if (entry === null || entry.value.blob === null) return;
    yield* this.blobs.read(entry.value.blob, range);
  }

  /** What is at `path`: a file, a symlink, a folder, or null. */
  async stat(path: string): Promise<DriveStat | null> {
    const entry = await this.entry(path);
    if (entry !== null) {
      const v = entry.value;
      return {
        type: v.linkname !== null ? "symlink" : "file",
        size: v.blob === null ? 0 : await this.blobs.contentLength(v.blob),
        executable: v.executable,
        linkname: v.linkname,
        metadata: v.metadata,
        seq: entry.seq,
      };
    }
    for await (const _ of this.list(path)) {
      return {
        type: "directory",
        size: 0,
        executable: false,
        linkname: null,
        metadata: null,
        seq: 0,
      };
    }
    return null;
  }

  /** Every entry under `folder` (recursively), ordered by path bytes. */
  async *list(folder = "/"): AsyncGenerator<DriveEntry> {
    for await (const e of this.view.range(folderRange(folder))) yield toDriveEntry(e);
  }

  /**
   * Every entry under the `files` key prefix, including keys that are not
   * normalised paths (`../x`, no leading `/`), which {@link list} never
   * reaches; export uses it to refuse such drives.
   */
  async *listAll(): AsyncGenerator<DriveEntry> {
    const end = FILES_PREFIX.slice();
    end[end.byteLength - 1] = 1;
    for await (const e of this.view.range({ gte: FILES_PREFIX, lt: end })) yield toDriveEntry(e);
  }

  /** Names directly inside `folder` (files and sub-folders), each once, in order. */
  async *readdir(folder = "/"): AsyncGenerator<string> {
    const base = normalizeFolder(folder);
    const lt = rawEntryKey(base + "0");
    let after = "/";
    let previous: string | null = null;
    for (;;) {
      let next: BeeEntry | null = null;
      for await (const e of this.view.range({ gt: rawEntryKey(base + after), lt, limit: 1 })) {
        next = e;
      }
      if (next === null) return;
      const suffix = decodeEntryKey(next.key).slice(base.length + 1);
      const slash = suffix.indexOf("/");
      const name = slash === -1 ? suffix : suffix.slice(0, slash);
      // Skip past everything under name/ ('0' follows '/').
      after = "/" + name + (slash === -1 ? "" : "0");
      if (name === previous) continue;
      previous = name;
      yield name;
    }
  }

  /**
   * Entries that differ between this version and `other` (under `folder`), by
   * path: `left` is this version's entry, `right` the other's.
   */
  async *diff(other: DriveReader, folder = "/"): AsyncGenerator<DriveDiff> {
    const a = this.list(folder);
    const b = other.list(folder);
    let left = await a.next();
    let right = await b.next();
    while (!left.done || !right.done) {
      const l = left.done ? null : left.value;
      const r = right.done ? null : right.value;
      const order = l === null ? 1 : r === null ? -1 : comparePaths(l.path, r.path);
      if (order === 0) {
        if (l!.seq !== r!.seq) yield { path: l!.path, left: l, right: r };
        left = await a.next();
        right = await b.next();
      } else if (order < 0) {
        yield { path: l!.path, left: l, right: null };
        left = await a.next();
      } else {
        yield { path: r!.path, left: null, right: r };
        right = await b.next();
      }
    }
  }
}

const textEncoder = new TextEncoder();

function comparePaths(a: string, b: string): number {
  const x = textEncoder.encode(a);
  const y = textEncoder.encode(b);
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

/**
 * Resolves a symlink target as hyperdrive's `entry(name, { follow: true })`
 * does: an absolute target as is, a relative one against the link's own path
 * (`unix-path-resolve(link, target)`, so `/a/l` → `x` is `/a/l/x`).
 */
function resolveLink(linkPath: string, target: string): string {
  if (target.startsWith("/") || target.startsWith("\\")) return normalizePath(target);
  return normalizePath(linkPath + "/" + target);
}

/** The writing operations shared by a drive and a drive batch. */
interface BeeWriter {
  put(key: Uint8Array, value: Uint8Array): Promise<void>;
  del(key: Uint8Array): Promise<void>;
}

async function writeEntry(db: BeeWriter, path: string, entry: Entry): Promise<void> {
  await db.put(entryKey(path), encodeEntry(entry));
}

async function writeFile(
  db: BeeWriter,
  blobs: Hyperblobs,
  path: string,
  data: Uint8Array,
  options: PutOptions,
): Promise<void> {
  const name = normalizePath(path);
  const blob = await blobs.put(data);
  await writeEntry(db, name, fileEntry(blob, options));
}

function fileEntry(blob: BlobId, options: PutOptions): Entry {
  return {
    executable: options.executable ?? false,
    linkname: null,
    blob,
    metadata: options.metadata ?? null,
  };
}

/** A writable drive over a db log and a blobs log. */
export class Drive extends DriveReader {
  #db: Hyperbee;

  /** A drive on `db` and `blobs` (both empty for a new drive). */
  constructor(db: Log, blobs: Log) {
    const bee = new Hyperbee(db, { metadata: DRIVE_HEADER_METADATA });
    super(bee, new Hyperblobs(blobs));
    this.#db = bee;
  }

  /** The db Hyperbee. */
  get db(): Hyperbee {
    return this.#db;
  }

  /** Writes a file. */
  put(path: string, data: Uint8Array, options: PutOptions = {}): Promise<void> {
    return writeFile(this.#db, this.blobs, path, data, options);
  }

  /** Writes a file from chunks (each stored as a block; `dedup` reuses equal blocks). */
  async putChunks(
    path: string,
    chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
    options: PutOptions & { dedup?: boolean } = {},
  ): Promise<void> {
    const name = normalizePath(path);
    const previous = options.dedup ? (await this.entry(name))?.value.blob ?? null : null;
    const writer = this.blobs.createWriter({ dedup: options.dedup === true, previous });
    try {
      for await (const chunk of chunks) await writer.write(chunk);
    } catch (err) {
      writer.abort();
      throw err;
    }
    await writeEntry(this.#db, name, fileEntry(await writer.end(), options));
  }

  /** Writes a symlink to `target`. */
  symlink(
    path: string,
    target: string,
    options: { metadata?: JsonValue | null } = {},
  ): Promise<void> {
    return writeEntry(this.#db, normalizePath(path), {
      executable: false,
      linkname: target,
      blob: null,
      metadata: options.metadata ?? null,
    });
  }

  /** Deletes the entry at `path` (nothing is written if there is none). */
  del(path: string): Promise<void> {
    return this.#db.del(entryKey(path));
  }

  /** Rewrites the entry at `path` with the executable bit set or cleared. */
  setExecutable(path: string, executable: boolean): Promise<void> {
    return this.#update(path, (v) => ({ ...v, executable }));
  }

  /** Rewrites the entry at `path` with new user metadata. */
  setMetadata(path: string, metadata: JsonValue | null): Promise<void> {
    return this.#update(path, (v) => ({ ...v, metadata }));
  }

  /** A read-only view of db version `version`. */
  checkout(version: number): DriveReader {
    return new DriveReader(this.#db.checkout(version), this.blobs);
  }

  /** A read-only view of the current version. */
  snapshot(): DriveReader {
    return new DriveReader(this.#db.snapshot(), this.blobs);
  }

  /** Entry writes gathered into one db append by {@link DriveBatch.flush}. */
  batch(): DriveBatch {
    return new DriveBatch(this.#db.batch(), this.blobs);
  }

  async #update(path: string, change: (v: Entry) => Entry): Promise<void> {
    const entry = await this.entry(path);
    if (entry === null) throw new PigeonError("NOT_FOUND", `No entry at ${path}`);
    await writeEntry(this.#db, entry.path, change(entry.value));
  }
}

/**
 * Drive writes whose db blocks are appended together on {@link flush}
 * (contents go to the blobs log at once, as in hyperdrive). Reads through the
 * batch see its pending entries.
 */
export class DriveBatch extends DriveReader {
  #batch: HyperbeeBatch;

  /** Use {@link Drive.batch}. */
  constructor(batch: HyperbeeBatch, blobs: Hyperblobs) {
    super(batch, blobs);
    this.#batch = batch;
  }

  /** Writes a file. */
  put(path: string, data: Uint8Array, options: PutOptions = {}): Promise<void> {
    return writeFile(this.#batch, this.blobs, path, data, options);
  }

  /** Writes a symlink. */
  symlink(
    path: string,
    target: string,
    options: { metadata?: JsonValue | null } = {},
  ): Promise<void> {
    return writeEntry(this.#batch, normalizePath(path), {
      executable: false,
      linkname: target,
      blob: null,
      metadata: options.metadata ?? null,
    });
  }

  /** Deletes the entry at `path`. */
  del(path: string): Promise<void> {
    return this.#batch.del(entryKey(path));
  }

  /** Appends the gathered entries as one db batch. */
  flush(): Promise<void> {
    return this.#batch.flush();
  }

  /** Drops unflushed entries (their contents stay in the blobs log). */
  close(): void {
    this.#batch.close();
  }
}
