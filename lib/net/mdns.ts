/**
 * Multicast DNS (RFC 6762) for one service name: sockets, announcements,
 * queries, responses with rate limits, and the table of peers found.
 *
 * What goes on the wire (records built by {@link MdnsService}, names from
 * `lan_discovery.ts`; `S` = the service name, `I` = this instance's label):
 *
 * | when              | section    | record                                               |
 * |-------------------|------------|------------------------------------------------------|
 * | query             | question   | `S PTR IN` (QU bit clear)                            |
 * | query             | answer     | known answers: `S PTR I'.S` for peers whose TTL is more than half left, and our own `S PTR I.S` (RFC 6762 §7.1) |
 * | response/announce | answer     | `S PTR I.S` TTL {@link RECORD_TTL_S} (shared)        |
 * | response/announce | additional | `I.S SRV 0 0 <port> I.local` (cache-flush)           |
 * | response/announce | additional | `I.S TXT "v=1"` (cache-flush; RFC 6763 §6 wants one) |
 * | response/announce | additional | `I.local A <address of the sending interface>` (cache-flush) |
 * | goodbye (close)   | answer     | `S PTR I.S` and `I.S SRV …` with TTL 0 (RFC 6762 §10.1) |
 *
 * A peer is found from a response whose answer is `S PTR X.S` (X not our own
 * label) and whose SRV for `X.S` gives the port; its host is the source
 * address of the datagram (an address on the link it came from), not the A
 * record. A response with TTL 0 removes the peer; otherwise it expires when
 * its TTL runs out without a refresh.
 *
 * Sockets (Deno.listenDatagram, `--unstable-net`): one receiver bound to
 * `0.0.0.0:5353` with address reuse (SO_REUSEADDR, so other responders and
 * other pigeon processes share the port), joined to 224.0.0.251 on each chosen
 * interface address; one sender per interface, bound to that interface's
 * address (port 5353 with reuse, else any port) with multicast loopback on.
 * Binding the sender to the interface address is what keeps multicast on that
 * interface: Deno has no IP_MULTICAST_IF, and a sender bound to 0.0.0.0 would
 * follow the default route. The multicast TTL stays at the kernel default of 1
 * (Deno sets TTL only through a membership); 224.0.0.251 is link-local anyway.
 * Packets whose source is not on a chosen interface's subnet are dropped, so a
 * membership some other program holds on another interface changes nothing.
 *
 * Rates (all named below): a query at start, then after 1 s, 2 s, 4 s … every
 * 60 s at most; {@link MdnsService.lookup} restarts that backoff but never
 * queries more often than once a second. A response per interface at most once
 * a second (queries in between are answered together, 20–120 ms after the
 * first, RFC 6762 §6). Announcements: two, a second apart, on start and on
 * each port change.
 *
 * Deviation from RFC 6762: no probing or conflict resolution (instance labels
 * are 64 random bits), responses from a source port other than 5353 are
 * accepted (our sender falls back to an ephemeral port when 5353 cannot be
 * shared), and the TTL is 1, not 255.
 *
 * @module
 */

import { PigeonError } from "../errors.ts";
import {
  CLASS_IN,
  decodeMessage,
  DNS_TYPE,
  type DnsMessage,
  type DnsRecord,
  encodeMessage,
  MAX_MESSAGE_BYTES,
  nameEquals,
  nameLabels,
} from "./dns_message.ts";
import {
  bindSender,
  bindUdp,
  chooseInterfaces,
  type MdnsInterface,
  onSubnet,
} from "./mdns_interfaces.ts";
import { type MdnsPeer, PeerTable } from "./mdns_peer_table.ts";

export { MAX_PEER_TTL_S, MAX_PEERS, type MdnsPeer } from "./mdns_peer_table.ts";

/** The mDNS IPv4 group (RFC 6762 §3). */
export const MDNS_GROUP = "224.0.0.251";
/** The mDNS port (RFC 6762 §3). */
export const MDNS_PORT = 5353;
/** First gap between repeated queries; it doubles each time. */
export const QUERY_BACKOFF_START_MS = 1000;
/** Largest gap between repeated queries (keeps peers refreshed within {@link RECORD_TTL_S}). */
export const QUERY_BACKOFF_MAX_MS = 60_000;
/** {@link MdnsService.lookup} never queries more often than this. */
export const MIN_QUERY_INTERVAL_MS = 1000;
/** At most one response per interface in this window, however many queries arrive. */
export const RESPONSE_MIN_INTERVAL_MS = 1000;
/** A response waits a random 20…120 ms so that many responders do not collide (RFC 6762 §6). */
export const RESPONSE_DELAY_MIN_MS = 20;
/** Upper end of the response delay. */
export const RESPONSE_DELAY_MAX_MS = 120;
/** Unsolicited announcements sent on start and on a port change (RFC 6762 §8.3). */
export const ANNOUNCE_COUNT = 2;
/** Gap between those announcements. */
export const ANNOUNCE_INTERVAL_MS = 1000;
/** TTL of the records we send (RFC 6762 §10: 120 s for records naming a host). */
export const RECORD_TTL_S = 120;
/** Most known answers put in one query. */
export const MAX_KNOWN_ANSWERS = 32;
/** Bytes of random instance label. */
const INSTANCE_BYTES = 8;
type Timer = ReturnType<typeof setTimeout>;
const TXT_VERSION = new TextEncoder().encode("v=1");

/** Counters, for tests and status output. */
export interface MdnsStats {
  /** Datagrams read. */
  received: number;
  /** Datagrams that did not decode (or were too large). */
  malformed: number;
  /** Datagrams from off-subnet sources, other services, or other opcodes. */
  ignored: number;
  /** Our own announcements heard back. */
  own: number;
  /** Queries for our service received. */
  queriesReceived: number;
  /** Queries not answered because they listed our record as known (our own queries do). */
  suppressed: number;
  /** Queries sent (one per interface each time). */
  queriesSent: number;
  /** Responses and announcements sent (one per interface each time). */
  responsesSent: number;
  /** Sends the operating system refused. */
  sendErrors: number;
}

/** Options for {@link MdnsService}. */
export interface MdnsOptions {
  /** The service name queried and announced, e.g. `<topic>._pigeon._tcp.local`. */
  serviceName: string;
  /** The TCP port to announce; without it the service only queries. */
  port?: number;
  /**
   * IPv4 addresses of the interfaces to use. Default: every non-loopback IPv4
   * interface from `Deno.networkInterfaces()` (plus loopback with `loopback`).
   */
  interfaces?: readonly string[];
  /** With the default interfaces, also use loopback ones. */
  loopback?: boolean;
  /** The UDP port, default {@link MDNS_PORT} (tests may isolate themselves). */
  mdnsPort?: number;
  /** The group, default {@link MDNS_GROUP}. */
  group?: string;
}

/** One chosen interface, its sender and its response rate state. */
interface Iface extends MdnsInterface {
  sender: Deno.DatagramConn | null;
  lastResponseAt: number;
  responseTimer: Timer | undefined;
}

/**
 * Announces and looks up one service name over multicast DNS.
 *
 * @example Find peers on the loopback interface
 * ```ts ignore
 * const mdns = new MdnsService({ serviceName: "x._pigeon._tcp.local", port: 4000, interfaces: ["127.0.0.1"] });
 * mdns.onpeer = (peer) => console.log(peer.host, peer.port);
 * await mdns.start();
 * await mdns.close();
 * ```
 */
export class MdnsService {
  /** Called when a peer appears, changes port, or comes back after expiring. */
  onpeer: ((peer: MdnsPeer) => void) | null = null;
  /** Called when a peer says goodbye or expires. */
  onlost: ((peer: MdnsPeer) => void) | null = null;
  /** Called with errors that do not stop the service (a refused send). */
  onerror: ((err: unknown) => void) | null = null;

  readonly #serviceName: string;
  readonly #serviceLabels: number;
  readonly #instance: string;
  readonly #options: MdnsOptions;
  readonly #mdnsPort: number;
  readonly #group: string;
  #port: number | undefined;
  #ifaces: Iface[] = [];
  #receiver: Deno.DatagramConn | null = null;
  #receiveLoop: Promise<void> | null = null;
  #state: "new" | "started" | "closed" = "new";
  readonly #peers: PeerTable;
  #sends = new Set<Promise<void>>();
  #queryTimer: Timer | undefined;
  #queryGap = QUERY_BACKOFF_START_MS;
  #lastQueryAt = -Infinity;
  #announceTimer: Timer | undefined;
  #stats: MdnsStats = {
    received: 0,
    malformed: 0,
    ignored: 0,
    own: 0,
    queriesReceived: 0,
    suppressed: 0,
    queriesSent: 0,
    responsesSent: 0,
    sendErrors: 0,
  };

  /** Checks the options; nothing is opened until {@link start}. */
  constructor(options: MdnsOptions) {
    const labels = nameLabels(options.serviceName);
    if (labels.length < 2) {
      throw new PigeonError("BAD_ARGUMENT", `Bad service name ${options.serviceName}`);
    }
    if (options.port !== undefined) checkPort(options.port);
    this.#serviceName = options.serviceName;
    this.#serviceLabels = labels.length;
    this.#options = options;
    this.#port = options.port;
    this.#mdnsPort = options.mdnsPort ?? MDNS_PORT;
    this.#group = options.group ?? MDNS_GROUP;
    this.#peers = new PeerTable(
      (peer) => this.#call(this.onpeer, peer),
      (peer) => this.#call(this.onlost, peer),
    );
    const id = new Uint8Array(INSTANCE_BYTES);
    crypto.getRandomValues(id);
    this.#instance = Array.from(id, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  /** This process's instance label (its own announcements carry it and are ignored). */
  get instance(): string {
    return this.#instance;
  }

  /** The interface addresses in use (after {@link start}). */
  get interfaces(): string[] {
    return this.#ifaces.map((i) => i.address);
  }

  /** A copy of the counters. */
  get stats(): MdnsStats {
    return { ...this.#stats };
  }

  /** The peers currently known. */
  peers(): MdnsPeer[] {
    return this.#peers.peers();
  }

  /**
   * Opens the sockets, joins the group on each interface, then queries and
   * (with a port) announces. Throws `PigeonError("BAD_ARGUMENT")` for an
   * interface address this machine does not have, `PigeonError("LOCKED")` when
   * another program holds the mDNS port without address reuse.
   */
  async start(): Promise<void> {
    if (this.#state !== "new") {
      throw new PigeonError("BAD_ARGUMENT", "MdnsService.start() called twice");
    }
    this.#state = "started";
    try {
      this.#ifaces = chooseInterfaces(this.#options).map((i) => ({
        ...i,
        sender: null,
        lastResponseAt: -Infinity,
        responseTimer: undefined,
      }));
      if (this.#ifaces.length === 0) return; // no network: nothing to do, nothing to fail
      this.#receiver = bindUdp("0.0.0.0", this.#mdnsPort, false);
      for (const iface of this.#ifaces) {
        await this.#receiver.joinMulticastV4(this.#group, iface.address);
        iface.sender = bindSender(iface.address, this.#mdnsPort);
      }
    } catch (err) {
      this.#closeSockets();
      this.#state = "closed";
      throw err;
    }
    this.#receiveLoop = this.#receive(this.#receiver);
    this.#query();
    if (this.#port !== undefined) this.#announceSeries(ANNOUNCE_COUNT);
  }

  /**
   * Announces now (twice, a second apart), with a new port when given. Before
   * {@link start} it only records the port.
   */
  announce(port?: number): void {
    if (port !== undefined) this.#port = checkPort(port);
    if (this.#port === undefined) throw new PigeonError("BAD_ARGUMENT", "No port to announce");
    if (this.#state === "started") this.#announceSeries(ANNOUNCE_COUNT);
  }

  /** Queries now (or as soon as a second has passed since the last query) and restarts the backoff. */
  lookup(): void {
    if (this.#state !== "started") return;
    this.#queryGap = QUERY_BACKOFF_START_MS;
    const wait = this.#lastQueryAt + MIN_QUERY_INTERVAL_MS - performance.now();
    if (wait <= 0) return this.#query();
    clearTimeout(this.#queryTimer);
    this.#queryTimer = setTimeout(() => this.#query(), wait);
  }

  /** Says goodbye (when announcing), stops every timer and closes the sockets. */
  async close(): Promise<void> {
    if (this.#state === "closed") return;
    const wasStarted = this.#state === "started";
    this.#state = "closed";
    clearTimeout(this.#queryTimer);
    clearTimeout(this.#announceTimer);
    for (const iface of this.#ifaces) clearTimeout(iface.responseTimer);
    if (wasStarted && this.#port !== undefined) {
      for (const iface of this.#ifaces) this.#send(iface, this.#responseMessage(iface, 0));
    }
    while (this.#sends.size > 0) await Promise.allSettled([...this.#sends]);
    this.#closeSockets();
    await this.#receiveLoop;
    this.#peers.close();
  }

  #closeSockets(): void {
    for (const iface of this.#ifaces) {
      try {
        iface.sender?.close();
      } catch { /* already closed */ }
      iface.sender = null;
    }
    try {
      this.#receiver?.close();
    } catch { /* already closed */ }
  }

  async #receive(socket: Deno.DatagramConn): Promise<void> {
    const buffer = new Uint8Array(MAX_MESSAGE_BYTES + 1);
    while (this.#state === "started") {
      let packet: [Uint8Array, Deno.Addr];
      try {
        packet = await socket.receive(buffer);
      } catch (err) {
        // Closing rejects the pending receive; any other failure stops the loop once, reported.
        if (this.#state === "started") this.#report(err);
        return;
      }
      this.#handle(packet[0], packet[1]);
    }
  }

  #handle(bytes: Uint8Array, from: Deno.Addr): void {
    this.#stats.received++;
    if (from.transport !== "udp") return;
    const iface = this.#ifaceFor(from.hostname);
    if (iface === undefined) {
      this.#stats.ignored++;
      return;
    }
    let message: DnsMessage;
    try {
      if (bytes.length > MAX_MESSAGE_BYTES) {
        throw new PigeonError("DECODE_ERROR", "Oversized packet");
      }
      message = decodeMessage(bytes);
    } catch {
      this.#stats.malformed++;
      return;
    }
    if (message.opcode !== 0 || message.rcode !== 0) {
      this.#stats.ignored++;
    } else if (message.response) {
      this.#handleResponse(message, from.hostname);
    } else {
      this.#handleQuery(message, iface);
    }
  }

  #handleQuery(message: DnsMessage, iface: Iface): void {
    const asked = message.questions.some((q) =>
      (q.type === DNS_TYPE.PTR || q.type === DNS_TYPE.ANY) &&
      (q.class === CLASS_IN || q.class === DNS_TYPE.ANY) && nameEquals(q.name, this.#serviceName)
    );
    if (!asked) {
      this.#stats.ignored++;
      return;
    }
    this.#stats.queriesReceived++;
    if (this.#port === undefined) return;
    const own = this.#instanceName(this.#instance);
    const known = message.answers.some((r) =>
      r.type === "PTR" && nameEquals(r.name, this.#serviceName) && nameEquals(r.target, own) &&
      r.ttl > RECORD_TTL_S / 2
    );
    if (known) {
      this.#stats.suppressed++;
      return;
    }
    this.#scheduleResponse(iface);
  }

  #handleResponse(message: DnsMessage, host: string): void {
    const records = [...message.answers, ...message.additionals];
    let relevant = false;
    for (const ptr of records) {
      if (ptr.type !== "PTR" || !nameEquals(ptr.name, this.#serviceName)) continue;
      const labels = nameLabels(ptr.target);
      if (labels.length !== this.#serviceLabels + 1) continue;
      if (!nameEquals(this.#instanceName(labels[0]!), ptr.target)) continue;
      relevant = true;
      const instance = labels[0]!.toLowerCase();
      if (instance === this.#instance) {
        this.#stats.own++;
        continue;
      }
      const srv = records.find((r): r is DnsRecord & { type: "SRV" } =>
        r.type === "SRV" && nameEquals(r.name, ptr.target)
      );
      if (srv === undefined) continue;
      const goodbye = ptr.ttl === 0 || srv.ttl === 0 || srv.port === 0;
      this.#peers.update({ host, port: srv.port, instance }, goodbye ? 0 : ptr.ttl);
    }
    if (!relevant) this.#stats.ignored++;
  }

  #scheduleResponse(iface: Iface): void {
    if (iface.responseTimer !== undefined) return; // one already pending answers this query too
    const now = performance.now();
    const jitter = RESPONSE_DELAY_MIN_MS +
      Math.random() * (RESPONSE_DELAY_MAX_MS - RESPONSE_DELAY_MIN_MS);
    const at = Math.max(now + jitter, iface.lastResponseAt + RESPONSE_MIN_INTERVAL_MS);
    iface.responseTimer = setTimeout(() => {
      iface.responseTimer = undefined;
      this.#respond(iface);
    }, at - now);
  }

  #respond(iface: Iface): void {
    if (this.#state !== "started" || this.#port === undefined) return;
    iface.lastResponseAt = performance.now();
    this.#send(iface, this.#responseMessage(iface, RECORD_TTL_S));
  }

  #announceSeries(remaining: number): void {
    clearTimeout(this.#announceTimer);
    this.#announceTimer = undefined;
    if (remaining <= 0 || this.#state !== "started") return;
    for (const iface of this.#ifaces) this.#respond(iface);
    this.#announceTimer = setTimeout(
      () => this.#announceSeries(remaining - 1),
      ANNOUNCE_INTERVAL_MS,
    );
  }

  #query(): void {
    clearTimeout(this.#queryTimer);
    if (this.#state !== "started") return;
    this.#lastQueryAt = performance.now();
    for (const iface of this.#ifaces) {
      this.#stats.queriesSent++;
      this.#send(iface, this.#queryMessage(iface), true);
    }
    const gap = this.#queryGap;
    this.#queryGap = Math.min(gap * 2, QUERY_BACKOFF_MAX_MS);
    this.#queryTimer = setTimeout(() => this.#query(), gap);
  }

  #queryMessage(iface: Iface): DnsMessage {
    const answers: DnsRecord[] = [];
    if (this.#port !== undefined) answers.push(this.#ptr(this.#instance, RECORD_TTL_S));
    for (const k of this.#peers.known()) {
      if (answers.length >= MAX_KNOWN_ANSWERS) break;
      if (k.leftMs <= k.ttlMs / 2 || !onSubnet(iface, k.peer.host)) continue;
      answers.push(this.#ptr(k.peer.instance, Math.floor(k.leftMs / 1000)));
    }
    return {
      ...EMPTY_MESSAGE,
      questions: [{
        name: this.#serviceName,
        type: DNS_TYPE.PTR,
        class: CLASS_IN,
        unicastResponse: false,
      }],
      answers,
    };
  }

  #responseMessage(iface: Iface, ttl: number): DnsMessage {
    const target = this.#instanceName(this.#instance);
    const host = `${this.#instance}.local`;
    const base = { class: CLASS_IN, cacheFlush: true, ttl };
    return {
      ...EMPTY_MESSAGE,
      response: true,
      authoritative: true,
      answers: [this.#ptr(this.#instance, ttl)],
      additionals: [
        {
          ...base,
          type: "SRV",
          name: target,
          priority: 0,
          weight: 0,
          port: this.#port!,
          target: host,
        },
        { ...base, type: "TXT", name: target, strings: [TXT_VERSION] },
        { ...base, type: "A", name: host, address: iface.address },
      ],
    };
  }

  #ptr(instance: string, ttl: number): DnsRecord {
    return {
      type: "PTR",
      name: this.#serviceName,
      class: CLASS_IN,
      cacheFlush: false,
      ttl,
      target: this.#instanceName(instance),
    };
  }

  #instanceName(instance: string): string {
    return `${instance}.${this.#serviceName}`;
  }

  #send(iface: Iface, message: DnsMessage, isQuery = false): void {
    const sender = iface.sender;
    if (sender === null) return;
    if (!isQuery) this.#stats.responsesSent++;
    const bytes = encodeMessage(message);
    const sending = sender.send(bytes, {
      transport: "udp",
      hostname: this.#group,
      port: this.#mdnsPort,
    })
      .then(() => {}, (err) => {
        this.#stats.sendErrors++;
        this.#report(err);
      });
    this.#sends.add(sending);
    sending.finally(() => this.#sends.delete(sending));
  }

  #ifaceFor(host: string): Iface | undefined {
    return this.#ifaces.find((i) => onSubnet(i, host));
  }

  #call(fn: ((peer: MdnsPeer) => void) | null, peer: MdnsPeer): void {
    try {
      fn?.({ ...peer });
    } catch (err) {
      this.#report(err);
    }
  }

  #report(err: unknown): void {
    try {
      this.onerror?.(err);
    } catch { /* a failing error handler must not stop the service */ }
  }
}

const EMPTY_MESSAGE: DnsMessage = {
  id: 0,
  response: false,
  authoritative: false,
  truncated: false,
  opcode: 0,
  rcode: 0,
  questions: [],
  answers: [],
  authorities: [],
  additionals: [],
};

function checkPort(port: number): number {
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new PigeonError("BAD_ARGUMENT", `Bad port ${port}`);
  }
  return port;
}
