/**
 * protomux: many channels over one message stream (SPEC e). Frame layouts
 * are in `protomux_frames.ts`.
 *
 * A channel is identified by `(protocol, id)`. Each side creates it, calls
 * `open(handshake)` (sending `open` with its 1-based local id), and the
 * channel is *opened* once the peer's open for the same pair has arrived too,
 * in either order. Ids in frames are always the sender's local ids; the mux
 * maps remote ids to channels. Freed local ids are reused.
 *
 * An incoming open nobody has created a channel for goes to the handler
 * registered with {@link Protomux.pair} (exact id first, then the
 * protocol's null-id handler); if no channel takes it, the mux replies
 * `reject`. Messages for an open that is still waiting are buffered; above
 * {@link MAX_BUFFERED_BYTES} the mux stops reading the stream until they
 * drain or get dropped.
 *
 * Protocol violations destroy the stream with PROTOCOL_ERROR: an open with
 * remote id 0, a remote id that skips ahead or is still live, a reject for
 * an id we never opened, too many remote channels or pending opens, a nested
 * batch. Undecodable bytes destroy it with DECODE_ERROR. Unknown message and
 * control types are ignored. Message handlers may return promises; they are
 * not awaited (so a handler waiting on the peer cannot deadlock the stream),
 * but a rejection destroys the stream.
 *
 * @module
 */

import { PigeonError } from "../errors.ts";
import { toHex } from "../crypto/bytes.ts";
import type { MessageStream } from "./message_stream.ts";
import {
  Channel,
  type ChannelOptions,
  type Info,
  INTERNAL,
  type MuxInternals,
} from "./protomux_channel.ts";
import {
  type BatchEntry,
  decodeMuxFrame,
  encodeBatchEntries,
  encodeEntry,
  encodeMuxFrame,
  type OpenFrame,
} from "./protomux_frames.ts";

/** Buffered bytes for not-yet-accepted channels above which reading pauses (as the reference). */
export const MAX_BUFFERED_BYTES = 32768;
/** Bytes each buffered message counts for on top of its payload (as the reference). */
export const BUFFERED_MESSAGE_OVERHEAD = 512;
/** A corked batch is flushed once it grows past this many bytes (as the reference). */
export const MAX_BATCH_BYTES = 8 * 1024 * 1024;
/** Most remote channel ids a peer may have allocated at once. */
export const MAX_REMOTE_CHANNELS = 4096;
/** Most incoming opens waiting for a local channel at once. */
export const MAX_PENDING_OPENS = 256;

/** Handler for an unmatched incoming open of a paired (protocol, id). */
export type PairHandler = (id: Uint8Array | null) => void | Promise<void>;

interface Remote {
  channel: Channel<unknown> | null;
  open: OpenFrame | null;
  pending: { type: number; payload: Uint8Array }[] | null;
  info: Info;
}

function keyOf(protocol: string, id: Uint8Array | null): string {
  return `${protocol}##${id === null ? "" : toHex(id)}`;
}

function asPigeonError(err: unknown): PigeonError {
  if (err instanceof PigeonError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new PigeonError("PROTOCOL_ERROR", `Channel handler failed: ${message}`, { cause: err });
}

/**
 * A channel multiplexer over a {@link MessageStream} (for example a
 * `SecretStream`). It takes over the stream's `onmessage`.
 *
 * @example
 * ```ts ignore
 * const mux = new Protomux(secretStream);
 * const ch = mux.createChannel({ protocol: "echo" })!;
 * const text = ch.addMessage({ encoding: string, onmessage: (m) => console.log(m) });
 * ch.open();
 * text.send("hello");
 * ```
 */
export class Protomux {
  /** The stream underneath. */
  readonly stream: MessageStream;
  #local: (Channel<unknown> | null)[] = [];
  #free: number[] = [];
  #remote: (Remote | null)[] = [];
  #infos = new Map<string, Info>();
  #pairs = new Map<string, PairHandler>();
  #pendingOpens = 0;
  #buffered = 0;
  #resume: (() => void) | null = null;
  #corked = 0;
  #batch: { channel: number; bytes: Uint8Array }[] = [];
  #batchBytes = 0;
  #destroyed = false;

  /** Attaches to `stream`; channels close when it closes. */
  constructor(stream: MessageStream) {
    this.stream = stream;
    stream.onmessage = (message) => this.#onmessage(message);
    stream.closed.then(() => this.#shutdown());
  }

  /** False after the last write filled the stream's queue (see {@link drain}). */
  drained = true;

  /** Resolves when the stream can take more writes. */
  drain(): Promise<void> {
    return this.stream.drain();
  }

  /** Iterates the open (or opening) channels. */
  *[Symbol.iterator](): IterableIterator<Channel<unknown>> {
    for (const channel of this.#local) if (channel !== null) yield channel;
  }

  /** True when no local id is in use. */
  isIdle(): boolean {
    return this.#local.length === this.#free.length;
  }

  /** Whether a channel for (protocol, id) is open or opening. */
  opened(protocol: string, id: Uint8Array | null = null): boolean {
    return (this.#infos.get(keyOf(protocol, id))?.opened ?? 0) > 0;
  }

  /** Calls `handler` for unmatched incoming opens of (protocol, id); a null id matches any id. */
  pair(protocol: string, id: Uint8Array | null, handler: PairHandler): void {
    this.#pairs.set(keyOf(protocol, id), handler);
  }

  /** Removes a {@link pair} registration. */
  unpair(protocol: string, id: Uint8Array | null): void {
    this.#pairs.delete(keyOf(protocol, id));
  }

  /** Starts collecting frames into one batch message (nested calls count). */
  cork(): void {
    this.#corked++;
  }

  /** Ends a {@link cork}; the outermost one sends the batch. */
  uncork(): void {
    if (this.#corked === 0) return;
    if (--this.#corked === 0) this.#flushBatch();
  }

  /**
   * Creates a channel, or returns null when the stream is gone or a unique
   * channel for (protocol, id) is already open. Call `open()` on it next.
   */
  createChannel<H = never>(options: ChannelOptions<H>): Channel<H> | null {
    if (this.#destroyed || this.stream.destroyed) return null;
    const id = options.id ?? null;
    const info = this.#info(options.protocol, id);
    if ((options.unique ?? true) && info.opened > 0) return null;
    const channel = new Channel<H>(this, options as ChannelOptions<unknown>, info);
    const remoteId = info.incoming.shift();
    if (remoteId !== undefined) {
      this.#pendingOpens--;
      const remote = this.#remote[remoteId - 1]!;
      remote.channel = channel;
      channel[INTERNAL].remoteId = remoteId;
      queueMicrotask(() => this.#fullyOpen(channel));
    }
    return channel;
  }

  /** Destroys the stream (and so every channel). */
  destroy(error?: unknown): void {
    this.stream.destroy(error === undefined ? undefined : asPigeonError(error));
  }

  /** Module-private: what Channel needs from its mux. */
  readonly [INTERNAL]: MuxInternals = {
    allocate: (channel) => {
      const index = this.#free.pop() ?? this.#local.push(null) - 1;
      this.#local[index] = channel;
      return index + 1;
    },
    release: (channel, info, remoteId, localId) => {
      if (remoteId > 0) {
        // The peer knows this id: it can be reused right away.
        this.#remote[remoteId - 1] = null;
        this.#free.push(localId - 1);
      }
      if (localId > 0 && this.#local[localId - 1] === channel) this.#local[localId - 1] = null;
      this.#gc(info);
    },
    writeControl: (entry) => {
      if (this.#corked > 0) this.#pushBatch(encodeEntry(entry));
      else this.#write(encodeMuxFrame(entry));
    },
    writeMessage: (localId, frame, bodyStart) => {
      if (this.#corked > 0) {
        this.#pushBatch({ channel: localId, bytes: frame.subarray(bodyStart) });
        return this.drained;
      }
      return this.#write(frame);
    },
  };

  #fullyOpen(channel: Channel<unknown>): void {
    if (channel.opened || channel.closed || this.#destroyed) return;
    const internals = channel[INTERNAL];
    const remote = this.#remote[internals.remoteId - 1];
    if (remote === null || remote === undefined || remote.open === null) return;
    try {
      internals.open(remote.open.handshake);
      remote.open = null;
      const pending = remote.pending;
      remote.pending = null;
      for (const p of pending ?? []) {
        this.#unbuffer(p.payload);
        if (this.#destroyed || channel.closed) return;
        internals.recv(p.type, p.payload);
      }
    } catch (err) {
      this.destroy(err);
    }
  }

  #info(protocol: string, id: Uint8Array | null): Info {
    const key = keyOf(protocol, id);
    let info = this.#infos.get(key);
    if (info === undefined) {
      info = { key, opened: 0, incoming: [], outgoing: [], pairing: 0 };
      this.#infos.set(key, info);
    }
    return info;
  }

  #gc(info: Info): void {
    if (info.opened === 0 && info.outgoing.length === 0 && info.incoming.length === 0) {
      this.#infos.delete(info.key);
    }
  }

  #write(bytes: Uint8Array): boolean {
    this.drained = this.stream.write(bytes);
    return this.drained;
  }

  #pushBatch(entry: { channel: number; bytes: Uint8Array }): void {
    if (this.#batchBytes >= MAX_BATCH_BYTES) this.#flushBatch();
    this.#batch.push(entry);
    this.#batchBytes += entry.bytes.byteLength + 10;
  }

  #flushBatch(): void {
    if (this.#batch.length === 0) return;
    const batch = this.#batch;
    this.#batch = [];
    this.#batchBytes = 0;
    this.#write(encodeBatchEntries(batch));
  }

  #onmessage(message: Uint8Array): Promise<void> | undefined {
    if (message.byteLength === 0 || this.#destroyed) return undefined;
    try {
      const frame = decodeMuxFrame(message);
      if (frame.kind === "batch") {
        const many = frame.entries.length > 1;
        if (many) this.cork();
        try {
          for (const entry of frame.entries) {
            this.#onframe(entry);
            if (this.#destroyed) break;
          }
        } finally {
          if (many) this.uncork();
        }
      } else {
        this.#onframe(frame);
      }
    } catch (err) {
      this.destroy(err);
      return undefined;
    }
    if (this.#buffered <= MAX_BUFFERED_BYTES) return undefined;
    return new Promise<void>((resolve) => (this.#resume = resolve));
  }

  #onframe(frame: BatchEntry): void {
    switch (frame.kind) {
      case "message": {
        const remote = this.#remote[frame.channel - 1];
        if (remote === null || remote === undefined) return; // closed or unknown: ignore
        if (remote.pending !== null) {
          remote.pending.push({ type: frame.type, payload: frame.payload });
          this.#buffered += BUFFERED_MESSAGE_OVERHEAD + frame.payload.byteLength;
        } else {
          remote.channel?.[INTERNAL].recv(frame.type, frame.payload);
        }
        return;
      }
      case "open":
        return this.#onopen(frame);
      case "reject":
        return this.#onreject(frame.remoteId);
      case "close":
        return this.#onclose(frame.localId);
      case "control":
        return; // unknown control type: ignore
    }
  }

  #onopen(frame: OpenFrame): void {
    const remoteId = frame.localId;
    if (remoteId === 0) throw new PigeonError("PROTOCOL_ERROR", "Open with channel id 0");
    const index = remoteId - 1;
    if (index === this.#remote.length) {
      if (index >= MAX_REMOTE_CHANNELS) {
        throw new PigeonError("PROTOCOL_ERROR", `More than ${MAX_REMOTE_CHANNELS} channels`);
      }
      this.#remote.push(null);
    }
    if (index >= this.#remote.length || this.#remote[index] !== null) {
      throw new PigeonError("PROTOCOL_ERROR", `Invalid open for channel id ${remoteId}`);
    }
    const info = this.#info(frame.protocol, frame.id);
    const localId = info.outgoing.shift();
    if (localId !== undefined) {
      const channel = this.#local[localId - 1] ?? null;
      if (channel === null) {
        // We closed it before the peer's open arrived: the id is free now.
        this.#free.push(localId - 1);
        this.#gc(info);
        return;
      }
      this.#remote[index] = { channel, open: frame, pending: null, info };
      channel[INTERNAL].remoteId = remoteId;
      this.#fullyOpen(channel);
      return;
    }
    if (++this.#pendingOpens > MAX_PENDING_OPENS) {
      throw new PigeonError("PROTOCOL_ERROR", `More than ${MAX_PENDING_OPENS} pending opens`);
    }
    // Copy: the open is kept until a channel takes it.
    const open = { ...frame, handshake: frame.handshake.slice() };
    this.#remote[index] = { channel: null, open, pending: [], info };
    info.incoming.push(remoteId);
    info.pairing++;
    this.#requestChannel(frame.protocol, frame.id, info);
  }

  async #requestChannel(protocol: string, id: Uint8Array | null, info: Info): Promise<void> {
    const handler = this.#pairs.get(keyOf(protocol, id)) ?? this.#pairs.get(keyOf(protocol, null));
    try {
      if (handler !== undefined) await handler(id);
    } catch (err) {
      this.destroy(err);
      return;
    }
    if (--info.pairing > 0 || this.#destroyed) return;
    for (
      let remoteId = info.incoming.shift();
      remoteId !== undefined;
      remoteId = info.incoming.shift()
    ) {
      this.#pendingOpens--;
      this.#dropRemote(remoteId);
      this[INTERNAL].writeControl({ kind: "reject", remoteId });
    }
    this.#gc(info);
  }

  #dropRemote(remoteId: number): void {
    const remote = this.#remote[remoteId - 1];
    if (remote === null || remote === undefined) return;
    for (const p of remote.pending ?? []) this.#unbuffer(p.payload);
    this.#remote[remoteId - 1] = null;
  }

  #unbuffer(payload: Uint8Array): void {
    this.#buffered -= BUFFERED_MESSAGE_OVERHEAD + payload.byteLength;
    if (this.#buffered <= MAX_BUFFERED_BYTES && this.#resume !== null) {
      const resume = this.#resume;
      this.#resume = null;
      resume();
    }
  }

  #onreject(localId: number): void {
    for (const info of this.#infos.values()) {
      const at = info.outgoing.indexOf(localId);
      if (at === -1) continue;
      info.outgoing.splice(at, 1);
      const channel = this.#local[localId - 1] ?? null;
      this.#free.push(localId - 1);
      if (channel !== null) {
        this.#local[localId - 1] = null;
        channel[INTERNAL].close(true);
      }
      this.#gc(info);
      return;
    }
    throw new PigeonError("PROTOCOL_ERROR", `Reject for channel id ${localId} we did not open`);
  }

  #onclose(remoteId: number): void {
    const remote = remoteId === 0 ? null : this.#remote[remoteId - 1] ?? null;
    if (remote === null) return;
    if (remote.channel !== null) {
      remote.channel[INTERNAL].close(true);
      return;
    }
    // Closed before any local channel took it.
    const at = remote.info.incoming.indexOf(remoteId);
    if (at !== -1) {
      remote.info.incoming.splice(at, 1);
      this.#pendingOpens--;
    }
    this.#dropRemote(remoteId);
    this.#gc(remote.info);
  }

  #shutdown(): void {
    this.#destroyed = true;
    this.#batch = [];
    for (const channel of this.#local) channel?.[INTERNAL].close(true);
    this.#resume?.();
    this.#resume = null;
  }
}

export { Channel };
export type { ChannelMessage, ChannelOptions, MessageOptions } from "./protomux_channel.ts";
