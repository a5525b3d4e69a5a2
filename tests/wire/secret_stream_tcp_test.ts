import assert from "node:assert/strict";
import { SecretStream } from "../../lib/wire/secret_stream.ts";
import { withTimeout } from "./_util.ts";

const MESSAGES = 1000;
const MAX_SIZE = 1 << 20;
const TEST_TIMEOUT_MS = 120_000;

/** Size of message `i` in direction `dir`: skewed towards small, with exact 1 MiB ones and 1-byte ones. */
function sizeOf(dir: number, i: number): number {
  if (i % 97 === 0) return MAX_SIZE;
  if (i % 89 === 1) return 1;
  const r = ((Math.imul(i + 1, 2654435761) ^ Math.imul(dir + 7, 40503)) >>> 0) / 2 ** 32;
  return 1 + Math.floor(r ** 3 * (MAX_SIZE - 1));
}

/** Deterministic content of message `i` (xorshift32 seeded by direction and index). */
function messageOf(dir: number, i: number): Uint8Array {
  const size = sizeOf(dir, i);
  const words = new Uint32Array(Math.ceil(size / 4));
  let x = (i * 0x9e3779b1 + dir * 0x85ebca6b + 1) >>> 0 || 1;
  for (let w = 0; w < words.length; w++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[w] = x;
  }
  return new Uint8Array(words.buffer, 0, size);
}

async function sendAll(stream: SecretStream, dir: number): Promise<number> {
  let bytes = 0;
  for (let i = 0; i < MESSAGES; i++) {
    const m = messageOf(dir, i);
    bytes += m.length;
    await stream.send(m); // awaits the high-water mark: backpressure
  }
  return bytes;
}

async function receiveAll(stream: SecretStream, dir: number): Promise<number> {
  let i = 0;
  let bytes = 0;
  for await (const m of stream) {
    const expected = messageOf(dir, i);
    assert.equal(m.length, expected.length, `message ${i} length`);
    assert.deepEqual(m, expected, `message ${i} content`);
    bytes += m.length;
    if (++i === MESSAGES) break;
  }
  assert.equal(i, MESSAGES);
  return bytes;
}

Deno.test({
  name: "secret_stream: 1000 random-size messages each way over loopback TCP",
  async fn() {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const accepted = listener.accept();
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
    const server = await accepted;
    listener.close();
    const a = new SecretStream(true, conn);
    const b = new SecretStream(false, server);
    const start = performance.now();
    try {
      const [sentA, sentB, gotB, gotA] = await withTimeout(
        Promise.all([sendAll(a, 0), sendAll(b, 1), receiveAll(b, 0), receiveAll(a, 1)]),
        TEST_TIMEOUT_MS,
        "the exchange",
      );
      assert.equal(gotB, sentA);
      assert.equal(gotA, sentB);
      const seconds = (performance.now() - start) / 1000;
      const mb = (sentA + sentB) / 1e6;
      console.log(
        `${mb.toFixed(0)} MB in ${seconds.toFixed(2)} s: ${(mb / seconds).toFixed(1)} MB/s`,
      );
      assert.deepEqual(a.handshakeHash, b.handshakeHash);
    } finally {
      a.destroy();
      b.destroy();
    }
    assert.equal(await a.closed, null);
    assert.equal(await b.closed, null);
  },
});
