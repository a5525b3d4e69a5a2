/**
 * mDNS discovery on the host's loopback interface only (every socket is bound
 * to or joined on 127.0.0.1, so nothing leaves the machine): in-process
 * instances, raw packets from a test socket, and real child processes.
 *
 * Tests that count packets use a random mDNS port so that other suites running
 * at the same time on port 5353 cannot disturb the counts; the multi-process
 * test uses the real port 5353, shared with a stand-in for another responder.
 */

import assert from "node:assert/strict";
import { toHex } from "../../lib/crypto/bytes.ts";
import { isPigeonError } from "../../lib/errors.ts";
import {
  decodeMessage,
  DNS_TYPE,
  type DnsMessage,
  type DnsRecord,
  encodeMessage,
} from "../../lib/net/dns_message.ts";
import { LanDiscovery, type LanPeer, lanServiceName } from "../../lib/net/lan_discovery.ts";
import {
  ANNOUNCE_COUNT,
  MDNS_GROUP,
  MDNS_PORT,
  MdnsService,
  RECORD_TTL_S,
  RESPONSE_MIN_INTERVAL_MS,
} from "../../lib/net/mdns.ts";
import { DiscoverProcess } from "../lan/_discover_process.ts";

const LO = "127.0.0.1";
/** Bound on every wait for a discovery on loopback. */
const FIND_TIMEOUT_MS = 5000;

function randomKey(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(32));
}

/** A port in 20000…39999 for tests that must not hear other suites. */
function isolatedPort(): number {
  return 20000 + Math.floor(Math.random() * 20000);
}

/** Resolves once `cond()` holds, checking every 10 ms; rejects after `ms`. */
async function until(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > deadline) throw new Error(`Timed out after ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Collects peers reported through onpeer. */
function collect(lan: LanDiscovery): LanPeer[] {
  const found: LanPeer[] = [];
  lan.onpeer = (p) => found.push(p);
  return found;
}

/** A raw test socket on loopback: hears the group, sends from 127.0.0.1. */
class RawMdns {
  readonly port: number;
  readonly heard: { at: number; message: DnsMessage }[] = [];
  readonly #listen: Deno.DatagramConn;
  readonly #send: Deno.DatagramConn;
  readonly #loop: Promise<void>;

  constructor(port: number) {
    this.port = port;
    this.#listen = Deno.listenDatagram({
      transport: "udp",
      hostname: "0.0.0.0",
      port,
      reuseAddress: true,
    });
    this.#send = Deno.listenDatagram({ transport: "udp", hostname: LO, port: 0, loopback: true });
    this.#loop = this.#read();
  }

  async join(): Promise<void> {
    await this.#listen.joinMulticastV4(MDNS_GROUP, LO);
  }

  async #read(): Promise<void> {
    try {
      for await (const [bytes] of this.#listen) {
        try {
          this.heard.push({ at: performance.now(), message: decodeMessage(bytes) });
        } catch { /* not ours to judge */ }
      }
    } catch { /* closed */ }
  }

  async sendRaw(bytes: Uint8Array): Promise<void> {
    await this.#send.send(bytes, { transport: "udp", hostname: MDNS_GROUP, port: this.port });
  }

  /** Responses carrying a PTR to `instance`. */
  responsesFrom(instance: string): { at: number; message: DnsMessage }[] {
    return this.heard.filter((h) =>
      h.message.response &&
      h.message.answers.some((r) => r.type === "PTR" && r.target.startsWith(`${instance}.`))
    );
  }

  async close(): Promise<void> {
    this.#listen.close();
    this.#send.close();
    await this.#loop;
  }
}

function query(name: string, known: DnsRecord[] = []): Uint8Array {
  return encodeMessage({
    id: 0,
    response: false,
    authoritative: false,
    truncated: false,
    opcode: 0,
    rcode: 0,
    questions: [{ name, type: DNS_TYPE.PTR, class: 1, unicastResponse: false }],
    answers: known,
    authorities: [],
    additionals: [],
  });
}

Deno.test("lan discovery: the service name is BLAKE2b-256 keyed by the discovery key, 20 bytes in hex", () => {
  // Cross-checked with sodium-native crypto_generichash(out32, "pigeon-mdns", key).
  const key = Uint8Array.from({ length: 32 }, (_, i) => i);
  assert.equal(lanServiceName(key), "e71ba0f711d9dd493d51d8508f14d5b12c2275fa._pigeon._tcp.local");
  assert.ok(!lanServiceName(key).includes(toHex(key).slice(0, 8)));
  assert.throws(
    () => lanServiceName(new Uint8Array(31)),
    (e: unknown) => isPigeonError(e, "BAD_ARGUMENT"),
  );
});

Deno.test("lan discovery: two instances in one process find each other on loopback, never themselves", async () => {
  const key = randomKey();
  const mdnsPort = isolatedPort();
  const a = new LanDiscovery({ discoveryKey: key, port: 4101, interfaces: [LO], mdnsPort });
  const b = new LanDiscovery({ discoveryKey: key, port: 4102, interfaces: [LO], mdnsPort });
  const foundA = collect(a);
  const foundB = collect(b);
  try {
    await a.start();
    await b.start();
    await until(() => foundA.length > 0 && foundB.length > 0, FIND_TIMEOUT_MS, "mutual discovery");
    assert.deepEqual(foundA, [{ host: LO, port: 4102, via: "lan" }]);
    assert.deepEqual(foundB, [{ host: LO, port: 4101, via: "lan" }]);
    await until(() => a.stats.own > 0, FIND_TIMEOUT_MS, "a hears its own announcement");
    assert.deepEqual(a.peers(), [{ host: LO, port: 4102, via: "lan" }]);
  } finally {
    await a.close();
    await b.close();
  }
});

Deno.test("lan discovery: a port change is announced and a goodbye removes the peer", async () => {
  const key = randomKey();
  const mdnsPort = isolatedPort();
  const a = new LanDiscovery({ discoveryKey: key, port: 4201, interfaces: [LO], mdnsPort });
  const b = new LanDiscovery({ discoveryKey: key, interfaces: [LO], mdnsPort }); // looks only
  const found = collect(b);
  const lost: LanPeer[] = [];
  b.onlost = (p) => lost.push(p);
  const foundByA = collect(a);
  try {
    await a.start();
    await b.start();
    await until(() => found.length === 1, FIND_TIMEOUT_MS, "b finds a");
    a.announce(4202);
    await until(() => found.length === 2, FIND_TIMEOUT_MS, "b sees the new port");
    assert.equal(found[1]!.port, 4202);
    assert.deepEqual(b.peers(), [{ host: LO, port: 4202, via: "lan" }]);
    await a.close();
    await until(() => lost.length === 1, FIND_TIMEOUT_MS, "b hears the goodbye");
    assert.deepEqual(lost[0], { host: LO, port: 4202, via: "lan" });
    assert.deepEqual(b.peers(), []);
    assert.deepEqual(foundByA, [], "a look-only instance is never found");
  } finally {
    await a.close();
    await b.close();
  }
});

Deno.test("lan discovery: a different discovery key is heard and ignored", async () => {
  const mdnsPort = isolatedPort();
  const a = new LanDiscovery({ discoveryKey: randomKey(), port: 4301, interfaces: [LO], mdnsPort });
  const b = new LanDiscovery({ discoveryKey: randomKey(), port: 4302, interfaces: [LO], mdnsPort });
  const found = [...[a, b].map(collect)];
  try {
    await a.start();
    await b.start();
    // Each hears the other's query and both announcements, and ignores them all.
    await until(
      () => a.stats.ignored >= 3 && b.stats.ignored >= 3,
      FIND_TIMEOUT_MS,
      "foreign packets",
    );
    assert.deepEqual(found, [[], []]);
    // Only the two start announcements went out: nobody answered the other's query.
    assert.ok(a.stats.responsesSent <= ANNOUNCE_COUNT && b.stats.responsesSent <= ANNOUNCE_COUNT);
    // The only queries for their own names each heard were their own, suppressed by known answers.
    for (const s of [a.stats, b.stats]) assert.equal(s.queriesReceived, s.suppressed);
  } finally {
    await a.close();
    await b.close();
  }
});

Deno.test("mdns: malformed packets never stop the responder", async () => {
  const mdnsPort = isolatedPort();
  const raw = new RawMdns(mdnsPort);
  const svc = new MdnsService({
    serviceName: "abc._pigeon._tcp.local",
    port: 4401,
    interfaces: [LO],
    mdnsPort,
  });
  try {
    await raw.join();
    await svc.start();
    await until(() => svc.stats.responsesSent >= 2, 3000, "both start announcements");
    const header = (qd: number, an: number) => [0, 0, 0, 0, 0, qd, 0, an, 0, 0, 0, 0];
    const bad: Uint8Array[] = [
      Uint8Array.from([0, 0, 0]), // shorter than a header
      Uint8Array.from([...header(1, 0), 3, 97, 98]), // truncated question
      Uint8Array.from([...header(1, 0), 0xc0, 12, 0, 12, 0, 1]), // pointer to itself
      Uint8Array.from([0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0]), // huge counts
      crypto.getRandomValues(new Uint8Array(200)).fill(0xc0, 0, 12), // garbage
      new Uint8Array(9500), // over RFC 6762's 9000-byte cap
    ];
    for (const b of bad) await raw.sendRaw(b);
    await until(() => svc.stats.malformed === bad.length, 3000, "all malformed packets counted");
    const before = raw.responsesFrom(svc.instance).length;
    await raw.sendRaw(query("abc._pigeon._tcp.local"));
    await until(
      () => raw.responsesFrom(svc.instance).length > before,
      3000,
      "a response after the junk",
    );
    assert.equal(svc.stats.malformed, bad.length);
  } finally {
    await svc.close();
    await raw.close();
  }
});

Deno.test("mdns: a flood of queries is answered at most once per second; other names and known answers get none", async () => {
  const mdnsPort = isolatedPort();
  const raw = new RawMdns(mdnsPort);
  const name = "flood._pigeon._tcp.local";
  const svc = new MdnsService({ serviceName: name, port: 4501, interfaces: [LO], mdnsPort });
  try {
    await raw.join();
    await svc.start();
    await until(() => svc.stats.responsesSent >= 2, 3000, "both start announcements");
    const baseline = raw.responsesFrom(svc.instance).length;

    // Our own record listed as a known answer suppresses the answer (RFC 6762 §7.1); a
    // query for another name is ignored. Packets on one socket are read in order, so once the
    // other-name query is counted, the known-answer queries before it were handled.
    const known: DnsRecord = {
      type: "PTR",
      name,
      class: 1,
      cacheFlush: false,
      ttl: RECORD_TTL_S,
      target: `${svc.instance}.${name}`,
    };
    const { suppressed: suppressed0, ignored: ignored0 } = svc.stats;
    for (let i = 0; i < 5; i++) await raw.sendRaw(query(name, [known]));
    await raw.sendRaw(query("other._pigeon._tcp.local"));
    await until(() => svc.stats.ignored > ignored0, 3000, "the other-name query");
    // Our own periodic query (which lists our record too) adds at most one.
    assert.ok(
      svc.stats.suppressed - suppressed0 >= 5,
      `suppressed ${svc.stats.suppressed - suppressed0}`,
    );

    const FLOOD_MS = 3000;
    const start = performance.now();
    let sent = 0;
    while (performance.now() - start < FLOOD_MS) {
      await raw.sendRaw(query(name));
      sent++;
      await new Promise((r) => setTimeout(r, 5));
    }
    const end = performance.now();
    await until(() => svc.stats.queriesReceived >= sent * 0.9 + 1, 3000, "queries received");
    // Let the last pending response (if any) arrive: at most one window later.
    await until(
      () =>
        raw.responsesFrom(svc.instance).some((h) => h.at > end) || performance.now() > end + 1500,
      3000,
      "the trailing response window",
    );
    const responses = raw.responsesFrom(svc.instance).slice(baseline).map((h) => h.at);
    const inWindow = responses.filter((t) => t >= start);
    assert.ok(sent > 200, `sent ${sent} queries`);
    assert.ok(inWindow.length >= 2, `${inWindow.length} responses`);
    assert.ok(
      inWindow.length <= Math.ceil(FLOOD_MS / RESPONSE_MIN_INTERVAL_MS) + 1,
      `${inWindow.length} responses`,
    );
    for (let i = 1; i < responses.length; i++) {
      assert.ok(
        responses[i]! - responses[i - 1]! > RESPONSE_MIN_INTERVAL_MS - 50,
        "responses a second apart",
      );
    }
    console.log(`${sent} queries in ${FLOOD_MS} ms → ${inWindow.length} responses`);
  } finally {
    await svc.close();
    await raw.close();
  }
});

Deno.test("mdns: a peer expires when its TTL runs out; a response without SRV is ignored", async () => {
  const mdnsPort = isolatedPort();
  const raw = new RawMdns(mdnsPort);
  const name = "exp._pigeon._tcp.local";
  const svc = new MdnsService({ serviceName: name, interfaces: [LO], mdnsPort }); // looks only
  const found: { at: number; port: number }[] = [];
  const lost: { at: number; port: number }[] = [];
  svc.onpeer = (p) => found.push({ at: performance.now(), port: p.port });
  svc.onlost = (p) => lost.push({ at: performance.now(), port: p.port });
  const response = (instance: string, ttl: number, withSrv: boolean) =>
    encodeMessage({
      id: 0,
      response: true,
      authoritative: true,
      truncated: false,
      opcode: 0,
      rcode: 0,
      questions: [],
      answers: [{
        type: "PTR",
        name,
        class: 1,
        cacheFlush: false,
        ttl,
        target: `${instance}.${name}`,
      }],
      authorities: [],
      additionals: withSrv
        ? [{
          type: "SRV",
          name: `${instance}.${name}`,
          class: 1,
          cacheFlush: true,
          ttl,
          priority: 0,
          weight: 0,
          port: 4700,
          target: `${instance}.local`,
        }]
        : [],
    });
  try {
    await raw.join();
    await svc.start();
    await raw.sendRaw(response("00000000000000aa", 1, false));
    await raw.sendRaw(response("00000000000000bb", 1, true));
    await until(() => found.length === 1, 3000, "the peer with an SRV record");
    assert.equal(found[0]!.port, 4700);
    await until(() => lost.length === 1, 3000, "expiry after 1 s");
    const lived = lost[0]!.at - found[0]!.at;
    assert.ok(lived >= 950 && lived < 2000, `expired after ${lived} ms`);
    assert.deepEqual(svc.peers(), []);
    assert.equal(found.length, 1, "the SRV-less response found nobody");
  } finally {
    await svc.close();
    await raw.close();
  }
});

Deno.test("mdns: start() rejects an address this machine does not have and a second start", async () => {
  const svc = new MdnsService({ serviceName: "x._pigeon._tcp.local", interfaces: ["192.0.2.77"] });
  await assert.rejects(svc.start(), (e: unknown) => isPigeonError(e, "BAD_ARGUMENT"));
  await svc.close();
  const ok = new MdnsService({
    serviceName: "x._pigeon._tcp.local",
    interfaces: [LO],
    mdnsPort: isolatedPort(),
  });
  await ok.start();
  try {
    await assert.rejects(ok.start(), (e: unknown) => isPigeonError(e, "BAD_ARGUMENT"));
  } finally {
    await ok.close();
  }
  assert.throws(
    () => new MdnsService({ serviceName: "x.local", port: 70000 }),
    (e: unknown) => isPigeonError(e, "BAD_ARGUMENT"),
  );
});

Deno.test({
  name: "lan discovery: three processes on one host share port 5353 and each finds the other two",
  async fn() {
    const key = toHex(randomKey());
    // A stand-in for another mDNS responder already holding 5353 with address reuse.
    const other = Deno.listenDatagram({
      transport: "udp",
      hostname: "0.0.0.0",
      port: MDNS_PORT,
      reuseAddress: true,
    });
    const ports = [4601, 4602, 4603];
    const children: DiscoverProcess[] = [];
    try {
      for (const port of ports) {
        children.push(DiscoverProcess.spawn({ key, port, interfaces: [LO], maxMs: 30_000 }));
      }
      for (const [i, child] of children.entries()) {
        for (const port of ports.filter((p) => p !== ports[i])) {
          await child.waitFor(
            (e) => e.event === "peer" && e.port === port,
            15_000,
            `child ${i} finds ${port}`,
          );
        }
      }
      for (const [i, child] of children.entries()) {
        const peers = child.all("peer");
        assert.equal(peers.length, 2, `child ${i}: ${JSON.stringify(peers)}`);
        for (const p of peers) assert.equal(p.host, LO);
        for (const p of peers) assert.equal(p.via, "lan");
      }
      const firsts = children.map((c) => Math.min(...c.all("peer").map((e) => e.ms as number)));
      console.log(`time to first discovery (ms since start): ${firsts.join(", ")}`);
    } finally {
      const statuses = await Promise.all(children.map((c) => c.stop()));
      other.close();
      for (const s of statuses) assert.equal(s.code, 0);
    }
    for (const child of children) {
      const stats = child.all("closed")[0]?.stats as { own: number; malformed: number };
      assert.ok(stats.own > 0, "each child heard and ignored its own announcements");
    }
  },
});
