/**
 * The peers multicast DNS has found for one service: keyed by instance and
 * address, refreshed by each announcement, dropped on goodbye (TTL 0) or when
 * their TTL runs out (RFC 6762 §10), and bounded in size.
 *
 * @module
 */

/** A peer's TTL is capped at this, so a bogus huge TTL cannot pin a stale peer. */
export const MAX_PEER_TTL_S = 4500;
/** Most peers remembered per service; more are ignored until some expire. */
export const MAX_PEERS = 256;

/** A peer found on the LAN. */
export interface MdnsPeer {
  /** Source address of its announcement. */
  host: string;
  /** The port in its SRV record. */
  port: number;
  /** Its instance label (random per process and service). */
  instance: string;
}

/** A known peer with how long it has left, for known-answer lists. */
export interface KnownPeer {
  peer: MdnsPeer;
  /** Milliseconds until it expires. */
  leftMs: number;
  /** The TTL it was last announced with, in milliseconds. */
  ttlMs: number;
}

interface Entry {
  peer: MdnsPeer;
  ttlMs: number;
  expiresAt: number;
}

type Timer = ReturnType<typeof setTimeout>;

/** Peers with expiry; reports changes through the two callbacks. */
export class PeerTable {
  readonly #entries = new Map<string, Entry>();
  readonly #onpeer: (peer: MdnsPeer) => void;
  readonly #onlost: (peer: MdnsPeer) => void;
  #timer: Timer | undefined;
  #closed = false;

  /** `onpeer` fires for a new peer or a new port; `onlost` on goodbye or expiry. */
  constructor(onpeer: (peer: MdnsPeer) => void, onlost: (peer: MdnsPeer) => void) {
    this.#onpeer = onpeer;
    this.#onlost = onlost;
  }

  /** Number of peers. */
  get size(): number {
    return this.#entries.size;
  }

  /** Copies of the peers. */
  peers(): MdnsPeer[] {
    return [...this.#entries.values()].map((e) => ({ ...e.peer }));
  }

  /** The peers with their remaining time. */
  known(): KnownPeer[] {
    const now = performance.now();
    return [...this.#entries.values()].map((e) => ({
      peer: { ...e.peer },
      leftMs: e.expiresAt - now,
      ttlMs: e.ttlMs,
    }));
  }

  /** Records an announcement with `ttlS` seconds (0 = goodbye). */
  update(peer: MdnsPeer, ttlS: number): void {
    if (this.#closed) return;
    const key = `${peer.instance}@${peer.host}`;
    const entry = this.#entries.get(key);
    if (ttlS <= 0) {
      if (entry === undefined) return;
      this.#entries.delete(key);
      this.#onlost({ ...entry.peer });
      this.#schedule();
      return;
    }
    const ttlMs = Math.min(ttlS, MAX_PEER_TTL_S) * 1000;
    const expiresAt = performance.now() + ttlMs;
    if (entry !== undefined && entry.peer.port === peer.port) {
      entry.ttlMs = ttlMs;
      entry.expiresAt = expiresAt;
    } else {
      if (entry === undefined && this.#entries.size >= MAX_PEERS) return;
      this.#entries.set(key, { peer: { ...peer }, ttlMs, expiresAt });
      this.#onpeer({ ...peer });
    }
    this.#schedule();
  }

  /** Forgets every peer (without callbacks) and stops the expiry timer. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#entries.clear();
  }

  #schedule(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#entries.size === 0 || this.#closed) return;
    let next = Infinity;
    for (const e of this.#entries.values()) next = Math.min(next, e.expiresAt);
    this.#timer = setTimeout(() => this.#expire(), Math.max(0, next - performance.now()));
  }

  #expire(): void {
    const now = performance.now();
    for (const [key, e] of this.#entries) {
      if (e.expiresAt > now) continue;
      this.#entries.delete(key);
      this.#onlost({ ...e.peer });
    }
    this.#schedule();
  }
}
