/**
 * A pool of Worker threads that hash many Merkle leaves (SPEC b) at once on
 * every core, with the calling thread taking one share itself.
 *
 * Below {@link HASH_POOL_MIN_BYTES} (or with fewer than two blocks, or on the
 * `ts` crypto path) the pool stays off and hashes inline with
 * {@link hashLeaf}: posting blocks to a worker costs a copy and a round trip.
 *
 * The worker is created from a source string through a `blob:` URL and gets
 * the already compiled kernels module by `postMessage`, so it needs no file,
 * no permission, and works unchanged inside a `deno bundle` output.
 *
 * @module
 */

import { PigeonError } from "../errors.ts";
import { blake2bBackend, hashLeaf } from "./blake2b.ts";
import { IO_BYTES, kernelsModule } from "./kernels/kernels.ts";

/** Batches smaller than this many bytes are hashed inline (see `bench/crypto_bench.ts`). */
export const HASH_POOL_MIN_BYTES = 1 << 20;
/** Upper bound on worker threads. */
export const MAX_HASH_WORKERS = 16;

/** Options for {@link HashPool}. */
export interface HashPoolOptions {
  /** Worker threads (default: hardware threads − 1, at least 1, at most {@link MAX_HASH_WORKERS}). */
  workers?: number;
  /** Batches below this many bytes stay inline (default {@link HASH_POOL_MIN_BYTES}). */
  minBytes?: number;
}

/** The worker: plain JavaScript, self-contained (it runs from a blob: URL). */
const WORKER_SOURCE = `
let x, mem, io, out, ioBytes;
self.onmessage = (e) => {
  const d = e.data;
  if (d.type === "init") {
    x = new WebAssembly.Instance(d.module, {}).exports;
    mem = new Uint8Array(x.memory.buffer);
    io = x.io_base();
    out = x.SCRATCH.value;
    ioBytes = d.ioBytes;
    return;
  }
  const lengths = d.lengths;
  const digests = new Uint8Array(lengths.length * 32);
  let at = 0;
  for (let i = 0; i < lengths.length; i++) {
    const b = d.packed.subarray(at, at + lengths[i]);
    at += lengths[i];
    if (b.length <= ioBytes) {
      mem.set(b, io);
      x.b2b_leaf(io, b.length, out);
    } else {
      const prefix = new Uint8Array(9);
      new DataView(prefix.buffer).setBigUint64(1, BigInt(b.length), true);
      x.b2b_init(32, 0, 0);
      mem.set(prefix, io);
      x.b2b_update(io, 9);
      for (let off = 0; off < b.length; off += ioBytes) {
        const n = Math.min(ioBytes, b.length - off);
        mem.set(b.subarray(off, off + n), io);
        x.b2b_update(io, n);
      }
      x.b2b_final(out);
    }
    digests.set(mem.subarray(out, out + 32), i * 32);
  }
  self.postMessage({ id: d.id, digests }, [digests.buffer]);
};
`;

interface Pending {
  resolve: (digests: Uint8Array) => void;
  reject: (err: unknown) => void;
}

function defaultWorkers(): number {
  const cores = typeof navigator === "undefined" ? 1 : navigator.hardwareConcurrency ?? 1;
  return Math.min(MAX_HASH_WORKERS, Math.max(1, cores - 1));
}

/**
 * Hashes batches of leaves on worker threads.
 *
 * @example
 * ```ts
 * import { HashPool } from "./hash_pool.ts";
 * const pool = new HashPool();
 * try {
 *   const digests = await pool.hashLeaves([new Uint8Array(65536), new Uint8Array(3)]);
 *   if (digests.length !== 2) throw new Error("unexpected");
 * } finally {
 *   pool.close();
 * }
 * ```
 */
export class HashPool {
  readonly #size: number;
  readonly #minBytes: number;
  #workers: Worker[] = [];
  #url: string | undefined;
  #pending = new Map<number, Pending>();
  #nextId = 0;
  #closed = false;

  /** Creates the pool; threads start on the first batch that uses them. */
  constructor(options: HashPoolOptions = {}) {
    this.#size = Math.min(MAX_HASH_WORKERS, Math.max(1, options.workers ?? defaultWorkers()));
    this.#minBytes = options.minBytes ?? HASH_POOL_MIN_BYTES;
  }

  /** Worker threads this pool uses once started. */
  get size(): number {
    return this.#size;
  }

  #start(): void {
    if (this.#workers.length > 0) return;
    this.#url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: "text/javascript" }));
    const module = kernelsModule();
    for (let i = 0; i < this.#size; i++) {
      const w = new Worker(this.#url, { type: "module" });
      w.onmessage = (e: MessageEvent<{ id: number; digests: Uint8Array }>) => {
        const p = this.#pending.get(e.data.id);
        this.#pending.delete(e.data.id);
        p?.resolve(e.data.digests);
      };
      w.onerror = (e: ErrorEvent) => {
        e.preventDefault();
        this.#failAll(new PigeonError("CLOSED", `Hash worker failed: ${e.message}`));
      };
      w.postMessage({ type: "init", module, ioBytes: IO_BYTES });
      this.#workers.push(w);
    }
  }

  #failAll(err: unknown): void {
    for (const p of this.#pending.values()) p.reject(err);
    this.#pending.clear();
  }

  /**
   * Sends `blocks` packed into one transferred buffer: posting the views
   * themselves would clone each one's whole underlying buffer.
   */
  #post(worker: Worker, blocks: readonly Uint8Array[]): Promise<Uint8Array> {
    const id = this.#nextId++;
    let total = 0;
    for (const b of blocks) total += b.length;
    const packed = new Uint8Array(total);
    const lengths = new Float64Array(blocks.length);
    let at = 0;
    blocks.forEach((b, i) => {
      packed.set(b, at);
      at += b.length;
      lengths[i] = b.length;
    });
    return new Promise<Uint8Array>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      worker.postMessage({ type: "leaves", id, packed, lengths }, [packed.buffer]);
    });
  }

  /**
   * Merkle leaf hashes `B2b256(0x00 || u64le(len) || block)` of `blocks`, in
   * order. Large batches are split by bytes between the workers and this
   * thread; small ones (or the `ts` path) are hashed inline.
   */
  async hashLeaves(blocks: readonly Uint8Array[]): Promise<Uint8Array[]> {
    if (this.#closed) throw new PigeonError("CLOSED", "Hash pool is closed");
    let total = 0;
    for (const b of blocks) total += b.length;
    if (total < this.#minBytes || blocks.length < 2 || blake2bBackend().name !== "wasm") {
      return blocks.map((b) => hashLeaf(b));
    }
    this.#start();
    // Contiguous ranges of about equal bytes: one per worker, the last for this thread.
    const shares = this.#workers.length + 1;
    const ranges: [number, number][] = [];
    let start = 0;
    let acc = 0;
    for (let i = 0; i < blocks.length && ranges.length < shares - 1; i++) {
      acc += blocks[i]!.length;
      if (acc >= (total * (ranges.length + 1)) / shares) {
        ranges.push([start, i + 1]);
        start = i + 1;
      }
    }
    const jobs = ranges.map(([a, b], i) => this.#post(this.#workers[i]!, blocks.slice(a, b)));
    const mine = blocks.slice(start).map((b) => hashLeaf(b));
    const results = await Promise.all(jobs);
    const out: Uint8Array[] = [];
    for (const digests of results) {
      for (let i = 0; i < digests.length; i += 32) out.push(digests.subarray(i, i + 32));
    }
    out.push(...mine);
    return out;
  }

  /** Stops the workers; pending batches reject with `CLOSED`. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const w of this.#workers) w.terminate();
    this.#workers = [];
    if (this.#url !== undefined) URL.revokeObjectURL(this.#url);
    this.#failAll(new PigeonError("CLOSED", "Hash pool closed"));
  }
}
