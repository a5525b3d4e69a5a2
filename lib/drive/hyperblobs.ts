/**
 * Hyperblobs: file contents as runs of blocks in a log, byte-compatible with
 * hyperblobs 2.12.1 (SPEC g.2).
 *
 * A blob id names its blocks and bytes in the log, JSON keys in this order:
 *
 * | key         | meaning                                                     |
 * |-------------|-------------------------------------------------------------|
 * | blockOffset | first block                                                 |
 * | byteOffset  | log byte length before that block                           |
 * | blockLength | number of blocks                                            |
 * | byteLength  | sum of their lengths                                        |
 * | blockMap    | present and true for a block-mapped blob: the fields above  |
 * |             | then describe its map blocks, not the content (block_map.ts)|
 *
 * {@link Hyperblobs.put} splits content into {@link DEFAULT_BLOCK_SIZE} blocks;
 * a {@link BlobWriter} stores each written chunk as one block (longer chunks
 * are split at the block size, where hyperblobs would keep one oversized
 * block). Blocks are appended in batches of {@link MAX_APPEND_BATCH}, as the
 * reference does. A writer holds the store's write lock from its first write
 * to its end, so concurrent blobs never interleave.
 *
 * @module
 */

import { PigeonError } from "../errors.ts";
import { blake2b } from "../crypto/blake2b.ts";
import { toHex } from "../crypto/bytes.ts";
import type { Log } from "./log.ts";
import {
  type BlockMap,
  type BlockMapEntry,
  decodeBlockMap,
  encodeBlockMap,
  MAX_MAP_BLOCKS,
} from "./block_map.ts";

/** Block size of {@link Hyperblobs.put} (64 KiB). */
export const DEFAULT_BLOCK_SIZE = 65536;
/** Blocks a writer buffers before appending them as one batch. */
export const MAX_APPEND_BATCH = 16;

/** Where a blob's blocks are (see the module table). */
export interface BlobId {
  /** First block. */
  blockOffset: number;
  /** Log byte length before the first block. */
  byteOffset: number;
  /** Number of blocks. */
  blockLength: number;
  /** Bytes in those blocks. */
  byteLength: number;
  /** True for a block-mapped blob. */
  blockMap?: true;
}

/** A byte range of a blob's content. */
export interface ByteRange {
  /** First byte (default 0). */
  start?: number;
  /** Last byte, inclusive (default: the end). Ignored if `length` is set. */
  end?: number;
  /** Number of bytes. */
  length?: number;
}

/** Options of {@link Hyperblobs.createWriter}. */
export interface BlobWriterOptions {
  /** Write a block map and skip blocks whose hash is already in it. */
  dedup?: boolean;
  /** Write a block map (implied by `dedup`). */
  blockMap?: boolean;
  /** With `dedup`: also reuse the blocks of this earlier blob. */
  previous?: BlobId | null;
}

/** Options of a {@link Hyperblobs}. */
export interface HyperblobsOptions {
  /** Block size of {@link Hyperblobs.put}; default {@link DEFAULT_BLOCK_SIZE}. */
  blockSize?: number;
}

function corrupt(message: string): PigeonError {
  return new PigeonError("DECODE_ERROR", message);
}

function isUint(n: unknown): n is number {
  return typeof n === "number" && Number.isSafeInteger(n) && n >= 0;
}

/** Throws `BAD_ARGUMENT` unless `id` is a well-formed blob id. */
export function validateBlobId(id: BlobId): void {
  if (
    !isUint(id.blockOffset) || !isUint(id.byteOffset) || !isUint(id.blockLength) ||
    !isUint(id.byteLength) || (id.blockMap !== undefined && id.blockMap !== true)
  ) {
    throw new PigeonError("BAD_ARGUMENT", `Not a blob id: ${JSON.stringify(id)}`);
  }
}

/** Content blocks in a log. */
export class Hyperblobs {
  #log: Log;
  #blockSize: number;
  #lockTail: Promise<void> = Promise.resolve();

  /** Blobs stored in `log`. */
  constructor(log: Log, options: HyperblobsOptions = {}) {
    const blockSize = options.blockSize ?? DEFAULT_BLOCK_SIZE;
    if (!Number.isSafeInteger(blockSize) || blockSize < 1) {
      throw new PigeonError("BAD_ARGUMENT", `Bad block size ${blockSize}`);
    }
    this.#log = log;
    this.#blockSize = blockSize;
  }

  /** The log underneath. */
  get log(): Log {
    return this.#log;
  }

  /** Block size of {@link put}. */
  get blockSize(): number {
    return this.#blockSize;
  }

  /** Stores `data` in blocks of the block size; resolves to its id. */
  async put(data: Uint8Array): Promise<BlobId> {
    const writer = this.createWriter();
    await writer.write(data);
    return writer.end();
  }

  /** A writer for one blob written in chunks. */
  createWriter(options: BlobWriterOptions = {}): BlobWriter {
    return new BlobWriter(this, options);
  }

  /** Waits for the write lock (held by a {@link BlobWriter}); resolves to its release. */
  lock(): Promise<() => void> {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const acquired = this.#lockTail.then(() => release);
    this.#lockTail = this.#lockTail.then(() => held);
    return acquired;
  }

  /** The whole content of a blob, or the bytes of `range`. */
  async get(id: BlobId, range?: ByteRange): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    let size = 0;
    for await (const part of this.read(id, range)) {
      parts.push(part);
      size += part.byteLength;
    }
    if (parts.length === 1) return parts[0]!;
    const out = new Uint8Array(size);
    let pos = 0;
    for (const p of parts) {
      out.set(p, pos);
      pos += p.byteLength;
    }
    return out;
  }

  /** The content length of a blob (for a block-mapped blob, from its map). */
  async contentLength(id: BlobId): Promise<number> {
    validateBlobId(id);
    if (!id.blockMap) return id.byteLength;
    let size = 0;
    for (const b of (await this.getBlockMap(id)).blocks) size += b.byteLength;
    return size;
  }

  /**
   * The block map of a blob; for a plain blob, one inferred from its blocks
   * (which reads them).
   */
  async getBlockMap(id: BlobId): Promise<BlockMap> {
    validateBlobId(id);
    if (!id.blockMap) {
      const blocks: BlockMapEntry[] = [];
      for (let i = id.blockOffset; i < id.blockOffset + id.blockLength; i++) {
        blocks.push({ index: i, byteLength: (await this.#log.get(i)).byteLength });
      }
      return { version: 0, blocks };
    }
    if (id.blockLength > MAX_MAP_BLOCKS) {
      throw corrupt(`Block map of ${id.blockLength} blocks, max ${MAX_MAP_BLOCKS}`);
    }
    const mapBlocks: Uint8Array[] = [];
    for (let i = id.blockOffset; i < id.blockOffset + id.blockLength; i++) {
      mapBlocks.push(await this.#log.get(i));
    }
    return decodeBlockMap(mapBlocks);
  }

  /** The content of a blob (or of `range`) as chunks, read one block at a time. */
  async *read(id: BlobId, range: ByteRange = {}): AsyncGenerator<Uint8Array> {
    validateBlobId(id);
    if (id.blockMap) {
      yield* this.#readMapped(await this.getBlockMap(id), range);
      return;
    }
    const [start, end] = resolveRange(range, id.byteLength);
    if (start >= end) return;
    const last = id.blockOffset + id.blockLength;
    let index = id.blockOffset;
    let rel = 0;
    if (start > 0) [index, rel] = await this.#locate(id, start);
    for (let pos = start; pos < end; index++) {
      if (index >= last) throw corrupt(`Blob ends before its byteLength ${id.byteLength}`);
      const block = await this.#log.get(index);
      const piece = block.subarray(rel, Math.min(block.byteLength, rel + end - pos));
      rel = 0;
      pos += piece.byteLength;
      if (piece.byteLength) yield piece;
    }
  }

  /** Block index and offset inside it of content byte `start` of a plain blob. */
  async #locate(id: BlobId, start: number): Promise<[number, number]> {
    const last = id.blockOffset + id.blockLength;
    if (this.#log.seek !== undefined) {
      const at = await this.#log.seek(id.byteOffset + start);
      if (at.index < id.blockOffset || at.index >= last) {
        throw corrupt(`Byte ${start} of the blob lies in block ${at.index}, outside the blob`);
      }
      return [at.index, at.offset];
    }
    let pos = 0;
    for (let index = id.blockOffset; index < last; index++) {
      const len = (await this.#log.get(index)).byteLength;
      if (pos + len > start) return [index, start - pos];
      pos += len;
    }
    throw corrupt(`Blob ends before its byteLength ${id.byteLength}`);
  }

  async *#readMapped(map: BlockMap, range: ByteRange): AsyncGenerator<Uint8Array> {
    let total = 0;
    for (const b of map.blocks) total += b.byteLength;
    const [start, end] = resolveRange(range, total);
    let pos = 0;
    for (const entry of map.blocks) {
      if (pos >= end) return;
      const next = pos + entry.byteLength;
      if (next > start) {
        const block = await this.#log.get(entry.index);
        if (block.byteLength !== entry.byteLength) {
          throw corrupt(
            `Block ${entry.index} has ${block.byteLength} bytes, the map says ${entry.byteLength}`,
          );
        }
        const from = Math.max(0, start - pos);
        const to = Math.min(entry.byteLength, end - pos);
        if (to > from) yield block.subarray(from, to);
      }
      pos = next;
    }
  }
}

/** `[start, end)` of `range` within content of `size` bytes. */
function resolveRange(range: ByteRange, size: number): [number, number] {
  const start = range.start ?? 0;
  if (!isUint(start)) throw new PigeonError("BAD_ARGUMENT", `Bad range start ${start}`);
  let end = size;
  if (range.length !== undefined) {
    if (!isUint(range.length)) {
      throw new PigeonError("BAD_ARGUMENT", `Bad range length ${range.length}`);
    }
    end = start + range.length;
  } else if (range.end !== undefined) {
    if (!isUint(range.end)) throw new PigeonError("BAD_ARGUMENT", `Bad range end ${range.end}`);
    end = range.end + 1;
  }
  return [start, Math.min(end, size)];
}

/**
 * Writes one blob: each {@link write} stores a block (chunks longer than the
 * block size are split); {@link end} appends what is buffered (and the block
 * map, if any) and resolves to the blob id.
 */
export class BlobWriter {
  #blobs: Hyperblobs;
  #dedup: boolean;
  #previous: BlobId | null;
  #map: BlockMapEntry[] | null;
  #hashes: Map<string, BlockMapEntry> | null = null;
  #pending: Uint8Array[] = [];
  #id: BlobId | null = null;
  #release: (() => void) | null = null;
  #done = false;

  /** Use {@link Hyperblobs.createWriter}. */
  constructor(blobs: Hyperblobs, options: BlobWriterOptions) {
    this.#blobs = blobs;
    this.#dedup = options.dedup === true;
    this.#previous = options.previous ?? null;
    this.#map = this.#dedup || options.blockMap === true ? [] : null;
  }

  /** Stores `chunk` (split at the block size); an empty chunk stores nothing. */
  async write(chunk: Uint8Array): Promise<void> {
    await this.#open();
    const size = this.#blobs.blockSize;
    for (let i = 0; i < chunk.byteLength; i += size) {
      await this.#writeBlock(chunk.subarray(i, Math.min(chunk.byteLength, i + size)));
    }
  }

  /** Appends what is left and resolves to the blob id. */
  async end(): Promise<BlobId> {
    await this.#open();
    const log = this.#blobs.log;
    const id = this.#id!;
    try {
      await this.#flush();
      if (this.#map !== null) {
        const mapBlocks = encodeBlockMap(this.#map);
        id.blockOffset = log.length;
        id.byteOffset = log.byteLength;
        await log.append(mapBlocks);
      }
      id.blockLength = log.length - id.blockOffset;
      id.byteLength = log.byteLength - id.byteOffset;
      return id;
    } finally {
      this.abort();
    }
  }

  /** Stops writing and releases the lock; blocks already appended stay. */
  abort(): void {
    this.#done = true;
    const release = this.#release;
    this.#release = null;
    if (release !== null) release();
  }

  async #open(): Promise<void> {
    if (this.#done) throw new PigeonError("CLOSED", "Blob writer has ended");
    if (this.#id !== null) return;
    this.#release = await this.#blobs.lock();
    const log = this.#blobs.log;
    this.#id = {
      blockOffset: log.length,
      byteOffset: log.byteLength,
      blockLength: 0,
      byteLength: 0,
    };
    if (this.#map !== null) this.#id.blockMap = true;
    if (this.#dedup) {
      this.#hashes = new Map();
      if (this.#previous !== null) {
        const prev = await this.#blobs.getBlockMap(this.#previous);
        for (const b of prev.blocks) {
          this.#hashes.set(hashBlock(await log.get(b.index)), b);
        }
      }
    }
  }

  async #writeBlock(block: Uint8Array): Promise<void> {
    if (this.#map !== null) {
      const entry: BlockMapEntry = {
        index: this.#blobs.log.length + this.#pending.length,
        byteLength: block.byteLength,
      };
      if (this.#hashes !== null) {
        const hash = hashBlock(block);
        const existing = this.#hashes.get(hash);
        if (existing !== undefined) {
          this.#map.push(existing);
          return;
        }
        this.#hashes.set(hash, entry);
      }
      this.#map.push(entry);
    }
    this.#pending.push(block.slice());
    if (this.#pending.length >= MAX_APPEND_BATCH) await this.#flush();
  }

  async #flush(): Promise<void> {
    if (!this.#pending.length) return;
    const batch = this.#pending;
    this.#pending = [];
    await this.#blobs.log.append(batch);
  }
}

function hashBlock(block: Uint8Array): string {
  return toHex(blake2b([block], 32));
}
