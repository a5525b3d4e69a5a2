/**
 * A core whose missing blocks are fetched from peers on demand: the `Log`
 * a drive reads through when it is a clone. Reads wait (bounded by the
 * caller's signal) until the block arrives and verifies.
 *
 * @module
 */

import type { Core, CoreUpdate } from "../core/core.ts";
import type { Replicator } from "./replicator.ts";

/** A core plus its replicator, read like a local log. */
export class ReplicatedLog {
  /** The core underneath. */
  readonly core: Core;
  /** Its replication across peers. */
  readonly replicator: Replicator;
  readonly #signal: AbortSignal | undefined;

  /** Reads of `core` wait for `replicator` to fetch missing blocks (until `signal` aborts). */
  constructor(core: Core, replicator: Replicator, signal?: AbortSignal) {
    this.core = core;
    this.replicator = replicator;
    this.#signal = signal;
  }

  /** Signed length. */
  get length(): number {
    return this.core.length;
  }

  /** Bytes below the signed length. */
  get byteLength(): number {
    return this.core.byteLength;
  }

  /** Block `index`, downloading it first when it is not held. */
  get(index: number): Promise<Uint8Array> {
    return this.replicator.get(index, this.#signal);
  }

  /** Starts fetching blocks `[start, end)` in the background (pipelined). */
  download(start: number, end: number): void {
    this.replicator.download(start, end);
  }

  /** The block holding byte `byteOffset` (needs the tree nodes on the way). */
  seek(byteOffset: number): Promise<{ index: number; offset: number }> {
    return this.core.seek(byteOffset);
  }

  /** Appends to the core (writable clones only). */
  append(blocks: Uint8Array[]): Promise<CoreUpdate> {
    return this.core.append(blocks);
  }
}
