/**
 * The index of a writer's drive folder (`.pigeon/index`): for every path in
 * the drive's latest version, what the working file looked like when it was
 * imported (size, mtime, inode) and where its content is in the blobs log.
 *
 * Import uses it to skip unchanged files without reading them; the working
 * files content store (`file_content.ts`) uses it to find the file that holds
 * a blobs-log byte range. It is local state: never replicated, and rebuilt
 * (by re-reading files) when it does not match the drive.
 *
 * Layout (compact-encoding, SPEC 0), written atomically (temp file + rename):
 *
 * | field           | encoding | meaning                                          |
 * |-----------------|----------|--------------------------------------------------|
 * | magic           | 4 bytes  | `PGIX`                                           |
 * | format          | uint     | {@link INDEX_FORMAT}                             |
 * | version         | uint     | db log length the entries describe               |
 * | blobsLength     | uint     | blobs log length at that time                    |
 * | blobsByteLength | uint     | blobs log byte length at that time               |
 * | scanTime        | uint     | ms since the epoch when that import's walk began |
 * | count           | uint     | number of entries, then each entry:              |
 * |   path          | string   | normalised drive path (`/a/b.txt`)               |
 * |   flags         | uint     | bit 0 symlink, bit 1 executable                  |
 * |   target        | string   | symlinks only: the link target                   |
 * |   size          | uint     | files: bytes (= the blob's byteLength)           |
 * |   mtimeMs       | uint     | files: modification time, ms                     |
 * |   ino           | uint     | files: inode number (0 when unknown)             |
 * |   blockOffset   | uint     | files: first blobs block                         |
 * |   blockLength   | uint     | files: number of blobs blocks                    |
 * |   byteOffset    | uint     | files: blobs byte offset of the first block      |
 *
 * @module
 */

import { PigeonError } from "../errors.ts";
import { type Codec, decode, encode, string, uint } from "../encoding/compact.ts";
import type { BlobId } from "./hyperblobs.ts";

/** Format number written in the index header. */
export const INDEX_FORMAT = 1;

/** Most entries an index may hold (bounds decoding of a corrupt file). */
export const MAX_INDEX_ENTRIES = 10_000_000;

const MAGIC = new TextEncoder().encode("PGIX");
const FLAG_SYMLINK = 1;
const FLAG_EXECUTABLE = 2;

/** A regular file as it was imported. */
export interface IndexedFile {
  /** Always "file". */
  kind: "file";
  /** Normalised drive path. */
  path: string;
  /** Executable bit recorded in the drive. */
  executable: boolean;
  /** Size in bytes (= the blob's byteLength). */
  size: number;
  /** Modification time in ms when imported. */
  mtimeMs: number;
  /** Inode number when imported (0 when unknown). */
  ino: number;
  /** Where its content is in the blobs log. */
  blob: BlobId;
}

/** A symlink as it was imported. */
export interface IndexedLink {
  /** Always "symlink". */
  kind: "symlink";
  /** Normalised drive path. */
  path: string;
  /** The link target, as stored in the drive. */
  target: string;
}

/** One index entry. */
export type IndexEntry = IndexedFile | IndexedLink;

/** The whole index. */
export interface FolderIndexState {
  /** Db log length the entries describe. */
  version: number;
  /** Blobs log length at that time. */
  blobsLength: number;
  /** Blobs log byte length at that time. */
  blobsByteLength: number;
  /** When the walk of the import that wrote this index began (ms since the epoch). */
  scanTime: number;
  /** Entries by path. */
  entries: Map<string, IndexEntry>;
}

const entryCodec: Codec<IndexEntry> = {
  preencode(s, e) {
    string.preencode(s, e.path);
    if (e.kind === "symlink") {
      uint.preencode(s, FLAG_SYMLINK);
      string.preencode(s, e.target);
      return;
    }
    uint.preencode(s, e.executable ? FLAG_EXECUTABLE : 0);
    uint.preencode(s, e.size);
    uint.preencode(s, Math.max(0, Math.floor(e.mtimeMs)));
    uint.preencode(s, e.ino);
    uint.preencode(s, e.blob.blockOffset);
    uint.preencode(s, e.blob.blockLength);
    uint.preencode(s, e.blob.byteOffset);
  },
  encode(s, e) {
    string.encode(s, e.path);
    if (e.kind === "symlink") {
      uint.encode(s, FLAG_SYMLINK);
      string.encode(s, e.target);
      return;
    }
    uint.encode(s, e.executable ? FLAG_EXECUTABLE : 0);
    uint.encode(s, e.size);
    uint.encode(s, Math.max(0, Math.floor(e.mtimeMs)));
    uint.encode(s, e.ino);
    uint.encode(s, e.blob.blockOffset);
    uint.encode(s, e.blob.blockLength);
    uint.encode(s, e.blob.byteOffset);
  },
  decode(s) {
    const path = string.decode(s);
    const flags = uint.decode(s);
    if (flags & FLAG_SYMLINK) return { kind: "symlink", path, target: string.decode(s) };
    const size = uint.decode(s);
    const mtimeMs = uint.decode(s);
    const ino = uint.decode(s);
    const blockOffset = uint.decode(s);
    const blockLength = uint.decode(s);
    const byteOffset = uint.decode(s);
    return {
      kind: "file",
      path,
      executable: (flags & FLAG_EXECUTABLE) !== 0,
      size,
      mtimeMs,
      ino,
      blob: { blockOffset, byteOffset, blockLength, byteLength: size },
    };
  },
};

const indexCodec: Codec<FolderIndexState> = {
  preencode(s, v) {
    s.end += MAGIC.byteLength;
    uint.preencode(s, INDEX_FORMAT);
    uint.preencode(s, v.version);
    uint.preencode(s, v.blobsLength);
    uint.preencode(s, v.blobsByteLength);
    uint.preencode(s, v.scanTime);
    uint.preencode(s, v.entries.size);
    for (const e of v.entries.values()) entryCodec.preencode(s, e);
  },
  encode(s, v) {
    s.buffer.set(MAGIC, s.start);
    s.start += MAGIC.byteLength;
    uint.encode(s, INDEX_FORMAT);
    uint.encode(s, v.version);
    uint.encode(s, v.blobsLength);
    uint.encode(s, v.blobsByteLength);
    uint.encode(s, v.scanTime);
    uint.encode(s, v.entries.size);
    for (const e of v.entries.values()) entryCodec.encode(s, e);
  },
  decode(s) {
    for (let i = 0; i < MAGIC.byteLength; i++) {
      if (s.buffer[s.start + i] !== MAGIC[i]) {
        throw new PigeonError("DECODE_ERROR", "Not a pigeon folder index (bad magic)");
      }
    }
    s.start += MAGIC.byteLength;
    const format = uint.decode(s);
    if (format !== INDEX_FORMAT) {
      throw new PigeonError("DECODE_ERROR", `Folder index format ${format} is not supported`);
    }
    const version = uint.decode(s);
    const blobsLength = uint.decode(s);
    const blobsByteLength = uint.decode(s);
    const scanTime = uint.decode(s);
    const count = uint.decode(s);
    if (count > MAX_INDEX_ENTRIES) {
      throw new PigeonError("DECODE_ERROR", `Folder index claims ${count} entries`);
    }
    const entries = new Map<string, IndexEntry>();
    for (let i = 0; i < count; i++) {
      const e = entryCodec.decode(s);
      entries.set(e.path, e);
    }
    return { version, blobsLength, blobsByteLength, scanTime, entries };
  },
};

/** An empty index (a new drive). */
export function emptyIndex(): FolderIndexState {
  return { version: 0, blobsLength: 0, blobsByteLength: 0, scanTime: 0, entries: new Map() };
}

/** The bytes of an index. */
export function encodeIndex(index: FolderIndexState): Uint8Array {
  return encode(indexCodec, index);
}

/** An index from its bytes; `DECODE_ERROR` when they are not one. */
export function decodeIndex(bytes: Uint8Array): FolderIndexState {
  return decode(indexCodec, bytes);
}

/**
 * Reads the index file at `path`: null when there is none, and also when it
 * is unreadable or corrupt (the index is a cache; import then re-reads files).
 */
export function readIndexFile(path: string): FolderIndexState | null {
  let bytes: Uint8Array;
  try {
    bytes = Deno.readFileSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw err;
  }
  try {
    return decodeIndex(bytes);
  } catch {
    return null;
  }
}

/** Writes the index file at `path` atomically (temp file, fsync, rename). */
export function writeIndexFile(path: string, index: FolderIndexState): void {
  const temp = `${path}.tmp`;
  const bytes = encodeIndex(index);
  const file = Deno.openSync(temp, { write: true, create: true, truncate: true });
  try {
    let done = 0;
    while (done < bytes.byteLength) done += file.writeSync(bytes.subarray(done));
    file.syncSync();
  } finally {
    file.close();
  }
  Deno.renameSync(temp, path);
}
