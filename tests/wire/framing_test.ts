import assert from "node:assert/strict";
import {
  encodeFrame,
  FrameDecoder,
  MAX_FRAME_BYTES,
  writeFrameHeader,
} from "../../lib/wire/framing.ts";
import { concat, fromHex, toHex } from "../../lib/crypto/bytes.ts";
import { isPigeonError } from "../../lib/errors.ts";
import { randomBytes } from "./_util.ts";

const capture = JSON.parse(
  Deno.readTextFileSync(new URL("../fixtures/secret-stream.json", import.meta.url)),
) as { rawInitiatorToResponder: string[] };

const writes = capture.rawInitiatorToResponder.map(fromHex);
const stream = concat(writes);

function decodeAll(chunks: Uint8Array[], max?: number): string[] {
  const d = new FrameDecoder(max);
  const out: string[] = [];
  for (const c of chunks) {
    d.push(c);
    for (let f = d.next(); f !== null; f = d.next()) out.push(toHex(f));
  }
  assert.equal(d.idle, true);
  return out;
}

Deno.test("framing: each captured write is one frame and re-encodes identically", () => {
  const frames = decodeAll([stream]);
  assert.equal(frames.length, writes.length);
  for (let i = 0; i < writes.length; i++) {
    assert.equal(toHex(encodeFrame(fromHex(frames[i]!))), toHex(writes[i]!));
  }
});

Deno.test("framing: reassembles the capture split at every byte and one byte at a time", () => {
  const expected = decodeAll([stream]);
  for (let cut = 0; cut <= stream.length; cut++) {
    assert.deepEqual(decodeAll([stream.subarray(0, cut), stream.subarray(cut)]), expected);
  }
  const bytes = Array.from(stream, (b) => Uint8Array.of(b));
  assert.deepEqual(decodeAll(bytes), expected);
});

Deno.test("framing: random chunking of random frames, including empty ones", () => {
  const payloads: Uint8Array[] = [];
  for (let i = 0; i < 200; i++) {
    const size = i % 17 === 0 ? 0 : Math.floor(Math.random() ** 3 * 70000);
    payloads.push(randomBytes(size));
  }
  const all = concat(payloads.map(encodeFrame));
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < all.length;) {
    const n = 1 + Math.floor(Math.random() * 9000);
    chunks.push(all.slice(at, at + n));
    at += n;
  }
  assert.deepEqual(decodeAll(chunks), payloads.map(toHex));
});

Deno.test("framing: an oversize length is rejected as soon as its prefix arrives", () => {
  const d = new FrameDecoder(100);
  d.push(Uint8Array.of(101, 0));
  assert.equal(d.next(), null);
  d.push(Uint8Array.of(0));
  assert.throws(() => d.next(), (e: unknown) => isPigeonError(e, "PROTOCOL_ERROR"));
  const whole = new FrameDecoder(100);
  whole.push(Uint8Array.of(0xff, 0xff, 0xff, 1, 2, 3));
  assert.throws(() => whole.next(), (e: unknown) => isPigeonError(e, "PROTOCOL_ERROR"));
  // Exactly the maximum is fine.
  assert.deepEqual(decodeAll([encodeFrame(new Uint8Array(100))], 100), [
    toHex(new Uint8Array(100)),
  ]);
});

Deno.test("framing: a truncated frame stays buffered and is reported by idle", () => {
  const d = new FrameDecoder();
  d.push(encodeFrame(new Uint8Array(10)).subarray(0, 8));
  assert.equal(d.next(), null);
  assert.equal(d.idle, false);
  assert.equal(d.buffered, 5);
});

Deno.test("framing: header writer bounds and push misuse", () => {
  const out = new Uint8Array(3);
  writeFrameHeader(out, 0, MAX_FRAME_BYTES);
  assert.deepEqual([...out], [0xff, 0xff, 0xff]);
  assert.throws(
    () => writeFrameHeader(out, 0, MAX_FRAME_BYTES + 1),
    (e: unknown) => isPigeonError(e, "BAD_ARGUMENT"),
  );
  const d = new FrameDecoder();
  d.push(Uint8Array.of(0, 0, 0, 0, 0, 0));
  assert.equal(d.next()?.length, 0);
  assert.throws(() => d.push(Uint8Array.of(1)), (e: unknown) => isPigeonError(e, "BAD_ARGUMENT"));
});

Deno.test("framing: a large frame is reassembled from small chunks as its buffer grows", () => {
  const payload = new Uint8Array(3 * 1024 * 1024 + 17);
  for (let i = 0; i < payload.length; i += 4093) payload[i] = i % 251;
  const bytes = encodeFrame(payload);
  const decoder = new FrameDecoder();
  let out: Uint8Array | null = null;
  for (let at = 0; at < bytes.length; at += 100_000) {
    assert.equal(out, null, "no frame before the last byte");
    decoder.push(bytes.subarray(at, Math.min(bytes.length, at + 100_000)));
    out = decoder.next();
  }
  assert.ok(out);
  assert.equal(out.length, payload.length);
  assert.deepEqual(out, payload);
});
