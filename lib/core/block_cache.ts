/**
 * The last few blocks a reader verified and stored, kept in memory so the
 * usual next step — a consumer asking for the block that just arrived — needs
 * no read back from the data file (one syscall and a 64 KiB copy per block;
 * measured with bench/send_recv_vs_hypercore.ts).
 *
 * Each cached block is handed out once ({@link BlockCache.take}), so callers
 * still get an array nobody else holds, as from a disk read. Bounded in count
 * and bytes; a block that does not fit is simply not cached.
 *
 * @module
 */

/** Blocks kept (a replicator has at most 64 requests in flight per peer). */
export const MAX_CACHED_BLOCKS = 256;
/** Bytes kept at most. */
export const MAX_CACHED_BLOCK_BYTES = 16 * 1024 * 1024;

/** A small ring of recently stored blocks, keyed by index. */
export class BlockCache {
  readonly #indexes = new Float64Array(MAX_CACHED_BLOCKS).fill(-1);
  readonly #values: (Uint8Array | null)[] = new Array(MAX_CACHED_BLOCKS).fill(null);
  #bytes = 0;

  /** Remembers `value` as block `index` (replacing whatever shared its slot). */
  put(index: number, value: Uint8Array): void {
    const slot = index % MAX_CACHED_BLOCKS;
    this.#drop(slot);
    if (this.#bytes + value.byteLength > MAX_CACHED_BLOCK_BYTES) return;
    this.#indexes[slot] = index;
    this.#values[slot] = value;
    this.#bytes += value.byteLength;
  }

  /** Block `index` if cached, removing it from the cache; else null. */
  take(index: number): Uint8Array | null {
    const slot = index % MAX_CACHED_BLOCKS;
    if (this.#indexes[slot] !== index) return null;
    const value = this.#values[slot]!;
    this.#drop(slot);
    return value;
  }

  /** Forgets block `index` if cached. */
  delete(index: number): void {
    const slot = index % MAX_CACHED_BLOCKS;
    if (this.#indexes[slot] === index) this.#drop(slot);
  }

  /** Forgets everything. */
  clear(): void {
    for (let slot = 0; slot < MAX_CACHED_BLOCKS; slot++) this.#drop(slot);
  }

  #drop(slot: number): void {
    const value = this.#values[slot];
    if (value) this.#bytes -= value.byteLength;
    this.#values[slot] = null;
    this.#indexes[slot] = -1;
  }
}
