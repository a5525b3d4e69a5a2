/**
 * The swarm: every connection a pigeon process has, for every core it
 * replicates. It listens, dials peers given by address (`--peer`) or found on
 * the LAN, redials them after a loss with backoff, and runs one replication
 * session per connection with a channel per core.
 *
 * @module
 */

import { toHex } from "../crypto/bytes.ts";
import type { KeyPair } from "../crypto/ed25519.ts";
import { PigeonError } from "../errors.ts";
import type { Replicator } from "../wire/replicator.ts";
import { SecretStream } from "../wire/secret_stream.ts";
import { Session } from "../wire/session.ts";
import { LanDiscovery } from "./lan_discovery.ts";
import { dialTcp, type ListenOptions, listenTcp, type TcpListener } from "./tcp.ts";

/** Most simultaneous connections; more inbound ones are closed at once. */
export const MAX_CONNECTIONS = 256;
/** First redial delay after a lost `--peer` connection; doubles up to the max. */
export const REDIAL_MIN_MS = 500;
/** @see REDIAL_MIN_MS */
export const REDIAL_MAX_MS = 30_000;
/** Handshake bound: a connection that opens and says nothing is dropped after this. */
export const HANDSHAKE_TIMEOUT_MS = 10_000;
/**
 * A connection that sends no bytes for this long is dropped. Peers send
 * keep-alives every 5 s (pigeon, and hypercore's replicate()), so only dead
 * or hostile peers go this quiet.
 */
export const IDLE_TIMEOUT_MS = 30_000;
/** An inbound connection that opens no replication channel within this long is dropped. */
export const CHANNEL_TIMEOUT_MS = 10_000;

/** How a peer was found. */
export type PeerSource = "peer" | "lan" | "inbound";

/** What the swarm reports. */
export type SwarmEvent =
  | { type: "listening"; hostname: string; port: number }
  | { type: "connected"; name: string; via: PeerSource }
  | { type: "disconnected"; name: string; via: PeerSource; reason: string }
  | { type: "dial-failed"; name: string; via: PeerSource; reason: string }
  | { type: "lan-found"; name: string }
  | { type: "lan-error"; reason: string };

/** Where LAN discovery runs. */
export interface LanOptions {
  /** Interface addresses to use (default: every non-loopback IPv4 interface). */
  interfaces?: readonly string[];
  /** Announce this swarm's listening port (default true when listening). */
  announce?: boolean;
}

/** Options for a {@link Swarm}. */
export interface SwarmOptions {
  /** Listen for inbound connections (default: do not listen). */
  listen?: ListenOptions;
  /** Noise static key pair (default: a fresh one per process). */
  keyPair?: KeyPair;
  /** Secret-stream keep-alive interval (default 5000 ms; 0 disables). */
  keepAlive?: number;
}

interface Dialed {
  hostname: string;
  port: number;
  via: PeerSource;
  session: Session | null;
  delay: number;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/** Connections and replication sessions for a set of cores. */
export class Swarm {
  readonly #options: SwarmOptions;
  readonly #replicators = new Map<string, Replicator>();
  readonly #sessions = new Set<Session>();
  /** Streams still in their handshake: not sessions yet, but close() must end them too. */
  readonly #opening = new Set<SecretStream>();
  readonly #dialed = new Map<string, Dialed>();
  readonly #listeners = new Set<(event: SwarmEvent) => void>();
  readonly #tasks = new Set<Promise<unknown>>();
  #listener: TcpListener | null = null;
  readonly #lan = new Set<LanDiscovery>();
  #closed = false;

  /** A swarm; call {@link listen} and {@link addPeer} to start connecting. */
  constructor(options: SwarmOptions = {}) {
    this.#options = options;
  }

  /** The listening port, or 0 when not listening. */
  get port(): number {
    return this.#listener?.port ?? 0;
  }

  /** Number of open connections. */
  get connections(): number {
    return this.#sessions.size;
  }

  /** Subscribes to events; returns an unsubscribe function. */
  on(listener: (event: SwarmEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Replicates `replicator`'s core on every current and future connection. */
  add(replicator: Replicator): void {
    this.#replicators.set(toHex(replicator.core.discoveryKey), replicator);
    for (const session of this.#sessions) session.replicate(replicator);
  }

  /** Starts listening (see {@link ListenOptions}); returns the port. */
  listen(options: ListenOptions = this.#options.listen ?? {}): number {
    const listener = listenTcp(options);
    this.#listener = listener;
    this.#emit({ type: "listening", hostname: listener.hostname, port: listener.port });
    this.#track((async () => {
      for await (const conn of listener.accept()) {
        if (this.#closed || (this.#connectionCount() >= MAX_CONNECTIONS && !this.#evictIdle())) {
          conn.close();
          continue;
        }
        const remote = conn.remoteAddr as Deno.NetAddr;
        this.#track(this.#run(conn, false, `${remote.hostname}:${remote.port}`, "inbound", null));
      }
    })());
    return listener.port;
  }

  /** Dials `hostname:port` now and again after every loss, until closed. */
  addPeer(hostname: string, port: number, via: PeerSource = "peer"): void {
    const name = `${hostname}:${port}`;
    if (this.#closed || this.#dialed.has(name)) return;
    const dialed: Dialed = {
      hostname,
      port,
      via,
      session: null,
      delay: REDIAL_MIN_MS,
      timer: undefined,
    };
    this.#dialed.set(name, dialed);
    this.#dial(dialed);
  }

  /**
   * Finds peers for `discoveryKey` on the LAN with multicast DNS (announcing
   * our port when listening) and dials each one found. Failures to start are
   * reported as a `lan-error` event; `--peer` keeps working without it.
   */
  async joinLan(discoveryKey: Uint8Array, options: LanOptions = {}): Promise<void> {
    if (this.#closed) return;
    const announce = (options.announce ?? true) && this.port > 0;
    const lan = new LanDiscovery({
      discoveryKey,
      ...(announce ? { port: this.port } : {}),
      ...(options.interfaces ? { interfaces: options.interfaces } : {}),
    });
    lan.onpeer = (peer) => {
      this.#emit({ type: "lan-found", name: `${peer.host}:${peer.port}` });
      this.addPeer(peer.host, peer.port, "lan");
    };
    lan.onerror = (err) => this.#emit({ type: "lan-error", reason: reason(err) });
    try {
      await lan.start();
      this.#lan.add(lan);
    } catch (err) {
      this.#emit({ type: "lan-error", reason: reason(err) });
      await lan.close().catch(() => {});
    }
  }

  /** Closes every connection and the listener; resolves once all are down. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const lan of this.#lan) await lan.close().catch(() => {});
    this.#listener?.close();
    for (const dialed of this.#dialed.values()) clearTimeout(dialed.timer);
    for (const stream of this.#opening) stream.destroy();
    for (const session of this.#sessions) session.close();
    while (this.#tasks.size > 0) await Promise.allSettled([...this.#tasks]);
  }

  #dial(dialed: Dialed): void {
    const name = `${dialed.hostname}:${dialed.port}`;
    this.#track((async () => {
      let conn: Deno.Conn;
      try {
        conn = await dialTcp(dialed.hostname, dialed.port);
      } catch (err) {
        this.#emit({ type: "dial-failed", name, via: dialed.via, reason: reason(err) });
        this.#redial(dialed);
        return;
      }
      if (this.#closed) {
        conn.close();
        return;
      }
      await this.#run(conn, true, name, dialed.via, dialed);
      this.#redial(dialed);
    })());
  }

  #redial(dialed: Dialed): void {
    if (this.#closed) return;
    dialed.timer = setTimeout(() => this.#dial(dialed), dialed.delay);
    dialed.delay = Math.min(dialed.delay * 2, REDIAL_MAX_MS);
  }

  async #run(
    conn: Deno.Conn,
    isInitiator: boolean,
    name: string,
    via: PeerSource,
    dialed: Dialed | null,
  ): Promise<void> {
    const stream = new SecretStream(isInitiator, conn, {
      ...(this.#options.keyPair ? { keyPair: this.#options.keyPair } : {}),
      keepAlive: this.#options.keepAlive ?? 5000,
      handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
      timeout: IDLE_TIMEOUT_MS,
    });
    this.#opening.add(stream);
    try {
      await stream.opened;
    } catch (err) {
      if (dialed && !this.#closed) {
        this.#emit({ type: "dial-failed", name, via, reason: reason(err) });
      }
      await stream.closed;
      return;
    } finally {
      this.#opening.delete(stream);
    }
    const session = new Session(
      stream,
      via === "inbound" ? name : `${name} (${via === "lan" ? "LAN" : "--peer"})`,
      via === "inbound",
    );
    this.#sessions.add(session);
    if (dialed) {
      dialed.session = session;
      dialed.delay = REDIAL_MIN_MS;
    }
    this.#emit({ type: "connected", name: session.name, via });
    session.serve((discoveryKey) => this.#replicators.get(toHex(discoveryKey)) ?? null);
    for (const replicator of this.#replicators.values()) session.replicate(replicator);
    // An inbound peer that replicates nothing only holds a slot: let it go.
    const channelTimer = via === "inbound"
      ? setTimeout(() => {
        if (session.channels === 0) session.close(new PigeonError("TIMEOUT", "No channel opened"));
      }, CHANNEL_TIMEOUT_MS)
      : undefined;
    const error = await session.closed;
    clearTimeout(channelTimer);
    this.#sessions.delete(session);
    if (dialed) dialed.session = null;
    this.#emit({
      type: "disconnected",
      name: session.name,
      via,
      reason: error ? error.message : "closed",
    });
  }

  /** Connections in progress and established. */
  #connectionCount(): number {
    return this.#sessions.size + this.#opening.size;
  }

  /**
   * Makes room for a new connection by closing the oldest handshake still
   * pending (honest ones take milliseconds) or else the oldest inbound
   * session that replicates nothing; false when every slot does real work.
   */
  #evictIdle(): boolean {
    for (const stream of this.#opening) {
      if (stream.isInitiator) continue;
      stream.destroy(
        new PigeonError("TIMEOUT", "Evicted: handshake pending while connections are full"),
      );
      this.#opening.delete(stream);
      return true;
    }
    for (const session of this.#sessions) {
      if (session.inbound && session.channels === 0) {
        session.close(new PigeonError("TIMEOUT", "Evicted: idle while connections are full"));
        return true;
      }
    }
    return false;
  }

  #track(task: Promise<unknown>): void {
    const tracked = task.catch(() => {}).finally(() => this.#tasks.delete(tracked));
    this.#tasks.add(tracked);
  }

  #emit(event: SwarmEvent): void {
    for (const listener of this.#listeners) listener(event);
  }
}

function reason(err: unknown): string {
  if (err instanceof PigeonError) return err.message;
  return err instanceof Error ? err.message : String(err);
}
