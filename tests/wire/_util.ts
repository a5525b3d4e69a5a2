/**
 * Small helpers shared by the wire tests.
 *
 * @module
 */

import type { ByteStream } from "../../lib/wire/byte_stream.ts";
import { fromHex, toHex } from "../../lib/crypto/bytes.ts";
import type { MessageHandler, MessageStream } from "../../lib/wire/message_stream.ts";
import { within } from "../_helpers/wait.ts";
import { PigeonError } from "../../lib/errors.ts";

/** `n` random bytes (getRandomValues is limited to 64 KiB per call). */
export function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let at = 0; at < n; at += 65536) {
    crypto.getRandomValues(out.subarray(at, Math.min(n, at + 65536)));
  }
  return out;
}

export { fixture } from "../_helpers/fixtures.ts";

/** Resolves with `promise`, or rejects after `ms` milliseconds (the timer is always cleared). */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return within(ms, what, promise);
}

/** A ByteStream from two web streams; `close` is a no-op (the user closes the streams). */
function byteStream(
  readable: ReadableStream<Uint8Array>,
  writable: WritableStream<Uint8Array>,
): ByteStream {
  return { readable, writable, close() {} };
}

/**
 * Two ByteStreams connected back to back in memory. `tap` sees every chunk
 * written by side 0 (`"a"`) or side 1 (`"b"`).
 */
export function memoryPair(
  tap?: (from: "a" | "b", chunk: Uint8Array) => void,
): [ByteStream, ByteStream] {
  const relay = (from: "a" | "b") =>
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        tap?.(from, chunk.slice());
        controller.enqueue(chunk);
      },
    });
  const ab = relay("a");
  const ba = relay("b");
  return [byteStream(ba.readable, ab.writable), byteStream(ab.readable, ba.writable)];
}

/** A transport driven by the test: it feeds the bytes read and records the bytes written. */
export interface ScriptedTransport {
  /** The side to hand to the code under test. */
  transport: ByteStream;
  /** Every chunk the code under test wrote. */
  written: Uint8Array[];
  /** Makes `bytes` readable. */
  feed(bytes: Uint8Array): void;
  /** Ends the readable side (EOF). */
  end(): void;
  /** Resolves once at least `n` bytes in total were written. */
  waitWritten(n: number): Promise<void>;
  /** True once the code under test closed, aborted or cancelled the transport. */
  readonly closed: boolean;
}

/** Makes a {@link ScriptedTransport}. */
export function scriptedTransport(): ScriptedTransport {
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let total = 0;
  let closed = false;
  const waiters: { n: number; resolve: () => void }[] = [];
  const written: Uint8Array[] = [];
  const readable = new ReadableStream<Uint8Array>({
    start(c) {
      controller = c;
    },
    cancel() {
      closed = true;
    },
  });
  const writable = new WritableStream<Uint8Array>({
    write(chunk) {
      written.push(chunk.slice());
      total += chunk.byteLength;
      for (let i = waiters.length - 1; i >= 0; i--) {
        if (total >= waiters[i]!.n) waiters.splice(i, 1)[0]!.resolve();
      }
    },
    close() {
      closed = true;
    },
    abort() {
      closed = true;
    },
  });
  return {
    transport: {
      readable,
      writable,
      close() {
        closed = true;
      },
    },
    written,
    feed(bytes) {
      if (!closed) controller.enqueue(bytes);
    },
    end() {
      if (!closed) controller.close();
    },
    waitWritten(n) {
      if (total >= n) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ n, resolve }));
    },
    get closed() {
      return closed;
    },
  };
}

const BYTE_KEYS = new Set([
  "capability",
  "value",
  "hash",
  "signature",
  "namespace",
  "publicKey",
  "message",
  "userData",
  "id",
]);
const HEX = /^([0-9a-f]{2})*$/;

/** Fixture JSON → the typed value (hex strings of byte fields → bytes, bitfield → Uint32Array). */
export function typed(value: unknown, key = ""): unknown {
  if (typeof value === "string" && BYTE_KEYS.has(key) && HEX.test(value)) return fromHex(value);
  if (key === "bitfield" && Array.isArray(value)) return Uint32Array.from(value as number[]);
  if (key === "linked" && Array.isArray(value)) return value.map((v) => fromHex(v as string));
  if (Array.isArray(value)) return value.map((v) => typed(v, key));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, typed(v, k)]));
  }
  return value;
}

/** A decoded value → fixture JSON form (bytes → hex, Uint32Array → numbers). */
export function plain(value: unknown): unknown {
  if (value instanceof Uint32Array) return [...value];
  if (value instanceof Uint8Array) return toHex(value);
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

/**
 * One end of an in-memory {@link MessageStream} pair: ordered delivery,
 * handler promises pause delivery, `written` records every message sent,
 * `delivered` counts messages handed to the handler. Destroying one end
 * closes the other cleanly, as a TCP close would.
 */
export class MemoryMessageStream implements MessageStream {
  /** Every message written, in order (copies). */
  written: Uint8Array[] = [];
  /** Messages handed to the handler so far. */
  delivered = 0;
  /** The other end. */
  peer: MemoryMessageStream | null = null;
  readonly closed: Promise<PigeonError | null>;
  #resolveClosed!: (err: PigeonError | null) => void;
  #destroyed = false;
  #inbox: Uint8Array[] = [];
  #handler: MessageHandler | null = null;
  #pumping = false;

  constructor() {
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
  }

  get destroyed(): boolean {
    return this.#destroyed;
  }

  get onmessage(): MessageHandler | null {
    return this.#handler;
  }

  set onmessage(handler: MessageHandler | null) {
    this.#handler = handler;
    this.#pump();
  }

  write(message: Uint8Array): boolean {
    if (this.#destroyed) return false;
    this.written.push(message.slice());
    this.peer?.receive(message.slice());
    return true;
  }

  drain(): Promise<void> {
    return Promise.resolve();
  }

  /** Queues a message as if the peer had sent it. */
  receive(message: Uint8Array): void {
    if (this.#destroyed) return;
    this.#inbox.push(message);
    this.#pump();
  }

  destroy(error?: unknown): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#inbox = [];
    this.#resolveClosed(
      error === undefined ? null : error instanceof PigeonError ? error : new PigeonError(
        "CLOSED",
        String(error),
      ),
    );
    this.peer?.destroy();
  }

  async #pump(): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      await Promise.resolve(); // deliver asynchronously, like a real transport
      while (!this.#destroyed && this.#handler !== null && this.#inbox.length > 0) {
        const message = this.#inbox.shift()!;
        this.delivered++;
        try {
          const pause = this.#handler(message);
          if (pause instanceof Promise) await pause;
        } catch (err) {
          this.destroy(err);
        }
      }
    } finally {
      this.#pumping = false;
    }
    if (!this.#destroyed && this.#handler !== null && this.#inbox.length > 0) this.#pump();
  }
}

/** Two connected {@link MemoryMessageStream}s. */
export function memoryMessagePair(): [MemoryMessageStream, MemoryMessageStream] {
  const a = new MemoryMessageStream();
  const b = new MemoryMessageStream();
  a.peer = b;
  b.peer = a;
  return [a, b];
}
