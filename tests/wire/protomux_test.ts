import assert from "node:assert/strict";
import { type Channel, MAX_BUFFERED_BYTES, Protomux } from "../../lib/wire/protomux.ts";
import * as m from "../../lib/wire/messages.ts";
import { encodeMuxFrame } from "../../lib/wire/protomux_frames.ts";
import { raw, string } from "../../lib/encoding/compact.ts";
import { fromHex, toHex } from "../../lib/crypto/bytes.ts";
import { isPigeonError } from "../../lib/errors.ts";
import { SecretStream } from "../../lib/wire/secret_stream.ts";
import {
  fixture,
  memoryMessagePair,
  type MemoryMessageStream,
  memoryPair,
  withTimeout,
} from "./_util.ts";

const frames = fixture<{ protomuxFrames: Record<string, { hex: string[] }> }>(
  "wire-messages.json",
).protomuxFrames;
const WAIT_MS = 5000;
const DKEY = fromHex("dd".repeat(32));

interface Hypercore {
  channel: Channel<m.Handshake>;
  sync: ReturnType<Channel<m.Handshake>["addMessage"]>;
  request: ReturnType<Channel<m.Handshake>["addMessage"]>;
  got: { type: string; message: unknown }[];
}

/** A hypercore/alpha channel with the sync and request messages registered. */
function hypercoreChannel(mux: Protomux, events: string[] = []): Hypercore {
  const got: Hypercore["got"] = [];
  const channel = mux.createChannel<m.Handshake>({
    protocol: m.HYPERCORE_PROTOCOL,
    id: DKEY,
    handshake: m.handshake,
    onopen: (hs) => void events.push(`open ${toHex(hs!.capability).slice(0, 4)}`),
    onclose: (isRemote) => void events.push(`close ${isRemote ? "remote" : "local"}`),
  })!;
  const sync = channel.addMessage({
    encoding: m.sync,
    onmessage: (message) => void got.push({ type: "sync", message }),
  });
  const request = channel.addMessage({
    encoding: m.request,
    onmessage: (message) => void got.push({ type: "request", message }),
  });
  return { channel, sync, request, got } as unknown as Hypercore;
}

const SYNC: m.Sync = {
  fork: 0,
  length: 5,
  remoteLength: 0,
  canUpgrade: true,
  uploading: true,
  downloading: true,
  hasManifest: true,
  allowPush: false,
};

/** Polls `check` every millisecond until it holds (bounded by WAIT_MS). */
async function until(check: () => boolean, what: string): Promise<void> {
  let stop = false;
  try {
    await withTimeout(
      (async () => {
        while (!stop && !check()) await new Promise((r) => setTimeout(r, 1));
      })(),
      WAIT_MS,
      what,
    );
  } finally {
    stop = true;
  }
}

function hexes(stream: MemoryMessageStream): string[] {
  return stream.written.map(toHex);
}

Deno.test("protomux: opens a hypercore channel with the captured open frame and exchanges messages", async () => {
  const [sa, sb] = memoryMessagePair();
  const a = new Protomux(sa);
  const b = new Protomux(sb);
  const eventsA: string[] = [];
  const eventsB: string[] = [];
  const ca = hypercoreChannel(a, eventsA);
  const cb = hypercoreChannel(b, eventsB);
  ca.channel.open({ seeks: true, capability: fromHex("aa".repeat(32)) });
  cb.channel.open({ seeks: true, capability: fromHex("bb".repeat(32)) });
  assert.deepEqual(hexes(sa), frames.openFromA!.hex);
  assert.deepEqual(hexes(sb), frames.openFromB!.hex);
  assert.equal(await withTimeout(ca.channel.fullyOpened(), WAIT_MS, "a open"), true);
  assert.equal(await withTimeout(cb.channel.fullyOpened(), WAIT_MS, "b open"), true);
  assert.deepEqual(eventsA, ["open bbbb"]);
  assert.deepEqual(eventsB, ["open aaaa"]);
  assert.deepEqual(toHex(cb.channel.handshake!.capability), "aa".repeat(32));
  assert.equal(a.opened(m.HYPERCORE_PROTOCOL, DKEY), true);

  // A single message is `channel · type · payload` with the sender's local id.
  ca.sync.send(SYNC);
  assert.equal(hexes(sa).at(-1), frames.singleMessage!.hex[0]);
  await until(() => cb.got.length === 1, "sync at b");
  assert.deepEqual(cb.got[0], { type: "sync", message: SYNC });

  // Corked: sync and request go out as the captured batch.
  ca.channel.cork();
  ca.sync.send(SYNC);
  const req: m.Request = {
    id: 1,
    fork: 0,
    block: { index: 2, nodes: 0 },
    hash: null,
    seek: null,
    upgrade: null,
    manifest: false,
    priority: 0,
  };
  ca.request.send(req);
  ca.channel.uncork();
  assert.equal(hexes(sa).at(-1), frames.corkedBatch!.hex[0]);
  await until(() => cb.got.length === 3, "batch at b");
  assert.deepEqual(cb.got.slice(1), [{ type: "sync", message: SYNC }, {
    type: "request",
    message: req,
  }]);

  // A message and a close in one batch, as captured.
  cb.channel.cork();
  cb.request.send({ ...req, id: 2, block: { index: 3, nodes: 0 } });
  cb.channel.close();
  cb.channel.uncork();
  assert.equal(hexes(sb).at(-1), frames.batchWithMessageAndClose!.hex[0]);
  await until(() => eventsA.length === 2, "close at a");
  assert.deepEqual(eventsA, ["open bbbb", "close remote"]);
  assert.equal(ca.got.at(-1)?.type, "request");
  assert.deepEqual(eventsB, ["open aaaa", "close local"]);
  assert.equal(a.isIdle(), true);
  assert.equal(b.isIdle(), true);
  sa.destroy();
});

Deno.test("protomux: an unpaired open is rejected with the opener's id", async () => {
  const [sa, sb] = memoryMessagePair();
  const a = new Protomux(sa);
  new Protomux(sb);
  const events: string[] = [];
  const first = hypercoreChannel(a);
  first.channel.open({ seeks: true, capability: new Uint8Array(32) });
  const other = a.createChannel({
    protocol: "other",
    onclose: (isRemote) => void events.push(`close ${isRemote}`),
  })!;
  other.open();
  assert.equal(hexes(sa).at(-1), frames.openSecondChannel!.hex[0]);
  assert.equal(await withTimeout(other.fullyOpened(), WAIT_MS, "reject"), false);
  assert.ok(hexes(sb).includes(frames.rejectFromB!.hex[0]!));
  assert.deepEqual(events, ["close true"]);
  // The rejected id is free again.
  const again = a.createChannel({ protocol: "again" })!;
  again.open();
  assert.equal(again.localId, 2);
  sa.destroy();
});

Deno.test("protomux: a pair handler accepts late and buffered messages arrive in order", async () => {
  const [sa, sb] = memoryMessagePair();
  const a = new Protomux(sa);
  const b = new Protomux(sb);
  const ca = hypercoreChannel(a);
  ca.channel.open({ seeks: true, capability: new Uint8Array(32) });
  for (let i = 0; i < 5; i++) ca.sync.send({ ...SYNC, length: i });
  const accept = Promise.withResolvers<void>();
  let cb: Hypercore | null = null;
  const events: string[] = [];
  b.pair(m.HYPERCORE_PROTOCOL, null, async (id) => {
    assert.equal(toHex(id!), toHex(DKEY));
    await accept.promise; // e.g. opening the core from storage
    cb = hypercoreChannel(b, events);
    cb.channel.open({ seeks: true, capability: new Uint8Array(32) });
  });
  await until(() => sb.delivered === 6, "open and 5 syncs delivered to b");
  assert.equal(cb, null);
  accept.resolve();
  await until(() => cb !== null && cb.got.length === 5, "buffered syncs");
  assert.deepEqual(cb!.got.map((g) => (g.message as m.Sync).length), [0, 1, 2, 3, 4]);
  assert.deepEqual(events, ["open 0000"]); // onopen ran before the buffered messages
  assert.equal(await ca.channel.fullyOpened(), true);
  sa.destroy();
});

Deno.test("protomux: buffered bytes above the limit pause the stream until accepted", async () => {
  const [sa, sb] = memoryMessagePair();
  const a = new Protomux(sa);
  const b = new Protomux(sb);
  const ch = a.createChannel({ protocol: "bulk" })!;
  const data = ch.addMessage({ encoding: raw });
  ch.open();
  const count = 60;
  for (let i = 0; i < count; i++) data.send(new Uint8Array(1024).fill(i));
  const accept = Promise.withResolvers<void>();
  const got: number[] = [];
  b.pair("bulk", null, async () => {
    await accept.promise;
    const c = b.createChannel({ protocol: "bulk" })!;
    c.addMessage({ encoding: raw, onmessage: (msg) => void got.push(msg[0]!) });
    c.open();
  });
  const perMessage = 512 + 1024;
  const limit = Math.floor(MAX_BUFFERED_BYTES / perMessage) + 1;
  await until(() => sb.delivered === 1 + limit, "delivery up to the limit");
  // Reading stays paused: nothing more is delivered while nobody accepts.
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(sb.delivered, 1 + limit);
  accept.resolve();
  await until(() => got.length === count, "all messages after accept");
  assert.deepEqual(got, Array.from({ length: count }, (_, i) => i));
  sa.destroy();
});

Deno.test("protomux: local ids are 1-based and freed ids are reused", async () => {
  const [sa, sb] = memoryMessagePair();
  const a = new Protomux(sa);
  const b = new Protomux(sb);
  const names = ["p1", "p2", "p3"];
  for (const n of names) b.pair(n, null, () => void b.createChannel({ protocol: n })!.open());
  const chans = names.map((n) => a.createChannel({ protocol: n })!);
  for (const c of chans) c.open();
  assert.deepEqual(chans.map((c) => c.localId), [1, 2, 3]);
  for (const c of chans) assert.equal(await withTimeout(c.fullyOpened(), WAIT_MS, "open"), true);
  chans[1]!.close();
  const next = a.createChannel({ protocol: "p4" })!;
  b.pair("p4", null, () => void b.createChannel({ protocol: "p4" })!.open());
  next.open();
  assert.equal(next.localId, 2);
  assert.equal(await withTimeout(next.fullyOpened(), WAIT_MS, "p4 open"), true);
  // unique: a second p1 channel is refused while the first is open
  assert.equal(a.createChannel({ protocol: "p1" }), null);
  assert.notEqual(a.createChannel({ protocol: "p1", unique: false }), null);
  sa.destroy();
});

function open(id: number): string {
  return toHex(encodeMuxFrame({
    kind: "open",
    localId: id,
    protocol: "x",
    id: null,
    handshake: new Uint8Array(0),
  }));
}

Deno.test("protomux: protocol violations destroy the stream", async () => {
  const cases: [string, string[]][] = [
    ["open with id 0", [open(0)]],
    ["open skipping an id", [open(2)]],
    ["open for a live id", [open(1), open(1)]],
    ["reject for an id never opened", ["000205"]],
    ["nested batch", ["0000000200" + "00"]],
    ["truncated open", ["0001"]],
  ];
  for (const [what, list] of cases) {
    const [, sb] = memoryMessagePair();
    const b = new Protomux(sb);
    b.pair("x", null, () => void b.createChannel({ protocol: "x" })!.open());
    for (const hex of list) sb.receive(fromHex(hex));
    const err = await withTimeout(sb.closed, WAIT_MS, what);
    assert.ok(err !== null, what);
    assert.ok(
      isPigeonError(err, "PROTOCOL_ERROR") || isPigeonError(err, "DECODE_ERROR"),
      `${what}: ${err?.code}`,
    );
  }
});

Deno.test("protomux: unknown types are ignored and a closed id may be reused", async () => {
  const [sa, sb] = memoryMessagePair();
  const b = new Protomux(sb);
  const got: string[] = [];
  b.pair("x", null, () => {
    const c = b.createChannel({ protocol: "x", unique: false })!;
    c.addMessage({ encoding: string, onmessage: (s) => void got.push(s) });
    c.open();
  });
  sb.receive(fromHex(open(1)));
  sb.receive(fromHex("0009aabb")); // unknown control type
  sb.receive(fromHex("0107ff")); // unknown message type 7 on channel 1
  sb.receive(fromHex("010002" + "6869")); // "hi"
  await until(() => got.length === 1, "first message");
  sb.receive(fromHex("000301")); // close 1
  sb.receive(fromHex(open(1))); // reuse id 1
  sb.receive(fromHex("010002" + "796f")); // "yo"
  sb.receive(new Uint8Array(0)); // empty frame: ignored
  await until(() => got.length === 2, "two messages");
  assert.deepEqual(got, ["hi", "yo"]);
  assert.equal(sb.destroyed, false);
  sa.destroy();
});

Deno.test("protomux: a throwing onopen (bad capability) destroys the connection", async () => {
  const [sa, sb] = memoryMessagePair();
  const a = new Protomux(sa);
  const b = new Protomux(sb);
  a.createChannel({ protocol: "x" })!.open();
  b.createChannel({
    protocol: "x",
    onopen: () => {
      throw new Error("Remote sent an invalid capability");
    },
  })!.open();
  const err = await withTimeout(sb.closed, WAIT_MS, "destroy");
  assert.ok(isPigeonError(err, "PROTOCOL_ERROR"));
  assert.match(err!.message, /invalid capability/);
});

Deno.test("protomux: channels over real secret streams round-trip and close with the stream", async () => {
  const [ta, tb] = memoryPair();
  const sa = new SecretStream(true, ta, { keepAlive: 0 });
  const sb = new SecretStream(false, tb, { keepAlive: 0 });
  const a = new Protomux(sa);
  const b = new Protomux(sb);
  const ca = hypercoreChannel(a);
  const events: string[] = [];
  const cb = hypercoreChannel(b, events);
  ca.channel.open({ seeks: true, capability: new Uint8Array(32).fill(1) });
  cb.channel.open({ seeks: true, capability: new Uint8Array(32).fill(2) });
  await withTimeout(ca.channel.fullyOpened(), WAIT_MS, "open");
  for (let i = 0; i < 100; i++) ca.sync.send({ ...SYNC, length: i });
  await until(() => cb.got.length === 100, "100 syncs");
  assert.deepEqual(cb.got.map((g) => (g.message as m.Sync).length), [...Array(100).keys()]);
  sa.destroy();
  await withTimeout(sb.closed, WAIT_MS, "b closed");
  assert.equal(cb.channel.closed, true);
  assert.deepEqual(events, ["open 0101", "close remote"]);
});
