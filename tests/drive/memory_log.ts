/**
 * An in-memory {@link Log} for drive tests: blocks in an array, with an
 * optional `seek` and counters of reads and appended batches.
 *
 * @module
 */

import { PigeonError } from "../../lib/errors.ts";
import type { Log } from "../../lib/drive/log.ts";

/** A Log held in memory. */
export class MemoryLog implements Log {
  /** Stored blocks (copies of what was appended). */
  readonly blocks: Uint8Array[] = [];
  /** Sizes of the batches appended, in order. */
  readonly batches: number[] = [];
  /** Number of `get` calls. */
  reads = 0;
  #byteLength = 0;
  #offsets: number[] = [];

  /** A new empty log; `withSeek` adds the optional `seek` method. */
  constructor(withSeek = true) {
    if (withSeek) this.seek = (byteOffset) => this.#seek(byteOffset);
  }

  get length(): number {
    return this.blocks.length;
  }

  get byteLength(): number {
    return this.#byteLength;
  }

  get(index: number): Promise<Uint8Array> {
    this.reads++;
    const block = this.blocks[index];
    if (block === undefined) {
      return Promise.reject(new PigeonError("BAD_ARGUMENT", `No block ${index}`));
    }
    return Promise.resolve(block);
  }

  append(blocks: Uint8Array[]): Promise<void> {
    for (const b of blocks) {
      this.#offsets.push(this.#byteLength);
      this.blocks.push(b.slice());
      this.#byteLength += b.byteLength;
    }
    this.batches.push(blocks.length);
    return Promise.resolve();
  }

  /** Present unless the log was made without seek. */
  seek?: (byteOffset: number) => Promise<{ index: number; offset: number }>;

  #seek(byteOffset: number): Promise<{ index: number; offset: number }> {
    if (byteOffset < 0 || byteOffset >= this.#byteLength) {
      return Promise.reject(new PigeonError("BAD_ARGUMENT", `Byte ${byteOffset} out of range`));
    }
    let lo = 0;
    let hi = this.#offsets.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.#offsets[mid]! <= byteOffset) lo = mid;
      else hi = mid - 1;
    }
    // Skip empty blocks sharing the same offset.
    while (this.blocks[lo]!.byteLength === 0) lo++;
    return Promise.resolve({ index: lo, offset: byteOffset - this.#offsets[lo]! });
  }
}
