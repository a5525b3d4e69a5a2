/**
 * An encrypted, message-oriented stream over any {@link ByteStream}, wire
 * compatible with @hyperswarm/secret-stream 6 (SPEC d).
 *
 * | phase     | each side sends (every frame is u24le length · payload, d.1)           |
 * |-----------|------------------------------------------------------------------------|
 * | handshake | Noise XX messages 1–3 (32, 96, 64 bytes; `noise.ts`, d.2)               |
 * | header    | streamId(own role) (32) · secretstream header (24) = 56 bytes (d.3)    |
 * | open      | one frame per message: secretstream push(m, TAG_MESSAGE) (d.4)         |
 *
 * `streamId(role) = BLAKE2b-256(NS_INITIATOR or NS_RESPONDER, key = handshakeHash)`.
 * A side encrypts right after sending its own header; {@link SecretStream.opened}
 * resolves once the peer's header has been checked. Writes made earlier wait
 * in order.
 *
 * Receiving: set {@link SecretStream.onmessage} (a handler may return a
 * promise to pause reading) or iterate `for await (const m of stream)`.
 * Nothing is read from the transport while neither is in place. Empty
 * messages are keep-alives and are dropped (protomux ignores them anyway).
 *
 * Teardown: any failure (bad frame, failed MAC, wrong stream id, EOF during
 * the handshake, a timeout, a transport error) calls {@link SecretStream.destroy}
 * once. That rejects `opened` if still pending, ends iterators (throwing the
 * error), makes `send` reject, closes the transport and resolves `closed` with
 * the PigeonError (or null for a clean close). A Deno.Conn cannot half-close
 * through its web streams, so {@link SecretStream.end} flushes and then closes.
 *
 * @module
 */

import { blake2b } from "../crypto/blake2b.ts";
import { timingSafeEqual } from "../crypto/bytes.ts";
import { type KeyPair, keyPair as makeKeyPair } from "../crypto/ed25519.ts";
import { NS_INITIATOR, NS_RESPONDER } from "../crypto/namespace.ts";
import {
  SECRETSTREAM_ABYTES,
  SECRETSTREAM_HEADER_BYTES,
  SecretstreamPull,
  SecretstreamPush,
} from "../crypto/secretstream.ts";
import { PigeonError } from "../errors.ts";
import type { ByteStream } from "./byte_stream.ts";
import { FRAME_HEADER_BYTES, FrameDecoder, MAX_FRAME_BYTES, writeFrameHeader } from "./framing.ts";
import type { MessageHandler, MessageStream } from "./message_stream.ts";
import { MAX_HANDSHAKE_MESSAGE_BYTES, NoiseHandshake } from "./noise.ts";
import { TransportReader } from "./transport_reader.ts";
import { TransportWriter } from "./transport_writer.ts";

/** Default keep-alive: an empty message after this much write idleness (as hypercore). */
export const DEFAULT_KEEP_ALIVE_MS = 5000;
/** Default bound on the handshake and header exchange. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;
/** Default bound on {@link SecretStream.end} flushing queued writes. */
export const DEFAULT_END_TIMEOUT_MS = 10_000;
/** Default bytes queued for the transport before `write` returns false. */
export const DEFAULT_HIGH_WATER_MARK = 1 << 20;
/** Messages an iterator buffers before reading pauses. */
export const MAX_ITERATOR_QUEUE = 64;
/** Size of a stream id. */
export const STREAM_ID_BYTES = 32;
/** Size of the header message: stream id and secretstream header. */
export const HEADER_MESSAGE_BYTES = STREAM_ID_BYTES + SECRETSTREAM_HEADER_BYTES;
/** Largest plaintext of one message: what fits a u24 frame after encryption. */
export const MAX_MESSAGE_BYTES = MAX_FRAME_BYTES - SECRETSTREAM_ABYTES;

const EMPTY = new Uint8Array(0);

/** Options for {@link SecretStream}. */
export interface SecretStreamOptions {
  /** Static Ed25519 key pair (the identity); random when absent. */
  keyPair?: KeyPair;
  /** Keep-alive interval in ms; 0 disables. Default {@link DEFAULT_KEEP_ALIVE_MS}. */
  keepAlive?: number;
  /** Destroy with TIMEOUT when no bytes arrive for this many ms; 0 (default) disables. */
  timeout?: number;
  /** Bound on reaching `opened`, in ms; 0 disables. Default {@link DEFAULT_HANDSHAKE_TIMEOUT_MS}. */
  handshakeTimeout?: number;
  /** Bytes queued for the transport before `write` returns false. */
  highWaterMark?: number;
  /** Fixed Noise ephemeral key pair: tests only (reuse breaks forward secrecy). */
  ephemeralKeyPair?: KeyPair;
  /** Fixed 24-byte secretstream header: tests only. */
  secretstreamHeader?: Uint8Array;
}

/**
 * The stream id a side sends in its header: BLAKE2b-256 of its role's
 * namespace keyed with the handshake hash (SPEC d.3).
 */
export function streamId(handshakeHash: Uint8Array, isInitiator: boolean): Uint8Array {
  return blake2b([isInitiator ? NS_INITIATOR : NS_RESPONDER], STREAM_ID_BYTES, handshakeHash);
}

type Phase = "handshake" | "header" | "open";

/**
 * One end of an encrypted connection.
 *
 * @example Two streams over an in-memory pipe
 * ```ts
 * import { SecretStream } from "./secret_stream.ts";
 * const ab = new TransformStream<Uint8Array, Uint8Array>();
 * const ba = new TransformStream<Uint8Array, Uint8Array>();
 * const close = () => {};
 * const a = new SecretStream(true, { readable: ba.readable, writable: ab.writable, close });
 * const b = new SecretStream(false, { readable: ab.readable, writable: ba.writable, close });
 * await a.send(new TextEncoder().encode("hi"));
 * for await (const m of b) {
 *   if (new TextDecoder().decode(m) !== "hi") throw new Error("unexpected");
 *   break;
 * }
 * a.destroy();
 * b.destroy();
 * ```
 */
export class SecretStream implements MessageStream, AsyncIterable<Uint8Array> {
  /** True for the side that sends the first handshake message. */
  readonly isInitiator: boolean;
  /** This side's static public key. */
  readonly publicKey: Uint8Array;
  /** Resolves when the peer's header has been verified; rejects if destroyed first. */
  readonly opened: Promise<void>;
  /** Resolves once destroyed, with the error or null for a clean close. */
  readonly closed: Promise<PigeonError | null>;

  #transport: ByteStream;
  #reader: TransportReader;
  #writer: TransportWriter;
  #decoder = new FrameDecoder(MAX_HANDSHAKE_MESSAGE_BYTES);
  #noise: NoiseHandshake | null;
  #phase: Phase = "handshake";
  #push: SecretstreamPush | null = null;
  #pullKey: Uint8Array | null = null;
  #pull: SecretstreamPull | null = null;
  #header: Uint8Array | undefined;
  #handshakeHash: Uint8Array | null = null;
  #remotePublicKey: Uint8Array | null = null;
  #handler: MessageHandler | null = null;
  #handlerWaiter: (() => void) | null = null;
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  #highWaterMark: number;
  #drainWaiters: (() => void)[] = [];
  #flushWaiters: (() => void)[] = [];
  #destroyed = false;
  #ending = false;
  #error: PigeonError | null = null;
  #resolveOpened: () => void;
  #rejectOpened: (err: PigeonError) => void;
  #resolveClosed: (err: PigeonError | null) => void;
  #keepAliveMs: number;
  #timeoutMs: number;
  #lastWrite = Date.now();
  #lastRead = Date.now();
  #reading = false;
  #handshakeTimer: ReturnType<typeof setTimeout> | undefined;
  #keepAliveTimer: ReturnType<typeof setTimeout> | undefined;
  #timeoutTimer: ReturnType<typeof setTimeout> | undefined;

  /**
   * Starts the handshake on `transport` at once (the initiator sends first).
   *
   * @param isInitiator true on the dialing side
   * @param transport the byte stream; the secret stream owns it from now on
   */
  constructor(isInitiator: boolean, transport: ByteStream, options: SecretStreamOptions = {}) {
    const keyPair = options.keyPair ?? makeKeyPair();
    this.isInitiator = isInitiator;
    this.publicKey = keyPair.publicKey;
    this.#transport = transport;
    try {
      // Frames are coalesced here (TransportWriter), so Nagle's delay only adds latency.
      transport.setNoDelay?.(true);
    } catch {
      // not a TCP socket, or already closed: reads will tell
    }
    this.#reader = new TransportReader(transport);
    this.#writer = new TransportWriter(transport, {
      written: (queued) => this.#onWritten(queued),
      error: (err) => this.destroy(err),
    });
    this.#highWaterMark = options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK;
    this.#keepAliveMs = options.keepAlive ?? DEFAULT_KEEP_ALIVE_MS;
    this.#timeoutMs = options.timeout ?? 0;
    this.#header = options.secretstreamHeader;
    this.#noise = new NoiseHandshake(
      isInitiator,
      keyPair,
      options.ephemeralKeyPair === undefined ? {} : { ephemeralKeyPair: options.ephemeralKeyPair },
    );

    const opened = Promise.withResolvers<void>();
    this.opened = opened.promise;
    this.opened.catch(() => {}); // a rejection nobody awaits is not an unhandled one
    this.#resolveOpened = opened.resolve;
    this.#rejectOpened = opened.reject;
    const closed = Promise.withResolvers<PigeonError | null>();
    this.closed = closed.promise;
    this.#resolveClosed = closed.resolve;

    const handshakeMs = options.handshakeTimeout ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
    if (handshakeMs > 0) {
      this.#handshakeTimer = setTimeout(() => {
        this.destroy(new PigeonError("TIMEOUT", `Handshake did not complete in ${handshakeMs} ms`));
      }, handshakeMs);
    }
    if (this.#timeoutMs > 0) this.#armReceiveTimeout(this.#timeoutMs);

    if (isInitiator) this.#writeFrame(this.#noise.send());
    this.#readLoop();
  }

  /** The final Noise hash (64 bytes), once the handshake completed. */
  get handshakeHash(): Uint8Array | null {
    return this.#handshakeHash;
  }

  /** The peer's static public key, once the handshake completed. */
  get remotePublicKey(): Uint8Array | null {
    return this.#remotePublicKey;
  }

  /** True once {@link destroy} ran. */
  get destroyed(): boolean {
    return this.#destroyed;
  }

  /** The receiver of incoming messages (see the module docs). */
  get onmessage(): MessageHandler | null {
    return this.#handler;
  }

  set onmessage(handler: MessageHandler | null) {
    this.#handler = handler;
    if (handler !== null && this.#handlerWaiter !== null) {
      const wake = this.#handlerWaiter;
      this.#handlerWaiter = null;
      wake();
    }
  }

  /**
   * Queues one message (at most {@link MAX_MESSAGE_BYTES}). Returns false
   * when the caller should await {@link drain}. Drops the message (false)
   * after destroy or end.
   */
  write(message: Uint8Array): boolean {
    if (this.#destroyed || this.#ending) return false;
    if (message.byteLength > MAX_MESSAGE_BYTES) {
      throw new PigeonError("BAD_ARGUMENT", `Message of ${message.byteLength} bytes is too large`);
    }
    if (this.#push === null) {
      this.#pending.push(message.slice());
      this.#pendingBytes += message.byteLength;
    } else {
      this.#writeMessage(message);
    }
    return this.#writer.queued + this.#pendingBytes < this.#highWaterMark;
  }

  /** Resolves when queued bytes fall below the high-water mark, or on destroy. */
  drain(): Promise<void> {
    if (this.#destroyed || this.#writer.queued + this.#pendingBytes < this.#highWaterMark) {
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  /**
   * Writes one message and waits for room in the queue.
   *
   * @throws {PigeonError} the close reason (or CLOSED) if the stream is or gets destroyed
   */
  async send(message: Uint8Array): Promise<void> {
    if (this.#destroyed || this.#ending) throw this.#closeError();
    if (!this.write(message)) await this.drain();
    if (this.#destroyed) throw this.#closeError();
  }

  /** Iterates incoming messages; ends on a clean close, throws the error otherwise. */
  async *messages(): AsyncGenerator<Uint8Array, void, undefined> {
    const queue: Uint8Array[] = [];
    const signal: { wake: (() => void) | null; space: (() => void) | null } = {
      wake: null,
      space: null,
    };
    this.closed.then(() => signal.wake?.());
    this.onmessage = (message) => {
      queue.push(message);
      signal.wake?.();
      if (queue.length < MAX_ITERATOR_QUEUE) return;
      return new Promise<void>((resolve) => (signal.space = resolve));
    };
    try {
      while (true) {
        const message = queue.shift();
        if (message !== undefined) {
          signal.space?.();
          signal.space = null;
          yield message;
          continue;
        }
        if (this.#destroyed) {
          if (this.#error !== null) throw this.#error;
          return;
        }
        await new Promise<void>((resolve) => (signal.wake = resolve));
        signal.wake = null;
      }
    } finally {
      this.onmessage = null;
      signal.space?.();
    }
  }

  /** Same as {@link messages}. */
  [Symbol.asyncIterator](): AsyncGenerator<Uint8Array, void, undefined> {
    return this.messages();
  }

  /**
   * Graceful close: stops accepting writes, waits (bounded) until queued
   * messages reached the transport, then closes it.
   */
  async end(timeoutMs: number = DEFAULT_END_TIMEOUT_MS): Promise<PigeonError | null> {
    if (this.#destroyed) return this.closed;
    this.#ending = true;
    const timer = setTimeout(() => {
      this.destroy(new PigeonError("TIMEOUT", `Queued writes did not flush in ${timeoutMs} ms`));
    }, timeoutMs);
    try {
      await this.opened;
      if (this.#writer.queued > 0) {
        await new Promise<void>((resolve) => this.#flushWaiters.push(resolve));
      }
      this.destroy();
    } catch {
      // opened rejected: already destroyed with the reason
    } finally {
      clearTimeout(timer);
    }
    return this.closed;
  }

  /** Tears down once: see the module docs. `error` (if any) becomes the close reason. */
  destroy(error?: unknown): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    const err = error === undefined || error === null ? null : toPigeonError(error);
    this.#error = err;
    clearTimeout(this.#handshakeTimer);
    clearTimeout(this.#keepAliveTimer);
    clearTimeout(this.#timeoutTimer);
    this.#noise = null;
    this.#pending = [];
    this.#pendingBytes = 0;
    if (this.#phase !== "open") {
      this.#rejectOpened(err ?? new PigeonError("CLOSED", "Secret stream closed before it opened"));
    }
    for (const wake of this.#drainWaiters.splice(0)) wake();
    for (const wake of this.#flushWaiters.splice(0)) wake();
    this.#handlerWaiter?.();
    this.#handlerWaiter = null;
    try {
      this.#transport.close();
    } catch {
      // A Deno.Conn closes itself when its readable ends or is cancelled.
    }
    this.#reader.cancel();
    this.#writer.close();
    this.#resolveClosed(err);
  }

  #closeError(): PigeonError {
    return this.#error ?? new PigeonError("CLOSED", "Secret stream is closed");
  }

  async #readLoop(): Promise<void> {
    try {
      while (!this.#destroyed) {
        this.#reading = true;
        // Open-phase frames are decrypted into fresh buffers, so the read buffer can be reused.
        const value = await this.#reader.read(this.#phase === "open");
        this.#reading = false;
        this.#lastRead = Date.now();
        if (this.#destroyed) return;
        if (value === null) return this.#onEnd();
        this.#decoder.push(value);
        for (let frame = this.#decoder.next(); frame !== null; frame = this.#decoder.next()) {
          const pause = this.#onFrame(frame);
          if (pause !== undefined) await pause;
          if (this.#destroyed) return;
        }
      }
    } catch (err) {
      this.destroy(err);
    }
  }

  #onEnd(): void {
    if (this.#phase !== "open") {
      this.destroy(new PigeonError("CLOSED", `Connection ended during the ${this.#phase}`));
    } else if (!this.#decoder.idle) {
      this.destroy(new PigeonError("PROTOCOL_ERROR", "Connection ended inside a frame"));
    } else {
      this.destroy();
    }
  }

  #onFrame(frame: Uint8Array): Promise<void> | undefined {
    if (this.#phase === "open") {
      const message = this.#pull!.pull(frame);
      if (message.byteLength === 0) return undefined; // keep-alive
      return this.#dispatch(message);
    }
    if (this.#phase === "handshake") {
      const noise = this.#noise!;
      noise.recv(frame);
      if (noise.sending) this.#writeFrame(noise.send());
      if (noise.complete) this.#onHandshake(noise);
      return undefined;
    }
    this.#onHeader(frame);
    return undefined;
  }

  #onHandshake(noise: NoiseHandshake): void {
    const result = noise.result!;
    this.#noise = null;
    this.#handshakeHash = result.handshakeHash;
    this.#remotePublicKey = result.remotePublicKey;
    this.#pullKey = result.rx;
    this.#push = new SecretstreamPush(result.tx, this.#header);
    const header = new Uint8Array(HEADER_MESSAGE_BYTES);
    header.set(streamId(result.handshakeHash, this.isInitiator), 0);
    header.set(this.#push.header, STREAM_ID_BYTES);
    this.#writeFrame(header);
    this.#phase = "header";
    this.#decoder.maxFrameBytes = HEADER_MESSAGE_BYTES;
    const pending = this.#pending;
    this.#pending = [];
    this.#pendingBytes = 0;
    for (const message of pending) this.#writeMessage(message);
    if (this.#keepAliveMs > 0) this.#armKeepAlive(this.#keepAliveMs);
  }

  #onHeader(frame: Uint8Array): void {
    if (frame.byteLength !== HEADER_MESSAGE_BYTES) {
      throw new PigeonError(
        "PROTOCOL_ERROR",
        `Header message of ${frame.byteLength} bytes, not 56`,
      );
    }
    const expected = streamId(this.#handshakeHash!, !this.isInitiator);
    if (!timingSafeEqual(frame.subarray(0, STREAM_ID_BYTES), expected)) {
      throw new PigeonError("PROTOCOL_ERROR", "Remote stream id does not match the handshake");
    }
    this.#pull = new SecretstreamPull(this.#pullKey!, frame.subarray(STREAM_ID_BYTES));
    this.#pullKey = null;
    this.#phase = "open";
    this.#decoder.maxFrameBytes = MAX_FRAME_BYTES;
    clearTimeout(this.#handshakeTimer);
    this.#resolveOpened();
  }

  #dispatch(message: Uint8Array): Promise<void> | undefined {
    const handler = this.#handler;
    if (handler === null) return this.#dispatchLater(message);
    const result = handler(message);
    return result instanceof Promise ? result : undefined;
  }

  async #dispatchLater(message: Uint8Array): Promise<void> {
    while (this.#handler === null) {
      if (this.#destroyed) return;
      await new Promise<void>((resolve) => (this.#handlerWaiter = resolve));
    }
    if (!this.#destroyed) await this.#handler(message);
  }

  #writeMessage(message: Uint8Array): void {
    const size = message.byteLength + SECRETSTREAM_ABYTES;
    const frame = this.#writer.reserve(FRAME_HEADER_BYTES + size);
    writeFrameHeader(frame, 0, size);
    this.#push!.pushInto(message, frame, FRAME_HEADER_BYTES);
    this.#lastWrite = Date.now();
  }

  #writeFrame(payload: Uint8Array): void {
    const frame = this.#writer.reserve(FRAME_HEADER_BYTES + payload.byteLength);
    writeFrameHeader(frame, 0, payload.byteLength);
    frame.set(payload, FRAME_HEADER_BYTES);
  }

  #onWritten(queued: number): void {
    if (queued + this.#pendingBytes < this.#highWaterMark) {
      for (const wake of this.#drainWaiters.splice(0)) wake();
    }
    if (queued === 0) { for (const wake of this.#flushWaiters.splice(0)) wake(); }
  }

  #armKeepAlive(ms: number): void {
    this.#keepAliveTimer = setTimeout(() => {
      if (this.#destroyed) return;
      const idle = Date.now() - this.#lastWrite;
      if (idle >= this.#keepAliveMs) {
        if (!this.#ending) this.#writeMessage(EMPTY);
        this.#armKeepAlive(this.#keepAliveMs);
      } else {
        this.#armKeepAlive(this.#keepAliveMs - idle);
      }
    }, ms);
  }

  #armReceiveTimeout(ms: number): void {
    this.#timeoutTimer = setTimeout(() => {
      if (this.#destroyed) return;
      // Time spent paused by our own consumer does not count as idle.
      if (!this.#reading) this.#lastRead = Date.now();
      const idle = Date.now() - this.#lastRead;
      if (idle >= this.#timeoutMs) {
        this.destroy(new PigeonError("TIMEOUT", `No data received for ${this.#timeoutMs} ms`));
      } else {
        this.#armReceiveTimeout(this.#timeoutMs - idle);
      }
    }, ms);
  }
}

function toPigeonError(err: unknown): PigeonError {
  if (err instanceof PigeonError) return err;
  const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return new PigeonError("CLOSED", `Transport failed: ${message}`, { cause: err });
}
