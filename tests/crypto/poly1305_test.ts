import assert from "node:assert/strict";
import { fromHex, toHex } from "../../lib/crypto/bytes.ts";
import { IO_BYTES } from "../../lib/crypto/kernels/kernels.ts";
import { noblePoly1305, poly1305, wasmPoly1305 } from "../../lib/crypto/poly1305.ts";
import { isPigeonError } from "../../lib/errors.ts";

const LENGTHS = [...Array.from({ length: 301 }, (_, i) => i), 65536, 1 << 20, IO_BYTES + 33];

function random(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, i + 65536));
  return out;
}

Deno.test("poly1305: RFC 8439 §2.5.2 vector on both backends", () => {
  const key = fromHex("85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b");
  const msg = new TextEncoder().encode("Cryptographic Forum Research Group");
  for (const b of [noblePoly1305, wasmPoly1305]) {
    assert.equal(toHex(b.mac(key, [msg])), "a8061dc1305136c6c22b8baf0c0127a9", b.name);
  }
});

Deno.test("poly1305[wasm]: matches noble at every length 0..300, 64 KiB and 1 MiB", () => {
  for (const n of LENGTHS) {
    const key = random(32);
    const data = random(n);
    assert.equal(
      toHex(wasmPoly1305.mac(key, [data])),
      toHex(noblePoly1305.mac(key, [data])),
      `${n}`,
    );
  }
});

Deno.test("poly1305[wasm]: split parts and extreme limbs match noble", () => {
  for (let trial = 0; trial < 300; trial++) {
    const data = random(trial);
    const a = Math.floor(Math.random() * (trial + 1));
    const b = a + Math.floor(Math.random() * (trial - a + 1));
    const parts = [data.subarray(0, a), data.subarray(a, b), data.subarray(b)];
    const key = random(32);
    assert.equal(toHex(wasmPoly1305.mac(key, parts)), toHex(noblePoly1305.mac(key, [data])));
  }
  // All-ones keys and messages push every limb and carry to its limit.
  for (const n of [16, 17, 64, 127, 128, 129, 144, 160, 1000, 1039, 4096, 65536 + 16]) {
    for (const fill of [0xff, 0x00, 0xfe]) {
      const key = new Uint8Array(32).fill(0xff);
      const data = new Uint8Array(n).fill(fill);
      assert.equal(toHex(wasmPoly1305.mac(key, [data])), toHex(noblePoly1305.mac(key, [data])));
    }
  }
});

Deno.test("poly1305: a key that is not 32 bytes is BAD_ARGUMENT", () => {
  assert.throws(() => poly1305(new Uint8Array(16), []), (e) => isPigeonError(e, "BAD_ARGUMENT"));
});
