/**
 * A protomux channel (SPEC e): the per-channel half of `protomux.ts`. A
 * channel is created by {@link Protomux.createChannel}, registers its message
 * types in order with `addMessage`, and sends `open` with its handshake.
 *
 * @module
 */

import { type Codec, state, uint } from "../encoding/compact.ts";
import type { Protomux } from "./protomux.ts";
import type { BatchEntry } from "./protomux_frames.ts";

/** A channel message type: its codec and receiver. */
export interface MessageOptions<T> {
  /** How the message is encoded. */
  encoding: Codec<T>;
  /** Called with each decoded message. */
  onmessage?: (message: T, channel: Channel<unknown>) => void | Promise<void>;
}

/** A registered message type; `send` returns false when the stream wants a drain. */
export interface ChannelMessage<T> {
  /** The message index within the channel. */
  readonly type: number;
  /** Encodes and sends `message` (dropped if the channel is closed). */
  send(message: T): boolean;
}

/** Options for {@link Protomux.createChannel}. */
export interface ChannelOptions<H> {
  /** Protocol name, e.g. "hypercore/alpha". */
  protocol: string;
  /** Channel id within the protocol (hypercore: the discovery key), or null. */
  id?: Uint8Array | null;
  /** Codec of the handshake carried by `open`; none means an empty handshake. */
  handshake?: Codec<H>;
  /** At most one opened channel per (protocol, id); default true. */
  unique?: boolean;
  /** Called once the channel is opened, with the peer's handshake. A throw destroys the stream. */
  onopen?: (handshake: H | null, channel: Channel<H>) => void | Promise<void>;
  /** Called once when the channel closes (`isRemote`: the peer or the stream closed it). */
  onclose?: (isRemote: boolean, channel: Channel<H>) => void;
}

/** @internal Per-(protocol, id) bookkeeping of a mux. */
export interface Info {
  key: string;
  opened: number;
  /** Remote ids whose open waits for a local channel. */
  incoming: number[];
  /** Local ids whose open waits for the peer's. */
  outgoing: number[];
  pairing: number;
}

/** @internal Access between Protomux and Channel; not part of the API. */
export const INTERNAL: unique symbol = Symbol("protomux internal");

/** @internal What a channel needs from its mux. */
export interface MuxInternals {
  allocate(channel: Channel<unknown>): number;
  release(channel: Channel<unknown>, info: Info, remoteId: number, localId: number): void;
  writeControl(entry: BatchEntry): void;
  /**
   * Sends a message frame `uint localId · uint type · payload` whose body
   * (type and payload) starts at `bodyStart`; the id prefix is dropped when
   * the frame goes into a batch.
   */
  writeMessage(localId: number, frame: Uint8Array, bodyStart: number): boolean;
}

/** @internal What a mux needs from its channels. */
export interface ChannelInternals {
  remoteId: number;
  open(handshake: Uint8Array): void;
  recv(type: number, payload: Uint8Array): void;
  close(isRemote: boolean): void;
}

/**
 * One channel of a {@link Protomux}. `H` is its handshake type.
 */
export class Channel<H> {
  /** The protocol name. */
  readonly protocol: string;
  /** The channel id within the protocol, or null. */
  readonly id: Uint8Array | null;
  /** The mux this channel belongs to. */
  readonly mux: Protomux;
  /** Free for the user. */
  userData: unknown = null;
  /** The peer's decoded handshake, once opened. */
  handshake: H | null = null;
  #localId = 0;
  #options: ChannelOptions<unknown>;
  #info: Info;
  #messages: MessageOptions<unknown>[] = [];
  #opened = false;
  #closed = false;
  #waiters: ((opened: boolean) => void)[] = [];

  /** Module-private: what the mux needs from its channels. */
  readonly [INTERNAL]: ChannelInternals;

  /** Use {@link Protomux.createChannel}. */
  constructor(mux: Protomux, options: ChannelOptions<unknown>, info: Info) {
    this.mux = mux;
    this.protocol = options.protocol;
    this.id = options.id ?? null;
    this.#options = options;
    this.#info = info;
    this[INTERNAL] = {
      remoteId: 0,
      open: (bytes) => this.#onopen(bytes),
      recv: (type, payload) => this.#onmessage(type, payload),
      close: (isRemote) => this.#close(isRemote),
    };
  }

  /** This side's id for the channel (0 before `open`). */
  get localId(): number {
    return this.#localId;
  }

  /** True once both opens have been exchanged. */
  get opened(): boolean {
    return this.#opened;
  }

  /** True once closed (by either side or the stream). */
  get closed(): boolean {
    return this.#closed;
  }

  /** Resolves true once opened, false if it closes first. */
  fullyOpened(): Promise<boolean> {
    if (this.#opened) return Promise.resolve(true);
    if (this.#closed) return Promise.resolve(false);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Registers the next message type (index = registration order). */
  addMessage<T>(options: MessageOptions<T>): ChannelMessage<T> {
    const type = this.#messages.length;
    this.#messages.push(options as MessageOptions<unknown>);
    return {
      type,
      send: (message: T): boolean => {
        if (this.#closed || this.#localId === 0) return false;
        // One buffer for the whole frame: the channel id, then the body.
        const size = state();
        uint.preencode(size, this.#localId);
        const bodyStart = size.end;
        uint.preencode(size, type);
        options.encoding.preencode(size, message);
        const s = state(new Uint8Array(size.end));
        uint.encode(s, this.#localId);
        uint.encode(s, type);
        options.encoding.encode(s, message);
        return this.mux[INTERNAL].writeMessage(this.#localId, s.buffer, bodyStart);
      },
    };
  }

  /** Sends `open` with this side's handshake. */
  open(handshake?: H): void {
    if (this.#localId !== 0 || this.#closed) return;
    this.#localId = this.mux[INTERNAL].allocate(this as Channel<unknown>);
    this.#info.opened++;
    if (this[INTERNAL].remoteId === 0) this.#info.outgoing.push(this.#localId);
    let payload = new Uint8Array(0);
    const codec = this.#options.handshake;
    if (codec !== undefined) {
      const size = state();
      codec.preencode(size, handshake);
      payload = new Uint8Array(size.end);
      codec.encode(state(payload), handshake);
    }
    this.mux[INTERNAL].writeControl({
      kind: "open",
      localId: this.#localId,
      protocol: this.protocol,
      id: this.id,
      handshake: payload,
    });
  }

  /** Sends `close` and closes the channel locally. */
  close(): void {
    if (this.#closed) return;
    const localId = this.#localId;
    this.#close(false);
    if (localId !== 0) this.mux[INTERNAL].writeControl({ kind: "close", localId });
  }

  /** Same as {@link Protomux.cork}. */
  cork(): void {
    this.mux.cork();
  }

  /** Same as {@link Protomux.uncork}. */
  uncork(): void {
    this.mux.uncork();
  }

  #onopen(handshakeBytes: Uint8Array): void {
    const codec = this.#options.handshake;
    this.handshake = codec === undefined ? null : codec.decode(state(handshakeBytes)) as H;
    this.#track(this.#options.onopen?.(this.handshake, this as Channel<unknown>));
    if (this.#closed) return;
    this.#opened = true;
    for (const wake of this.#waiters.splice(0)) wake(true);
  }

  #onmessage(type: number, payload: Uint8Array): void {
    const m = this.#messages[type];
    if (m === undefined) return; // unknown message type: ignore
    const message = m.encoding.decode(state(payload));
    this.#track(m.onmessage?.(message, this as Channel<unknown>));
  }

  #close(isRemote: boolean): void {
    if (this.#closed) return;
    this.#closed = true;
    const localId = this.#localId;
    if (localId > 0) this.#info.opened--;
    this.mux[INTERNAL].release(
      this as Channel<unknown>,
      this.#info,
      this[INTERNAL].remoteId,
      localId,
    );
    this[INTERNAL].remoteId = 0;
    this.#localId = 0;
    for (const wake of this.#waiters.splice(0)) wake(false);
    this.#options.onclose?.(isRemote, this as Channel<unknown>);
  }

  #track(result: void | Promise<void> | undefined): void {
    if (result instanceof Promise) result.catch((err) => this.mux.destroy(err));
  }
}
