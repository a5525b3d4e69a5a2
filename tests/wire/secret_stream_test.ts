import assert from "node:assert/strict";
import {
  HEADER_MESSAGE_BYTES,
  SecretStream,
  type SecretStreamOptions,
  streamId,
} from "../../lib/wire/secret_stream.ts";
import { SecretstreamPull, SecretstreamPush } from "../../lib/crypto/secretstream.ts";
import { concat, fromHex, toHex } from "../../lib/crypto/bytes.ts";
import type { KeyPair } from "../../lib/crypto/ed25519.ts";
import { encodeFrame, FrameDecoder } from "../../lib/wire/framing.ts";
import { isPigeonError, type PigeonError } from "../../lib/errors.ts";
import { fixture, memoryPair, scriptedTransport, withTimeout } from "./_util.ts";

interface Capture {
  staticKeys: { initiator: string; responder: string };
  handshakeHash: string;
  streamIds: { initiator: string; responder: string };
  secretstreamKeys: { initiatorTx: string; responderTx: string };
  rawInitiatorToResponder: string[];
  rawResponderToInitiator: string[];
  plaintexts: { initiatorToResponder: string[]; responderToInitiator: string[] };
  receivedByApp: { byResponder: string[]; byInitiator: string[] };
}
const cap = fixture<Capture>("secret-stream.json");
const noise = fixture<{
  keys: Record<string, { publicKey: string; secretKey: string }>;
  secretstreamExample: {
    key: string;
    header: string;
    messages: { plaintext: string; ciphertext: string }[];
  };
}>("noise-handshake.json");
const enc = new TextEncoder();

function kp(name: string): KeyPair {
  const k = noise.keys[name]!;
  return { publicKey: fromHex(k.publicKey), secretKey: fromHex(k.secretKey) };
}

const WAIT_MS = 5000;

function frames(raw: string[]): Uint8Array[] {
  const d = new FrameDecoder();
  const out: Uint8Array[] = [];
  for (const hex of raw) {
    d.push(fromHex(hex));
    for (let f = d.next(); f !== null; f = d.next()) out.push(f.slice());
  }
  return out;
}

/** Collects messages from `stream` until `n` arrived (bounded). */
async function collect(stream: SecretStream, n: number): Promise<string[]> {
  const got: string[] = [];
  if (n === 0) return got;
  await withTimeout(
    (async () => {
      for await (const m of stream) {
        got.push(toHex(m));
        if (got.length === n) break;
      }
    })(),
    WAIT_MS,
    `${n} messages`,
  );
  return got;
}

async function assertDestroyedWith(
  stream: SecretStream,
  code: PigeonError["code"],
): Promise<PigeonError> {
  const err = await withTimeout(stream.closed, WAIT_MS, `destroy with ${code}`);
  assert.ok(err !== null, `expected ${code}, got a clean close`);
  assert.equal(err.code, code, err.message);
  assert.equal(stream.destroyed, true);
  await assert.rejects(stream.send(enc.encode("x")), (e: unknown) => isPigeonError(e, code));
  assert.equal(stream.write(enc.encode("x")), false);
  return err;
}

Deno.test("secret_stream: the captured raw streams decrypt in both directions", () => {
  const ab = frames(cap.rawInitiatorToResponder);
  const ba = frames(cap.rawResponderToInitiator);
  const hash = fromHex(cap.handshakeHash);
  // Header frames: stream id of the sender's role, then the secretstream header.
  assert.equal(ab[2]!.length, HEADER_MESSAGE_BYTES);
  assert.equal(ba[1]!.length, HEADER_MESSAGE_BYTES);
  assert.equal(toHex(ab[2]!.subarray(0, 32)), cap.streamIds.initiator);
  assert.equal(toHex(ba[1]!.subarray(0, 32)), cap.streamIds.responder);
  assert.equal(toHex(streamId(hash, true)), cap.streamIds.initiator);
  assert.equal(toHex(streamId(hash, false)), cap.streamIds.responder);
  const pullAB = new SecretstreamPull(fromHex(cap.secretstreamKeys.initiatorTx), ab[2]!.slice(32));
  assert.deepEqual(
    ab.slice(3).map((f) => toHex(pullAB.pull(f))),
    cap.plaintexts.initiatorToResponder,
  );
  const pullBA = new SecretstreamPull(fromHex(cap.secretstreamKeys.responderTx), ba[1]!.slice(32));
  assert.deepEqual(
    ba.slice(2).map((f) => toHex(pullBA.pull(f))),
    cap.plaintexts.responderToInitiator,
  );
  // The keep-alive is an empty message: frame 11 00 00 + 17 bytes.
  const keepAlive = fromHex(cap.rawInitiatorToResponder.at(-1)!);
  assert.equal(keepAlive.length, 20);
  assert.deepEqual([...keepAlive.subarray(0, 3)], [0x11, 0, 0]);
});

Deno.test("secret_stream: the noise vector's secretstream example decrypts and re-encrypts", () => {
  const ex = noise.secretstreamExample;
  const pull = new SecretstreamPull(fromHex(ex.key), fromHex(ex.header));
  const push = new SecretstreamPush(fromHex(ex.key), fromHex(ex.header));
  for (const { plaintext, ciphertext } of ex.messages) {
    assert.equal(toHex(pull.pull(fromHex(ciphertext))), plaintext);
    assert.equal(toHex(push.push(fromHex(plaintext))), ciphertext);
  }
});

function capturedHeader(raw: string[], index: number): Uint8Array {
  return fromHex(raw[index]!).slice(3 + 32);
}

Deno.test("secret_stream: a pigeon initiator writes the captured bytes exactly", async () => {
  const t = scriptedTransport();
  const s = new SecretStream(true, t.transport, {
    keyPair: kp("initiatorStatic"),
    ephemeralKeyPair: kp("initiatorEphemeral"),
    secretstreamHeader: capturedHeader(cap.rawInitiatorToResponder, 2),
    keepAlive: 0,
  });
  for (const p of cap.plaintexts.initiatorToResponder) s.write(fromHex(p));
  const received = collect(s, cap.receivedByApp.byInitiator.length);
  for (const chunk of cap.rawResponderToInitiator) t.feed(fromHex(chunk));
  await withTimeout(s.opened, WAIT_MS, "opened");
  const expected = concat(cap.rawInitiatorToResponder.map(fromHex));
  await withTimeout(t.waitWritten(expected.length), WAIT_MS, "all frames written");
  assert.equal(toHex(concat(t.written)), toHex(expected));
  assert.deepEqual(await received, cap.receivedByApp.byInitiator);
  assert.equal(toHex(s.handshakeHash!), cap.handshakeHash);
  assert.equal(toHex(s.remotePublicKey!), cap.staticKeys.responder);
  assert.equal(toHex(s.publicKey), cap.staticKeys.initiator);
  assert.equal(s.isInitiator, true);
  t.end();
  assert.equal(await withTimeout(s.closed, WAIT_MS, "closed"), null);
  assert.equal(t.closed, true);
});

Deno.test("secret_stream: a pigeon responder writes the captured bytes exactly", async () => {
  const t = scriptedTransport();
  const s = new SecretStream(false, t.transport, {
    keyPair: kp("responderStatic"),
    ephemeralKeyPair: kp("responderEphemeral"),
    secretstreamHeader: capturedHeader(cap.rawResponderToInitiator, 1),
    keepAlive: 0,
  });
  for (const p of cap.plaintexts.responderToInitiator) s.write(fromHex(p));
  // The empty keep-alive is dropped: only the non-empty messages arrive.
  const expectedIn = cap.plaintexts.initiatorToResponder.filter((p) => p.length > 0);
  const received = collect(s, expectedIn.length);
  // Feed one byte at a time to exercise reassembly across the phases.
  for (const b of concat(cap.rawInitiatorToResponder.map(fromHex))) t.feed(Uint8Array.of(b));
  await withTimeout(s.opened, WAIT_MS, "opened");
  const expected = concat(cap.rawResponderToInitiator.map(fromHex));
  await withTimeout(t.waitWritten(expected.length), WAIT_MS, "all frames written");
  assert.equal(toHex(concat(t.written)), toHex(expected));
  assert.deepEqual(await received, expectedIn);
  assert.equal(toHex(s.handshakeHash!), cap.handshakeHash);
  assert.equal(toHex(s.remotePublicKey!), cap.staticKeys.initiator);
  s.destroy();
  assert.equal(await s.closed, null);
});

function pair(
  a: SecretStreamOptions = {},
  b: SecretStreamOptions = {},
  tap?: (from: "a" | "b", chunk: Uint8Array) => void,
): [SecretStream, SecretStream] {
  const [ta, tb] = memoryPair(tap);
  return [new SecretStream(true, ta, a), new SecretStream(false, tb, b)];
}

Deno.test("secret_stream: two streams exchange messages in order, with onmessage", async () => {
  const [a, b] = pair();
  const got: string[] = [];
  const done = Promise.withResolvers<void>();
  b.onmessage = (m) => {
    got.push(new TextDecoder().decode(m));
    if (got.length === 100) done.resolve();
  };
  for (let i = 0; i < 100; i++) a.write(enc.encode(`message ${i}`));
  await withTimeout(done.promise, WAIT_MS, "100 messages");
  assert.deepEqual(got, Array.from({ length: 100 }, (_, i) => `message ${i}`));
  await Promise.all([a.opened, b.opened]);
  assert.deepEqual(a.handshakeHash, b.handshakeHash);
  assert.deepEqual(a.remotePublicKey, b.publicKey);
  assert.deepEqual(b.remotePublicKey, a.publicKey);
  // A graceful end on one side closes both cleanly.
  assert.equal(await withTimeout(a.end(), WAIT_MS, "a.end"), null);
  assert.equal(await withTimeout(b.closed, WAIT_MS, "b closed"), null);
});

Deno.test("secret_stream: keep-alives flow when idle and are not delivered", async () => {
  let keepAlives = 0;
  const seen = Promise.withResolvers<void>();
  const [a, b] = pair({ keepAlive: 20 }, { keepAlive: 0, timeout: 200 }, (from, chunk) => {
    // After the handshake a keep-alive is one 20-byte write: 11 00 00 + 17 bytes.
    if (from === "a" && chunk.length === 20 && chunk[0] === 0x11) {
      if (++keepAlives === 15) seen.resolve();
    }
  });
  const delivered: Uint8Array[] = [];
  b.onmessage = (m) => void delivered.push(m);
  // 15 keep-alives at 20 ms span well over b's 200 ms receive timeout.
  await withTimeout(seen.promise, WAIT_MS, "15 keep-alives");
  assert.equal(b.destroyed, false);
  assert.equal(delivered.length, 0);
  a.destroy();
  b.destroy();
  await Promise.all([a.closed, b.closed]);
});

Deno.test("secret_stream: a silent peer trips the receive timeout", async () => {
  const [a, b] = pair({ keepAlive: 0 }, { keepAlive: 0, timeout: 100 });
  await withTimeout(Promise.all([a.opened, b.opened]), WAIT_MS, "opened");
  await assertDestroyedWith(b, "TIMEOUT");
  a.destroy();
});

Deno.test("secret_stream: a peer that never answers trips the handshake timeout", async () => {
  const t = scriptedTransport();
  const s = new SecretStream(true, t.transport, { handshakeTimeout: 100 });
  await assert.rejects(s.opened, (e: unknown) => isPigeonError(e, "TIMEOUT"));
  await assertDestroyedWith(s, "TIMEOUT");
  assert.equal(t.closed, true);
});

Deno.test("secret_stream: garbage instead of a handshake is a PROTOCOL_ERROR", async () => {
  // An HTTP request: its first three bytes read as a 5.5 MB frame length.
  const http = scriptedTransport();
  const s1 = new SecretStream(false, http.transport);
  http.feed(enc.encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  await assertDestroyedWith(s1, "PROTOCOL_ERROR");
  await assert.rejects(s1.opened, (e: unknown) => isPigeonError(e, "PROTOCOL_ERROR"));
  assert.equal(http.closed, true);
  // A well-framed but bogus message 2 fails to decrypt.
  const bogus = scriptedTransport();
  const s2 = new SecretStream(true, bogus.transport);
  bogus.feed(encodeFrame(new Uint8Array(96).fill(0x55)));
  await assertDestroyedWith(s2, "PROTOCOL_ERROR");
  // A too-short message 1.
  const short = scriptedTransport();
  const s3 = new SecretStream(false, short.transport);
  short.feed(encodeFrame(new Uint8Array(5)));
  await assertDestroyedWith(s3, "PROTOCOL_ERROR");
});

Deno.test("secret_stream: EOF during the handshake rejects opened with CLOSED", async () => {
  const t = scriptedTransport();
  const s = new SecretStream(true, t.transport);
  t.feed(fromHex(cap.rawResponderToInitiator[0]!).subarray(0, 40)); // part of message 2
  t.end();
  await assert.rejects(s.opened, (e: unknown) => isPigeonError(e, "CLOSED"));
  await assertDestroyedWith(s, "CLOSED");
});

/** Runs a pigeon responder against the captured initiator bytes, letting `mutate` change them. */
async function replayResponder(
  mutate: (frames: Uint8Array[]) => Uint8Array[],
  end = false,
): Promise<SecretStream> {
  const t = scriptedTransport();
  const s = new SecretStream(false, t.transport, {
    keyPair: kp("responderStatic"),
    ephemeralKeyPair: kp("responderEphemeral"),
    keepAlive: 0,
  });
  for (const f of mutate(cap.rawInitiatorToResponder.map(fromHex))) t.feed(f);
  if (end) t.end();
  // Drain messages so reading never pauses.
  s.onmessage = () => {};
  await withTimeout(s.closed, WAIT_MS, "destroyed");
  assert.equal(t.closed, true);
  return s;
}

Deno.test("secret_stream: a flipped ciphertext bit destroys the stream cleanly", async () => {
  const s = await replayResponder((f) => {
    f[3]![10]! ^= 0x01; // first data message
    return f;
  });
  await s.opened; // the handshake itself was fine
  await assertDestroyedWith(s, "PROTOCOL_ERROR");
});

Deno.test("secret_stream: a wrong stream id or header size is a PROTOCOL_ERROR", async () => {
  const wrongId = await replayResponder((f) => {
    f[2]![5]! ^= 0x80;
    return f;
  });
  await assert.rejects(wrongId.opened, (e: unknown) => isPigeonError(e, "PROTOCOL_ERROR"));
  await assertDestroyedWith(wrongId, "PROTOCOL_ERROR");
  const longHeader = await replayResponder((f) => [
    f[0]!,
    f[1]!,
    encodeFrame(concat([f[2]!.subarray(3), Uint8Array.of(0)])),
  ]);
  await assertDestroyedWith(longHeader, "PROTOCOL_ERROR");
});

Deno.test("secret_stream: a frame truncated by EOF is a PROTOCOL_ERROR", async () => {
  const s = await replayResponder((f) => [...f.slice(0, 3), f[3]!.subarray(0, 10)], true);
  await assertDestroyedWith(s, "PROTOCOL_ERROR");
});

Deno.test("secret_stream: iterators end on a clean close and throw the error otherwise", async () => {
  const [a, b] = pair({ keepAlive: 0 }, { keepAlive: 0 });
  a.write(enc.encode("one"));
  const it = b[Symbol.asyncIterator]();
  assert.equal(new TextDecoder().decode((await it.next()).value as Uint8Array), "one");
  const pending = it.next();
  a.destroy();
  assert.equal((await withTimeout(pending, WAIT_MS, "iterator end")).done, true);
  assert.equal(await b.closed, null);

  const [c, d] = pair({ keepAlive: 0 }, { keepAlive: 0 });
  await Promise.all([c.opened, d.opened]);
  const it2 = d.messages();
  const next = it2.next();
  d.destroy(new Error("boom"));
  await assert.rejects(next, (e: unknown) => isPigeonError(e, "CLOSED"));
  c.destroy();
  await c.closed;
});

Deno.test("secret_stream: write backpressure holds until the reader consumes", async () => {
  const [a, b] = pair({ keepAlive: 0, highWaterMark: 64 * 1024 }, { keepAlive: 0 });
  await Promise.all([a.opened, b.opened]);
  const big = new Uint8Array(32 * 1024);
  let accepted = 0;
  while (a.write(big)) accepted++;
  assert.equal(accepted, 1); // the second 32 KiB message reaches the 64 KiB mark
  // Keep writing well past the mark; nobody reads b, so the pipe fills.
  for (let i = 0; i < 40; i++) assert.equal(a.write(big), false);
  let drained = false;
  const drain = a.drain().then(() => (drained = true));
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(drained, false);
  let received = 0;
  b.onmessage = () => void received++;
  await withTimeout(drain, WAIT_MS, "drain after reading");
  assert.equal(drained, true);
  assert.ok(received > 0);
  a.destroy();
  b.destroy();
});
