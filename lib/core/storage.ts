/**
 * Where a core keeps its bytes: a few named random-access files plus an
 * atomically replaced header. `file_storage.ts` puts them in a folder;
 * {@link MemoryStorage} keeps them in memory for tests.
 *
 * | file     | contents                                                        |
 * |----------|-----------------------------------------------------------------|
 * | header   | the committed state (see `header.ts`); replaced atomically      |
 * | tree     | node i at i·40: u64le size, 32-byte hash; all zero = not stored |
 * | data     | block bytes at their byte offset in the log                     |
 * | bitfield | bit i (LSB first) set = block i stored and verified             |
 *
 * Operations are synchronous: they hit the page cache, are small, and a
 * synchronous call cannot interleave with another append half-way.
 *
 * @module
 */

import { PigeonError } from "../errors.ts";

/** The random-access files of a core. */
export type FileName = "tree" | "data" | "bitfield";

/** A file read and written at byte offsets. */
export interface RandomAccess {
  /** Reads `length` bytes at `offset`; bytes past the end read as zero. */
  read(offset: number, length: number): Uint8Array;
  /** Writes `bytes` at `offset`, growing the file as needed. */
  write(offset: number, bytes: Uint8Array): void;
  /**
   * Like {@link write}, but the bytes may go out off the main thread, so the
   * caller can hash the next batch meanwhile. Used for appends only: nothing
   * else writes that range until it resolves. Optional.
   */
  writeAsync?(offset: number, bytes: Uint8Array): Promise<void>;
  /** Current size in bytes. */
  size(): number;
  /** Cuts or extends the file to `size` bytes. */
  truncate(size: number): void;
  /** Flushes written data to stable storage. */
  sync(): void;
  /** Releases the file. */
  close(): void;
}

/** All storage of one core. */
export interface CoreStorage {
  /** A short description for error messages (a folder path, or "memory"). */
  readonly name: string;
  /** True when nothing may be written (the core opens as a reader). */
  readonly readOnly: boolean;
  /** Takes the exclusive write lock; throws `PigeonError("LOCKED")` if another holder has it. */
  lock(): void;
  /** Opens one of the random-access files. */
  open(name: FileName): RandomAccess;
  /** The header bytes, or null when the core was never committed. */
  readHeader(): Uint8Array | null;
  /** Replaces the header atomically: a crash leaves the old or the new one, never a mix. */
  writeHeader(bytes: Uint8Array, sync: boolean): void;
  /** The 64-byte secret key, or null. */
  readSecretKey(): Uint8Array | null;
  /** Stores the secret key readable only by its owner (mode 0600 on disk). */
  writeSecretKey(secretKey: Uint8Array): void;
  /** Releases the lock and every file. */
  close(): void;
}

/** An in-memory {@link RandomAccess}. */
export class MemoryFile implements RandomAccess {
  #bytes = new Uint8Array(0);
  #size = 0;

  read(offset: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    if (offset < this.#size) {
      out.set(this.#bytes.subarray(offset, Math.min(this.#size, offset + length)));
    }
    return out;
  }

  write(offset: number, bytes: Uint8Array): void {
    const end = offset + bytes.byteLength;
    if (end > this.#bytes.byteLength) {
      const grown = new Uint8Array(Math.max(end, this.#bytes.byteLength * 2));
      grown.set(this.#bytes.subarray(0, this.#size));
      this.#bytes = grown;
    }
    this.#bytes.set(bytes, offset);
    if (end > this.#size) this.#size = end;
  }

  size(): number {
    return this.#size;
  }

  truncate(size: number): void {
    if (size < this.#size) this.#bytes.fill(0, size, this.#size);
    else this.write(size, new Uint8Array(0));
    this.#size = size;
  }

  sync(): void {}

  close(): void {}
}

/** A core kept in memory; survives as long as the object does (tests, scratch). */
export class MemoryStorage implements CoreStorage {
  readonly name = "memory";
  readonly readOnly = false;
  #files = new Map<FileName, MemoryFile>();
  #header: Uint8Array | null = null;
  #secretKey: Uint8Array | null = null;
  #locked = false;

  lock(): void {
    if (this.#locked) throw new PigeonError("LOCKED", "Memory storage is already open for writing");
    this.#locked = true;
  }

  open(name: FileName): RandomAccess {
    let file = this.#files.get(name);
    if (!file) {
      file = new MemoryFile();
      this.#files.set(name, file);
    }
    return file;
  }

  readHeader(): Uint8Array | null {
    return this.#header?.slice() ?? null;
  }

  writeHeader(bytes: Uint8Array): void {
    this.#header = bytes.slice();
  }

  readSecretKey(): Uint8Array | null {
    return this.#secretKey?.slice() ?? null;
  }

  writeSecretKey(secretKey: Uint8Array): void {
    this.#secretKey = secretKey.slice();
  }

  close(): void {
    this.#locked = false;
  }
}
