import assert from "node:assert/strict";
import { hashLeaf } from "../../lib/crypto/blake2b.ts";
import { toHex } from "../../lib/crypto/bytes.ts";
import { HashPool } from "../../lib/crypto/hash_pool.ts";
import { IO_BYTES } from "../../lib/crypto/kernels/kernels.ts";
import { isPigeonError } from "../../lib/errors.ts";

function random(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, i + 65536));
  return out;
}

Deno.test("hash_pool: worker leaf hashes equal inline hashLeaf, in order", async () => {
  const pool = new HashPool({ workers: 2, minBytes: 0 });
  try {
    // Views into one big buffer (the pool must not ship the whole buffer), odd sizes,
    // an empty block and one longer than the kernels' I/O area.
    const big = random(40 * 65536);
    const blocks = [
      ...Array.from({ length: 40 }, (_, i) => big.subarray(i * 65536, (i + 1) * 65536)),
      new Uint8Array(0),
      random(1),
      random(IO_BYTES + 100),
      random(12345),
    ];
    const got = await pool.hashLeaves(blocks);
    assert.deepEqual(got.map(toHex), blocks.map((b) => toHex(hashLeaf(b))));
    // A second batch reuses the started workers.
    const again = await pool.hashLeaves(blocks.slice(0, 7));
    assert.deepEqual(again.map(toHex), blocks.slice(0, 7).map((b) => toHex(hashLeaf(b))));
  } finally {
    pool.close();
  }
});

Deno.test("hash_pool: small batches are hashed inline without starting workers", async () => {
  const pool = new HashPool({ workers: 1 });
  try {
    const blocks = [random(100), random(200)];
    const got = await pool.hashLeaves(blocks);
    assert.deepEqual(got.map(toHex), blocks.map((b) => toHex(hashLeaf(b))));
  } finally {
    pool.close();
  }
});

Deno.test("hash_pool: a closed pool rejects with CLOSED", async () => {
  const pool = new HashPool({ workers: 1, minBytes: 0 });
  pool.close();
  await assert.rejects(
    () => pool.hashLeaves([random(10), random(10)]),
    (e) => isPigeonError(e, "CLOSED"),
  );
});
