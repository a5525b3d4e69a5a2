/**
 * `pigeon send` and `pigeon recv` (real processes) against hostile peers on
 * loopback: garbage handshakes, wrong capabilities, oversized frames, idle
 * connection floods, altered blocks, stalls and replayed proofs.
 *
 * Each attack on `pigeon send` is followed by proof that it still serves an
 * honest `pigeon recv` and that its log on disk is intact (reopened after
 * exit, every block hash-checked). Each attack on `pigeon recv` checks the
 * exit code and that nothing unverified reached its output or its store.
 * The hostile servers run in this process: real `Core`s served by `Swarm`
 * and `Replicator`, with the core wrapped in a Proxy that lies.
 */
import assert from "node:assert/strict";
import { Core } from "../../lib/core/core.ts";
import type { Proof, ProofRequest } from "../../lib/core/proof.ts";
import { MemoryStorage } from "../../lib/core/storage.ts";
import { keyPair } from "../../lib/crypto/ed25519.ts";
import { formatLink } from "../../lib/encoding/link.ts";
import { Swarm } from "../../lib/net/swarm.ts";
import type { ByteStream } from "../../lib/wire/byte_stream.ts";
import { encodeFrame } from "../../lib/wire/framing.ts";
import { MessageType, type Sync } from "../../lib/wire/messages.ts";
import { NoiseHandshake } from "../../lib/wire/noise.ts";
import type { ChannelPort, Replicator as ReplicatorType } from "../../lib/wire/replicator.ts";
import { Replicator } from "../../lib/wire/replicator.ts";
import { SecretStream } from "../../lib/wire/secret_stream.ts";
import { Session } from "../../lib/wire/session.ts";
import {
  BLOCK,
  heldBlocks,
  randomBytes,
  readStoredLog,
  removeDir,
  runPigeon,
  sameBytes,
  type Sender,
  spawnPigeon,
  startSend,
  tempDir,
} from "./_cli.ts";
import { within } from "../_helpers/wait.ts";

/** Bound on waiting for a server to drop a hostile connection. */
const DROP_WAIT_MS = 15_000;

// -- attacks on a running `pigeon send` ---------------------------------------

/**
 * Runs `attack` against a fresh `pigeon send` of random multi-block input,
 * then checks that an honest recv gets every byte, that SIGINT still exits
 * 130, and that the log on disk is intact.
 */
async function attackSender(
  attack: (sender: Sender) => Promise<void>,
): Promise<void> {
  const dir = await tempDir();
  const input = randomBytes(6 * BLOCK + 1234);
  await Deno.writeFile(`${dir}/in`, input);
  const sender = await startSend(`${dir}/send`, [`${dir}/in`]);
  try {
    await attack(sender);
    const started = Date.now();
    const honest = await runPigeon([
      "recv",
      sender.link,
      "--peer",
      sender.peer,
      "--timeout",
      "10",
      "--store",
      `${dir}/recv`,
    ], { ms: 20_000 });
    assert.equal(honest.code, 0, `honest recv after the attack: ${honest.stderr}`);
    sameBytes(honest.stdout, input, "honest recv after the attack");
    assert.ok(Date.now() - started < 10_000, "served promptly");
    assert.equal(sender.proc.done, false, "send is still running");
    sender.proc.kill("SIGINT");
    const end = await sender.proc.exited();
    assert.equal(end.code, 130, end.stderr);
    assert.doesNotMatch(end.stderr, /^\s+at /m, "no stack trace");
    assert.doesNotMatch(end.stderr, /cleanup/, "cleanup finished in time");
    sameBytes(await readStoredLog(sender.store, sender.key), input, "send's log on disk");
  } finally {
    await sender.proc.stop();
    await removeDir(dir);
  }
}

/** Resolves once the peer closed `conn` (EOF or reset); reads and discards what it sends. */
async function closedByPeer(conn: Deno.Conn, ms = DROP_WAIT_MS): Promise<number> {
  const reader = conn.readable.getReader();
  let received = 0;
  try {
    await within(
      ms,
      "the server to drop the connection",
      (async () => {
        while (true) {
          const { value, done } = await reader.read();
          if (done) return;
          received += value.byteLength;
        }
      })().catch((err) => {
        if (!(err instanceof Deno.errors.ConnectionReset)) throw err;
      }),
    );
    return received;
  } finally {
    reader.releaseLock();
    try {
      conn.close();
    } catch {
      // already closed
    }
  }
}

/** Reads exactly one u24-framed message from `reader`. */
async function readFrame(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<Uint8Array> {
  let buf = new Uint8Array(0);
  const need = async (n: number) => {
    while (buf.byteLength < n) {
      const { value, done } = await reader.read();
      if (done) throw new Error("connection ended inside a frame");
      const next = new Uint8Array(buf.byteLength + value.byteLength);
      next.set(buf);
      next.set(value, buf.byteLength);
      buf = next;
    }
  };
  await need(3);
  const length = buf[0]! | (buf[1]! << 8) | (buf[2]! << 16);
  await need(3 + length);
  if (buf.byteLength !== 3 + length) throw new Error("more than one frame arrived");
  return buf.subarray(3);
}

/** Dials `port` and completes Noise XX by hand; returns the connection before any header. */
async function handshakeByHand(port: number): Promise<Deno.Conn> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const noise = new NoiseHandshake(true, keyPair());
  const writer = conn.writable.getWriter();
  const reader = conn.readable.getReader();
  await writer.write(encodeFrame(noise.send()));
  noise.recv(await within(5000, "handshake message 2", readFrame(reader)));
  await writer.write(encodeFrame(noise.send()));
  assert.ok(noise.complete);
  writer.releaseLock();
  reader.releaseLock();
  return conn;
}

/** A secret-stream over `conn` whose raw TCP side can also be written directly. */
function injectable(conn: Deno.Conn): { transport: ByteStream; inject(b: Uint8Array): void } {
  const writer = conn.writable.getWriter();
  const transport: ByteStream = {
    readable: conn.readable,
    writable: new WritableStream<Uint8Array>({
      write: (chunk) => writer.write(chunk),
      close: () => writer.close(),
      abort: (reason) => writer.abort(reason),
    }),
    close() {
      try {
        conn.close();
      } catch {
        // already closed
      }
    },
  };
  return { transport, inject: (bytes) => void writer.write(bytes).catch(() => {}) };
}

Deno.test("hostile → send: garbage instead of a handshake is dropped; send keeps serving", async () => {
  await attackSender(async (sender) => {
    // Random bytes: the first three read as a frame length far over the handshake limit.
    const a = await Deno.connect({ hostname: "127.0.0.1", port: sender.port });
    await a.write(randomBytes(4096));
    await closedByPeer(a);
    // A well-framed but random first message, then a random third message.
    const b = await Deno.connect({ hostname: "127.0.0.1", port: sender.port });
    const bw = b.writable.getWriter();
    const br = b.readable.getReader();
    await bw.write(encodeFrame(randomBytes(32)));
    const second = await within(5000, "handshake message 2", readFrame(br)).catch(() => null);
    if (second !== null) await bw.write(encodeFrame(randomBytes(64))).catch(() => {});
    bw.releaseLock();
    br.releaseLock();
    await closedByPeer(b);
    // Zero-length frames and an endless trickle of nothing useful.
    const c = await Deno.connect({ hostname: "127.0.0.1", port: sender.port });
    await c.write(new Uint8Array(300));
    await closedByPeer(c);
  });
});

Deno.test("hostile → send: a peer without the key (wrong capability) learns nothing and is dropped", async () => {
  await attackSender(async (sender) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: sender.port });
    const stream = new SecretStream(true, conn, { keepAlive: 0 });
    await within(5000, "secret-stream open", stream.opened);
    const session = new Session(stream, "attacker");
    // The attacker knows the discovery key (it travels in the clear) but not the key:
    // a core with another key, presenting the victim's discovery key.
    const other = await Core.open(new MemoryStorage());
    const attacker = await Core.open(new MemoryStorage(), { key: other.key });
    Object.defineProperty(attacker, "discoveryKey", { value: await victimDk(sender) });
    const replicator = new Replicator(attacker, { downloadAll: true });
    try {
      session.replicate(replicator);
      const closedWith = await within(DROP_WAIT_MS, "the connection dropped", session.closed);
      assert.ok(closedWith === null || closedWith instanceof Error);
      assert.equal(attacker.length, 0, "no signed length was learned");
      assert.equal(attacker.countHeld(0, 1), 0, "no block was learned");
    } finally {
      replicator.close();
      session.close();
      await attacker.close();
      await other.close();
    }
  });
});

async function victimDk(sender: Sender): Promise<Uint8Array> {
  const probe = await Core.open(new MemoryStorage(), { key: sender.key });
  const dk = probe.discoveryKey;
  await probe.close();
  return dk;
}

Deno.test("hostile → send: frames over the size limits are refused at their length prefix", async () => {
  await attackSender(async (sender) => {
    // Handshake phase: a 16 MiB - 1 length where at most a few hundred bytes are allowed.
    // Only the 3-byte prefix and a little more is sent: refusing must not wait for the rest.
    const a = await Deno.connect({ hostname: "127.0.0.1", port: sender.port });
    await a.write(new Uint8Array([0xff, 0xff, 0xff, 1, 2, 3]));
    await closedByPeer(a, 5000);

    // Header phase: after a real handshake, a header frame longer than its 56 bytes.
    const b = await handshakeByHand(sender.port);
    await b.write(new Uint8Array([57, 0, 0]));
    await closedByPeer(b, 5000);

    // Open phase: a maximal frame (2^24 - 1 bytes) of garbage fails its MAC.
    const c = await Deno.connect({ hostname: "127.0.0.1", port: sender.port });
    const { transport, inject } = injectable(c);
    const stream = new SecretStream(true, transport, { keepAlive: 0 });
    stream.onmessage = () => {}; // keep reading, or the server's close is never seen
    await within(5000, "secret-stream open", stream.opened);
    const big = new Uint8Array(3 + 0xffffff);
    big.set([0xff, 0xff, 0xff]);
    big.fill(0x5a, 3);
    inject(big);
    const closedWith = await within(DROP_WAIT_MS, "the connection dropped", stream.closed);
    assert.ok(closedWith === null || closedWith instanceof Error);
    stream.destroy();
  });
});

Deno.test("hostile → send: 300 connections that open and say nothing do not stop an honest recv", async () => {
  const idle: Deno.Conn[] = [];
  try {
    await attackSender(async (sender) => {
      for (let i = 0; i < 300; i++) {
        idle.push(await Deno.connect({ hostname: "127.0.0.1", port: sender.port }));
      }
      // attackSender now runs an honest recv (bounded to 10 s) while all 300 stay open.
    });
  } finally {
    for (const conn of idle) {
      try {
        conn.close();
      } catch {
        // dropped by the server already
      }
    }
  }
});

Deno.test({
  name: "hostile → send: 300 connections that complete the handshake and then idle",
  // The swarm counts handshakes as connections and, when full, evicts pending handshakes and
  // inbound sessions that opened no channel, so silent peers cannot crowd out honest ones.
  async fn() {
    const idle: SecretStream[] = [];
    try {
      await attackSender(async (sender) => {
        for (let i = 0; i < 300; i++) {
          const conn = await Deno.connect({ hostname: "127.0.0.1", port: sender.port });
          idle.push(new SecretStream(true, conn, { keepAlive: 0 }));
        }
        const opened = await within(
          15_000,
          "300 handshakes",
          Promise.allSettled(idle.map((stream) => stream.opened)),
        );
        assert.ok(opened.some((r) => r.status === "fulfilled"));
        // attackSender now runs an honest recv while these stay connected and silent.
      });
    } finally {
      for (const stream of idle) stream.destroy();
    }
  },
});

// -- hostile servers against `pigeon recv` ------------------------------------

/** A writer core in memory with `count` blocks of `size` random bytes. */
async function writerCore(
  count: number,
  size: number,
): Promise<{ core: Core; blocks: Uint8Array[] }> {
  const core = await Core.open(new MemoryStorage());
  const blocks = Array.from({ length: count }, () => randomBytes(size));
  for (let i = 0; i < count; i += 64) await core.append(blocks.slice(i, i + 64));
  return { core, blocks };
}

interface Served {
  port: number;
  peer: string;
  replicator: Replicator;
  close(): Promise<void>;
}

/** Serves `core` (maybe a lying Proxy) on 127.0.0.1 with a real Swarm and Replicator. */
function serve(core: Core, port = 0): Served {
  const replicator = new Replicator(core);
  const swarm = new Swarm();
  swarm.add(replicator);
  port = swarm.listen({ hostname: "127.0.0.1", port });
  return {
    port,
    peer: `127.0.0.1:${port}`,
    replicator,
    async close() {
      replicator.close();
      await swarm.close();
    },
  };
}

/**
 * `core` behind a Proxy whose `proof` is replaced by `lie`. Core keeps its
 * state in #private fields, so every other method is bound to the real core.
 */
function lyingCore(core: Core, lie: (request: ProofRequest) => Proof): Core {
  return new Proxy(core, {
    get(target, prop) {
      if (prop === "proof") return lie;
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** A core that answers with real proofs whose block bytes have one bit flipped. */
function alteringCore(core: Core, counter: { altered: number }): Core {
  return lyingCore(core, (request) => {
    const proof = core.proof(request);
    if (!proof.block) return proof;
    const value = proof.block.value.slice();
    value[value.byteLength >> 1]! ^= 0x10;
    counter.altered++;
    return { ...proof, block: { ...proof.block, value } };
  });
}

function concatBlocks(blocks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(blocks.reduce((n, b) => n + b.byteLength, 0));
  let at = 0;
  for (const b of blocks) {
    out.set(b, at);
    at += b.byteLength;
  }
  return out;
}

/** Every block recv stored equals the writer's: nothing unverified reached its store. */
async function assertStoreHonest(store: string, core: Core, blocks: Uint8Array[]): Promise<number> {
  const held = await heldBlocks(store, core.key);
  for (const [index, bytes] of held) sameBytes(bytes, blocks[index]!, `stored block ${index}`);
  return held.size;
}

Deno.test("hostile → recv: altered blocks are rejected and fetched from the honest peer", async () => {
  const dir = await tempDir();
  const { core, blocks } = await writerCore(300, 1000);
  const counter = { altered: 0 };
  const hostile = serve(alteringCore(core, counter));
  const honest = serve(core);
  try {
    const link = formatLink({ key: core.key });
    const got = await runPigeon([
      "recv",
      link,
      "--peer",
      hostile.peer,
      "--peer",
      honest.peer,
      "--timeout",
      "10",
      "-o",
      `${dir}/out`,
      "--store",
      `${dir}/recv`,
    ], { ms: 30_000 });
    assert.equal(got.code, 0, got.stderr);
    sameBytes(await Deno.readFile(`${dir}/out`), concatBlocks(blocks), "received file");
    assert.ok(counter.altered > 0, "the hostile peer was asked for blocks and lied");
    assert.match(got.stderr, /warning: dropped 127\.0\.0\.1:\d+ .*invalid|proof|hash/i);
    assert.equal(await assertStoreHonest(`${dir}/recv`, core, blocks), 300);
  } finally {
    await hostile.close();
    await honest.close();
    await core.close();
    await removeDir(dir);
  }
});

Deno.test("hostile → recv: with only a lying peer, recv exits 4 and writes no file", async () => {
  const dir = await tempDir();
  const { core, blocks } = await writerCore(40, 3000);
  const counter = { altered: 0 };
  const hostile = serve(alteringCore(core, counter));
  try {
    const link = formatLink({ key: core.key });
    const got = await runPigeon([
      "recv",
      link,
      "--peer",
      hostile.peer,
      "--timeout",
      "2",
      "-o",
      `${dir}/out`,
      "--store",
      `${dir}/recv`,
    ], { ms: 30_000 });
    assert.equal(got.code, 4, got.stderr);
    assert.ok(counter.altered > 0);
    assert.match(got.stderr, /^pigeon: Data failed verification and no honest peer supplied it/m);
    const names: string[] = [];
    for await (const entry of Deno.readDir(dir)) names.push(entry.name);
    assert.deepEqual(names.sort(), ["recv"], "no output file, no temporary file");
    assert.equal(await assertStoreHonest(`${dir}/recv`, core, blocks), 0, "no block stored");
  } finally {
    await hostile.close();
    await core.close();
    await removeDir(dir);
  }
});

/** A recv against `peer` with --timeout 2: exit 3, one error line, and on time. */
async function assertRecvTimesOut(
  key: Uint8Array,
  peer: string,
  mentions: RegExp,
  stdout: Uint8Array = new Uint8Array(0),
): Promise<void> {
  const dir = await tempDir();
  try {
    const got = await runPigeon([
      "recv",
      formatLink({ key }),
      "--peer",
      peer,
      "--timeout",
      "2",
      "--store",
      `${dir}/recv`,
    ], { ms: 30_000 });
    assert.equal(got.code, 3, got.stderr);
    sameBytes(got.stdout, stdout, "recv stdout");
    assert.match(got.stderr, mentions);
    assert.doesNotMatch(got.stderr, /cleanup did not finish/);
    assert.doesNotMatch(got.stderr, /^\s+at /m, "no stack trace");
    // Process start-up is part of `ms`; the bound is the timeout plus slack, well under
    // the 10 s handshake bound and the 5 s cleanup bound a hang would hit.
    assert.ok(got.ms >= 2000 && got.ms < 6000, `exited after ${got.ms} ms`);
  } finally {
    await removeDir(dir);
  }
}

Deno.test("hostile → recv: a peer that accepts TCP and sends nothing → exit 3 at --timeout", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of listener) held.push(conn);
  })().catch(() => {});
  try {
    const key = (await writerCore(1, 10)).core.key;
    await assertRecvTimesOut(
      key,
      `127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
      /No peer had the log within 2 s/,
    );
  } finally {
    listener.close();
    await accepting;
    for (const conn of held) conn.close();
  }
});

Deno.test("hostile → recv: a peer that completes the handshake and then is silent → exit 3", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const streams: SecretStream[] = [];
  const accepting = (async () => {
    for await (const conn of listener) {
      streams.push(new SecretStream(false, conn, { keepAlive: 0 }));
    }
  })().catch(() => {});
  try {
    const key = (await writerCore(1, 10)).core.key;
    await assertRecvTimesOut(
      key,
      `127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
      /No peer had the log within 2 s/,
    );
    assert.ok(streams.length > 0, "recv connected");
  } finally {
    listener.close();
    await accepting;
    for (const stream of streams) stream.destroy();
  }
});

Deno.test("hostile → recv: a peer that announces a length and then answers nothing → exit 3", async () => {
  const { core } = await writerCore(20, 100);
  // A stand-in replicator: on every channel it sends one sync claiming 20 blocks, then
  // ignores every request (no data, no noData).
  const silent = {
    core,
    attach(port: ChannelPort) {
      const sync: Sync = {
        fork: 0,
        length: 20,
        remoteLength: 0,
        canUpgrade: true,
        uploading: true,
        downloading: false,
        hasManifest: true,
        allowPush: false,
      };
      port.send(MessageType.sync, sync);
      return { onmessage() {}, onclose() {} };
    },
  } as unknown as ReplicatorType;
  const swarm = new Swarm();
  swarm.add(silent);
  const port = swarm.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    await assertRecvTimesOut(
      core.key,
      `127.0.0.1:${port}`,
      /Peers stopped sending the log within 2 s \(0 of 20 blocks\)/,
    );
  } finally {
    await swarm.close();
    await core.close();
  }
});

Deno.test("hostile → recv: a peer replaying an old upgrade proof does not stop recv (honest peer too)", async () => {
  const dir = await tempDir();
  const { core, blocks } = await writerCore(10, 2000);
  const oldProof = core.proof({
    fork: 0,
    block: null,
    hash: null,
    seek: null,
    upgrade: { start: 0, length: 10 },
    manifest: true,
  });
  const more = Array.from({ length: 50 }, () => randomBytes(2000));
  await core.append(more);
  blocks.push(...more);
  // The second replay is the stale one (the first genuinely takes recv from 0 to 10).
  let replayed = 0;
  const staleReplay = Promise.withResolvers<void>();
  const replaying = lyingCore(core, (request) => {
    if (!request.upgrade) return core.proof(request);
    if (++replayed === 2) staleReplay.resolve();
    return oldProof;
  });
  const hostile = serve(replaying);
  // The honest peer starts listening only once the hostile one has replayed a stale proof,
  // so the hostile one is surely asked first; recv redials the honest address meanwhile.
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const honestPort = (probe.addr as Deno.NetAddr).port;
  probe.close();
  let honest: Served | null = null;
  const proc = spawnPigeon([
    "recv",
    formatLink({ key: core.key }),
    "--peer",
    hostile.peer,
    "--peer",
    `127.0.0.1:${honestPort}`,
    "--timeout",
    "10",
    "--store",
    `${dir}/recv`,
  ]);
  try {
    await within(10_000, "a stale replay", staleReplay.promise);
    honest = serve(core, honestPort);
    const got = await proc.exited(30_000);
    assert.equal(got.code, 0, got.stderr);
    sameBytes(got.stdout, concatBlocks(blocks), "received bytes");
    assert.doesNotMatch(got.stderr, /fork/i);
    assert.equal(await assertStoreHonest(`${dir}/recv`, core, blocks), 60);
    assert.ok(replayed < 10, `the replaying peer was asked ${replayed} times: a request loop`);
  } finally {
    await proc.stop();
    await hostile.close();
    await honest?.close();
    await core.close();
    await removeDir(dir);
  }
});

Deno.test("hostile → recv: a peer replaying an old upgrade alone gets recv that far, then exit 3", async () => {
  const { core, blocks } = await writerCore(10, 2000);
  const oldProof = core.proof({
    fork: 0,
    block: null,
    hash: null,
    seek: null,
    upgrade: { start: 0, length: 10 },
    manifest: true,
  });
  await core.append(Array.from({ length: 5 }, () => randomBytes(2000)));
  let replayed = 0;
  const replaying = lyingCore(core, (request) => {
    if (!request.upgrade) return core.proof(request);
    replayed++;
    return oldProof;
  });
  const hostile = serve(replaying);
  try {
    // The old proof is genuine, so the first 10 blocks verify and are written; the peer
    // claims 15 but never proves them: a stall (exit 3), not bad data (4) and not a fork.
    await assertRecvTimesOut(
      core.key,
      hostile.peer,
      /Peers stopped sending the log within 2 s \(10 of 15 blocks\)/,
      concatBlocks(blocks),
    );
    assert.ok(replayed >= 2, `replayed ${replayed} times`);
    assert.ok(replayed < 10, `asked again and again (${replayed} times): a request loop`);
  } finally {
    await hostile.close();
    await core.close();
  }
});
