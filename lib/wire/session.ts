/**
 * One replication connection: a secret-stream, a protomux on top of it, and
 * one `hypercore/alpha` channel per core both sides replicate (SPEC e, f.1).
 *
 * Each channel's open carries the capability of this side's secret-stream
 * role for the core key; the remote's is checked with the opposite role
 * before anything else happens, and a mismatch destroys the connection — a
 * peer that cannot prove it knows the key learns nothing but the discovery
 * key it already sent.
 *
 * @module
 */

import { capability } from "../core/caps.ts";
import { timingSafeEqual, toHex } from "../crypto/bytes.ts";
import type { Codec } from "../encoding/compact.ts";
import { PigeonError } from "../errors.ts";
import { handshake as handshakeCodec, HYPERCORE_MESSAGES, HYPERCORE_PROTOCOL } from "./messages.ts";
import type { Handshake } from "./messages.ts";
import { type Channel, Protomux } from "./protomux.ts";
import type { Peer, Replicator } from "./replicator.ts";
import type { SecretStream } from "./secret_stream.ts";

/** Finds the replicator for a discovery key a remote opened, or null to refuse. */
export type CoreLookup = (discoveryKey: Uint8Array) => Replicator | null;

/** A replication connection over an opened secret-stream. */
export class Session {
  /** The encrypted stream underneath. */
  readonly stream: SecretStream;
  /** The channel multiplexer. */
  readonly mux: Protomux;
  /** A label for logs and events (e.g. "127.0.0.1:3282 (--peer)"). */
  readonly name: string;
  /** True when the remote dialed us. */
  readonly inbound: boolean;
  readonly #channels = new Map<string, Channel<Handshake>>();
  #lookup: CoreLookup | null = null;
  #opened = 0;

  /** Wraps `stream` (whose handshake must have completed). */
  constructor(stream: SecretStream, name: string, inbound = !stream.isInitiator) {
    if (!stream.handshakeHash) {
      throw new PigeonError("BAD_ARGUMENT", "Session needs a secret-stream that has opened");
    }
    this.stream = stream;
    this.name = name;
    this.inbound = inbound;
    this.mux = new Protomux(stream);
  }

  /** Replication channels both sides opened (capability checked) on this connection. */
  get channels(): number {
    return this.#opened;
  }

  /** Resolves when the connection ends, with the error that ended it (null when clean). */
  get closed(): Promise<PigeonError | null> {
    return this.stream.closed;
  }

  /** Answers remote opens for cores we did not open ourselves, via `lookup`. */
  serve(lookup: CoreLookup): void {
    this.#lookup = lookup;
    this.mux.pair(HYPERCORE_PROTOCOL, null, (id) => {
      if (!id) return;
      const replicator = this.#lookup?.(id);
      if (replicator) this.replicate(replicator);
    });
  }

  /** Opens (or matches) the channel for `replicator.core` on this connection. */
  replicate(replicator: Replicator): void {
    const core = replicator.core;
    const keyHex = toHex(core.discoveryKey);
    if (this.#channels.has(keyHex) || this.stream.destroyed) return;
    const hash = this.stream.handshakeHash!;
    let peer: Peer | null = null;
    const channel = this.mux.createChannel<Handshake>({
      protocol: HYPERCORE_PROTOCOL,
      id: core.discoveryKey,
      handshake: handshakeCodec,
      unique: true,
      onopen: (remote) => {
        const expected = capability(!this.stream.isInitiator, hash, core.key);
        if (!remote || !timingSafeEqual(remote.capability, expected)) {
          throw new PigeonError("PROTOCOL_ERROR", `${this.name}: wrong capability for a core`);
        }
        this.#opened++;
        peer = replicator.attach({
          send: (type, message) => messages[type]!.send(message as never),
          drained: () => this.mux.drain(),
          close: () => channel?.close(),
        }, this.name);
      },
      onclose: () => {
        this.#channels.delete(keyHex);
        if (peer) this.#opened--;
        peer?.onclose(`${this.name}: channel closed`);
      },
    });
    if (!channel) return;
    this.#channels.set(keyHex, channel);
    const messages = HYPERCORE_MESSAGES.map((encoding, type) =>
      channel.addMessage({
        encoding: encoding as Codec<unknown>,
        onmessage: (message: unknown) => peer?.onmessage(type, message),
      })
    );
    channel.open({ seeks: true, capability: capability(this.stream.isInitiator, hash, core.key) });
  }

  /** Ends the connection. */
  close(error?: unknown): void {
    this.mux.destroy(error);
  }
}
