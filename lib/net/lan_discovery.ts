/**
 * LAN discovery: finds peers sharing a data set on the local network with
 * multicast DNS, without a server and without revealing the discovery key.
 *
 * Name derivation (the only data-set-specific thing on the wire):
 *
 * | step  | value                                                                 |
 * |-------|-----------------------------------------------------------------------|
 * | topic | `BLAKE2b-256(message = utf8("pigeon-mdns"), key = discoveryKey)`, first {@link TOPIC_BYTES} bytes |
 * | label | the topic in lowercase hex (40 characters, fits a 63-byte DNS label)  |
 * | name  | `<label>._pigeon._tcp.local` ({@link SERVICE_TYPE})                    |
 *
 * Example: the discovery key `00 01 … 1f` gives
 * `e71ba0f711d9dd493d51d8508f14d5b12c2275fa._pigeon._tcp.local` (pinned by
 * `tests/net/mdns_test.ts`). A listener on the LAN learns that some hosts
 * share the same unknown data set, and their addresses and ports; it cannot
 * get the discovery key, the public key or the content from the name. Peers
 * who hold the link compute the same name.
 *
 * Records, rates and sockets are described in `mdns.ts`. Each
 * {@link LanDiscovery} owns its own sockets (one receiver on port 5353 shared
 * through SO_REUSEADDR, one sender per interface), so several discovery keys
 * in one process are several instances; they never hear each other's service
 * names as their own, and two instances with the same key in one process find
 * each other like two processes would.
 *
 * @module
 */

import { blake2b } from "../crypto/blake2b.ts";
import { toHex } from "../crypto/bytes.ts";
import { PigeonError } from "../errors.ts";
import { type MdnsPeer, MdnsService, type MdnsStats } from "./mdns.ts";

/** The DNS-SD service type pigeon announces under. */
export const SERVICE_TYPE = "_pigeon._tcp.local";
/** BLAKE2b key-derivation message for the topic. */
export const TOPIC_CONTEXT = "pigeon-mdns";
/** Bytes of the topic hash used in the name. */
export const TOPIC_BYTES = 20;
const DISCOVERY_KEY_BYTES = 32;

/** A peer found by LAN discovery; `via` tells status output which path was taken. */
export interface LanPeer {
  /** IPv4 address to dial. */
  host: string;
  /** TCP port to dial. */
  port: number;
  /** Always "lan" (a `--peer` address says "peer"). */
  via: "lan";
}

/** Options for {@link LanDiscovery}. */
export interface LanDiscoveryOptions {
  /** The 32-byte discovery key of the data set. */
  discoveryKey: Uint8Array;
  /** The TCP port this process accepts connections on; without it, only look. */
  port?: number;
  /**
   * IPv4 addresses of the interfaces to use (tests pass `["127.0.0.1"]`).
   * Default: every non-loopback IPv4 interface.
   */
  interfaces?: readonly string[];
  /** With the default interfaces, also use loopback ones. */
  loopback?: boolean;
  /** mDNS UDP port; default 5353. Only tests change it. */
  mdnsPort?: number;
}

/** The mDNS service name for a discovery key (see the module table). */
export function lanServiceName(discoveryKey: Uint8Array): string {
  if (discoveryKey.length !== DISCOVERY_KEY_BYTES) {
    throw new PigeonError("BAD_ARGUMENT", `Discovery key has ${discoveryKey.length} bytes, not 32`);
  }
  const topic = blake2b([new TextEncoder().encode(TOPIC_CONTEXT)], 32, discoveryKey);
  return `${toHex(topic.subarray(0, TOPIC_BYTES))}.${SERVICE_TYPE}`;
}

/**
 * Announces this process and looks up others for one discovery key.
 *
 * @example Announce and look up on loopback
 * ```ts ignore
 * const lan = new LanDiscovery({ discoveryKey, port: 4000, interfaces: ["127.0.0.1"] });
 * lan.onpeer = ({ host, port, via }) => console.log(`found ${host}:${port} via ${via}`);
 * await lan.start();
 * // …
 * await lan.close();
 * ```
 */
export class LanDiscovery {
  /** Called once per peer found (again if it changes port or returns after expiring). */
  onpeer: ((peer: LanPeer) => void) | null = null;
  /** Called when a peer leaves (goodbye) or its announcement expires. */
  onlost: ((peer: LanPeer) => void) | null = null;
  /** Non-fatal errors (a refused send); discovery keeps going. */
  onerror: ((err: unknown) => void) | null = null;

  readonly #mdns: MdnsService;
  readonly #name: string;

  /** Derives the name and checks options; nothing is opened until {@link start}. */
  constructor(options: LanDiscoveryOptions) {
    this.#name = lanServiceName(options.discoveryKey);
    const mdnsOptions: ConstructorParameters<typeof MdnsService>[0] = { serviceName: this.#name };
    if (options.port !== undefined) mdnsOptions.port = options.port;
    if (options.interfaces !== undefined) mdnsOptions.interfaces = options.interfaces;
    if (options.loopback !== undefined) mdnsOptions.loopback = options.loopback;
    if (options.mdnsPort !== undefined) mdnsOptions.mdnsPort = options.mdnsPort;
    this.#mdns = new MdnsService(mdnsOptions);
    this.#mdns.onpeer = (p) => this.onpeer?.(lanPeer(p));
    this.#mdns.onlost = (p) => this.onlost?.(lanPeer(p));
    this.#mdns.onerror = (err) => this.onerror?.(err);
  }

  /** The mDNS service name announced and queried. */
  get name(): string {
    return this.#name;
  }

  /** Interface addresses in use (after {@link start}). */
  get interfaces(): string[] {
    return this.#mdns.interfaces;
  }

  /** Packet counters. */
  get stats(): MdnsStats {
    return this.#mdns.stats;
  }

  /** Peers currently known. */
  peers(): LanPeer[] {
    return this.#mdns.peers().map(lanPeer);
  }

  /**
   * Joins the mDNS group on each interface, queries, and announces when a port
   * is set. Throws `PigeonError("BAD_ARGUMENT")` for an interface address this
   * machine lacks and `PigeonError("LOCKED")` when port 5353 cannot be shared.
   */
  start(): Promise<void> {
    return this.#mdns.start();
  }

  /** Announces now, optionally with a new port (say, after the listener moved). */
  announce(port?: number): void {
    this.#mdns.announce(port);
  }

  /** Asks the LAN again now (at most once a second) and restarts the query backoff. */
  lookup(): void {
    this.#mdns.lookup();
  }

  /** Sends a goodbye when announcing, then closes every socket and timer. */
  close(): Promise<void> {
    return this.#mdns.close();
  }
}

function lanPeer(p: MdnsPeer): LanPeer {
  return { host: p.host, port: p.port, via: "lan" };
}
