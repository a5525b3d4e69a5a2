import assert from "node:assert/strict";
import { blake2b as nobleRaw } from "@noble/hashes/blake2.js";
import {
  blake2b,
  type Blake2bBackend,
  blake2bBackend,
  hashLeaf,
  hashParent,
  hashParents,
  nobleBlake2b,
  type ParentHashInput,
  setBlake2bBackend,
  wasmBlake2b,
} from "../../lib/crypto/blake2b.ts";
import { fromHex, toHex } from "../../lib/crypto/bytes.ts";
import { IO_BYTES } from "../../lib/crypto/kernels/kernels.ts";
import { isPigeonError } from "../../lib/errors.ts";

const merkle = JSON.parse(
  Deno.readTextFileSync(new URL("../fixtures/merkle-and-keys.json", import.meta.url)),
);

/** Lengths every kernel is checked at: 0..300, 64 KiB, 1 MiB and past the I/O area. */
const LENGTHS = [
  ...Array.from({ length: 301 }, (_, i) => i),
  65536,
  1 << 20,
  IO_BYTES + 129,
];

function random(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, i + 65536));
  return out;
}

function ref(data: Uint8Array, dkLen: number, key?: Uint8Array): string {
  return toHex(nobleRaw(data, key === undefined ? { dkLen } : { dkLen, key }));
}

/** Runs `fn` with `backend` active, restoring the previous one. */
function withBackend(backend: Blake2bBackend, fn: () => void): void {
  const before = blake2bBackend();
  setBlake2bBackend(backend);
  try {
    fn();
  } finally {
    setBlake2bBackend(before);
  }
}

Deno.test("blake2b[wasm]: matches noble at every length 0..300, 64 KiB and 1 MiB", () => {
  const key = random(64);
  for (const n of LENGTHS) {
    const data = random(n);
    for (const outLen of [32, 64]) {
      assert.equal(
        toHex(wasmBlake2b.hash([data], outLen)),
        ref(data, outLen),
        `len ${n}/${outLen}`,
      );
    }
    // Keyed, with a key length that changes with the input length.
    const k = key.subarray(0, 1 + (n % 64));
    assert.equal(toHex(wasmBlake2b.hash([data], 32, k)), ref(data, 32, k), `keyed len ${n}`);
    if (n % 50 === 0) {
      assert.equal(toHex(wasmBlake2b.hash([data], 64, key)), ref(data, 64, key), `keyed64 ${n}`);
    }
  }
});

Deno.test("blake2b[wasm]: parts are hashed as their concatenation", () => {
  for (let trial = 0; trial < 200; trial++) {
    const data = random(trial * 7);
    const cuts = [0, ...Array.from({ length: 3 }, () => Math.floor(Math.random() * data.length))]
      .sort((a, b) => a - b);
    const parts = cuts.map((c, i) => data.subarray(c, cuts[i + 1] ?? data.length));
    assert.equal(toHex(wasmBlake2b.hash(parts, 32)), ref(data, 32));
    assert.equal(
      toHex(wasmBlake2b.hash(parts, 32, parts[0]!.subarray(0, 16))),
      toHex(
        nobleBlake2b.hash(parts, 32, parts[0]!.subarray(0, 16)),
      ),
    );
  }
  const big = random(IO_BYTES * 2 + 5);
  const parts = [big.subarray(0, 3), big.subarray(3, IO_BYTES + 7), big.subarray(IO_BYTES + 7)];
  assert.equal(toHex(wasmBlake2b.hash(parts, 32)), ref(big, 32));
});

Deno.test("blake2b[wasm]: every digest length 1..64", () => {
  const data = random(200);
  for (let outLen = 1; outLen <= 64; outLen++) {
    assert.equal(toHex(wasmBlake2b.hash([data], outLen)), ref(data, outLen));
  }
});

Deno.test("blake2b: bad digest and key lengths are BAD_ARGUMENT on the wasm path", () => {
  const bad = (e: unknown) => isPigeonError(e, "BAD_ARGUMENT");
  assert.throws(() => wasmBlake2b.hash([], 0), bad);
  assert.throws(() => wasmBlake2b.hash([], 65), bad);
  assert.throws(() => wasmBlake2b.hash([], 32, new Uint8Array(65)), bad);
});

for (const backend of [nobleBlake2b, wasmBlake2b]) {
  Deno.test(`blake2b[${backend.name}]: Merkle leaves and parents match merkle-and-keys.json`, () => {
    withBackend(backend, () => {
      let checked = 0;
      for (const core of merkle.cores) {
        const nodes = new Map<number, { size: number; hash: string }>();
        for (const n of core.treeNodes) nodes.set(n.index, n);
        for (const b of core.blocks) {
          assert.equal(toHex(hashLeaf(fromHex(b.value))), b.leafHash);
          checked++;
        }
        const inputs: ParentHashInput[] = [];
        const expected: string[] = [];
        for (const p of core.parentHashInputs) {
          const input = fromHex(p.input);
          const size = Number(new DataView(input.buffer).getBigUint64(1, true));
          const one = { left: input.subarray(9, 41), right: input.subarray(41, 73), size };
          assert.equal(toHex(hashParent(one.left, one.right, size)), nodes.get(p.index)!.hash);
          inputs.push(one);
          expected.push(nodes.get(p.index)!.hash);
          checked++;
        }
        assert.deepEqual(hashParents(inputs).map(toHex), expected);
      }
      assert.ok(checked > 50, `checked ${checked}`);
    });
  });
}

Deno.test("blake2b[wasm]: hashLeaf and hashParents match noble on random input", () => {
  withBackend(wasmBlake2b, () => {
    for (const n of [0, 1, 119, 120, 127, 128, 65536, IO_BYTES + 3]) {
      const data = random(n);
      const prefix = new Uint8Array(9);
      new DataView(prefix.buffer).setBigUint64(1, BigInt(n), true);
      assert.equal(toHex(hashLeaf(data)), toHex(nobleBlake2b.hash([prefix, data], 32)), `${n}`);
    }
    // More parents than one kernel call takes, and sizes above 2^32.
    const inputs: ParentHashInput[] = Array.from({ length: 25_000 }, (_, i) => ({
      left: random(32),
      right: random(32),
      size: i * 4_294_967_311 + 7,
    }));
    const got = hashParents(inputs);
    assert.equal(got.length, inputs.length);
    for (let i = 0; i < inputs.length; i += 997) {
      const p = inputs[i]!;
      const prefix = new Uint8Array(9);
      prefix[0] = 1;
      new DataView(prefix.buffer).setBigUint64(1, BigInt(p.size), true);
      const expected = toHex(nobleBlake2b.hash([prefix, p.left, p.right], 32));
      assert.equal(toHex(got[i]!), expected);
      assert.equal(toHex(hashParent(p.left, p.right, p.size)), expected);
    }
    assert.throws(
      () => hashParents([{ left: new Uint8Array(31), right: new Uint8Array(32), size: 1 }]),
      (e) => isPigeonError(e, "BAD_ARGUMENT"),
    );
  });
});

Deno.test("blake2b: blake2b() of 'abc' is the RFC 7693 Appendix A digest", () => {
  withBackend(wasmBlake2b, () => {
    assert.equal(
      toHex(blake2b([new TextEncoder().encode("abc")], 64)),
      "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1" +
        "7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923",
    );
  });
});
