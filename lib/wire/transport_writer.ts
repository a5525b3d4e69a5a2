/**
 * Writes to a {@link ByteStream}, coalescing small writes.
 *
 * Bytes pushed are copied into a batch buffer; one write at a time goes to
 * the transport, and whatever was pushed meanwhile (or in the same
 * synchronous run: the flush waits for a microtask) leaves as the next single
 * write. A replicating peer's requests, range updates and the frames of a
 * batch of blocks so take one syscall instead of one each. Two batch buffers
 * alternate on a `Deno.Conn` (`write(buffer)`: the kernel has copied the
 * bytes once the write resolves); on a web `writable`, whose reader may keep
 * the chunk, every batch is handed over as a copy.
 *
 * @module
 */

import type { ByteStream } from "./byte_stream.ts";

/** Initial size of a batch buffer; it grows to fit larger batches. */
const INITIAL_BATCH_BYTES = 256 * 1024;
/** Batch buffers larger than this are not kept for reuse (a burst of huge frames). */
const MAX_REUSED_BATCH_BYTES = 4 * 1024 * 1024;

/** What the owner hears from a {@link TransportWriter}. */
export interface TransportWriterEvents {
  /** Some queued bytes reached the transport; `queued` are still waiting. */
  written(queued: number): void;
  /** The transport failed a write. */
  error(err: unknown): void;
}

/** A coalescing writer onto one byte stream. */
export class TransportWriter {
  readonly #transport: ByteStream;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array> | null;
  readonly #events: TransportWriterEvents;
  /** Direct mode: the batch being filled and the one last written. */
  #batch: Uint8Array;
  #length = 0;
  #spare: Uint8Array | null = null;
  /** Web-stream mode: one chunk per reservation, so the stream's own backpressure holds. */
  #chunks: Uint8Array[] = [];
  #queued = 0;
  #scheduled = false;
  #writing = false;
  #closed = false;

  /** Writes to `transport` (which must not be written by anyone else). */
  constructor(transport: ByteStream, events: TransportWriterEvents) {
    this.#transport = transport;
    this.#events = events;
    this.#writer = transport.write ? null : transport.writable.getWriter();
    this.#batch = new Uint8Array(this.#writer ? 0 : INITIAL_BATCH_BYTES);
  }

  /** Bytes pushed and not yet accepted by the transport. */
  get queued(): number {
    return this.#queued;
  }

  /** Queues a copy of `bytes` (nothing after {@link close}). */
  push(bytes: Uint8Array): void {
    this.reserve(bytes.byteLength).set(bytes);
  }

  /**
   * Queues `size` bytes that the caller fills in right away (before it
   * returns to the event loop): a view into the batch, so a frame can be
   * encrypted straight into it. After {@link close} the view goes nowhere.
   */
  reserve(size: number): Uint8Array {
    if (this.#closed) return new Uint8Array(size);
    this.#queued += size;
    if (!this.#scheduled && !this.#writing) {
      this.#scheduled = true;
      queueMicrotask(() => this.#pump());
    }
    if (this.#writer) {
      const chunk = new Uint8Array(size);
      this.#chunks.push(chunk);
      return chunk;
    }
    const start = this.#length;
    const end = start + size;
    if (end > this.#batch.byteLength) {
      const grown = new Uint8Array(Math.max(end, 2 * this.#batch.byteLength));
      grown.set(this.#batch.subarray(0, start));
      this.#batch = grown;
    }
    this.#length = end;
    return this.#batch.subarray(start, end);
  }

  /** Drops queued bytes and stops writing; the owner closes the transport. */
  close(): void {
    this.#closed = true;
    this.#length = 0;
    this.#chunks = [];
    this.#queued = 0;
    this.#writer?.abort().catch(() => {});
  }

  async #pump(): Promise<void> {
    this.#scheduled = false;
    this.#writing = true;
    try {
      // The emptiness check and the end of the loop run in one synchronous step after each
      // write, so a reservation made meanwhile is either seen here or schedules a new pump.
      while (!this.#closed && (this.#writer ? this.#chunks.length > 0 : this.#length > 0)) {
        const size = this.#writer ? await this.#writeChunk(this.#writer) : await this.#writeBatch();
        if (this.#closed) return;
        this.#queued -= size;
        this.#events.written(this.#queued);
      }
    } catch (err) {
      if (!this.#closed) this.#events.error(err);
    } finally {
      this.#writing = false;
    }
  }

  async #writeChunk(writer: WritableStreamDefaultWriter<Uint8Array>): Promise<number> {
    const chunk = this.#chunks.shift()!;
    await writer.write(chunk);
    return chunk.byteLength;
  }

  async #writeBatch(): Promise<number> {
    const size = this.#length;
    const out = this.#batch.subarray(0, size);
    this.#batch = this.#spare ?? new Uint8Array(INITIAL_BATCH_BYTES);
    this.#spare = null;
    this.#length = 0;
    for (let done = 0; done < size;) done += await this.#transport.write!(out.subarray(done));
    if (out.buffer.byteLength <= MAX_REUSED_BATCH_BYTES) this.#spare = new Uint8Array(out.buffer);
    return size;
  }
}
