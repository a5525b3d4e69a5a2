/**
 * The append-only log a Hyperbee or Hyperblobs store is written on. `lib/core`'s
 * Core satisfies it; tests use an in-memory one.
 *
 * @module
 */

/** An append-only log of blocks, as the drive layer needs it. */
export interface Log {
  /** Number of blocks. */
  readonly length: number;
  /** Sum of the byte lengths of all blocks. */
  readonly byteLength: number;
  /**
   * Block `index`. Throws `PigeonError("NOT_AVAILABLE")` when the block is
   * not stored (and cannot be fetched), `BAD_ARGUMENT` when `index ≥ length`.
   */
  get(index: number): Promise<Uint8Array>;
  /** Appends `blocks` as one signed batch; what it resolves to is ignored. */
  append(blocks: Uint8Array[]): Promise<unknown>;
  /**
   * Optional: the block holding byte `byteOffset` of the log and the offset
   * inside it. Lets a byte-range read of a blob skip the blocks before it;
   * without it the blob's blocks are read in order to find their lengths.
   */
  seek?(byteOffset: number): Promise<{ index: number; offset: number }>;
}
