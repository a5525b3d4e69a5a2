import assert from "node:assert/strict";
import { createCipheriv } from "node:crypto";
import { fromHex, toHex } from "../../lib/crypto/bytes.ts";
import { chacha20Xor, hchacha20, nobleChaCha20, wasmChaCha20 } from "../../lib/crypto/chacha20.ts";
import { IO_BYTES } from "../../lib/crypto/kernels/kernels.ts";
import { isPigeonError } from "../../lib/errors.ts";

const LENGTHS = [...Array.from({ length: 301 }, (_, i) => i), 65536, 1 << 20, IO_BYTES + 100];

function random(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, i + 65536));
  return out;
}

const KEY = Uint8Array.from({ length: 32 }, (_, i) => i);

Deno.test("chacha20: RFC 8439 §2.4.2 encryption vector on both backends", () => {
  const nonce = fromHex("000000000000004a00000000");
  const plain = new TextEncoder().encode(
    "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the " +
      "future, sunscreen would be it.",
  );
  const expected = "6e2e359a2568f98041ba0728dd0d6981e97e7aec1d4360c20a27afccfd9fae0b" +
    "f91b65c5524733ab8f593dabcd62b3571639d624e65152ab8f530c359f0861d8" +
    "07ca0dbf500d6a6156a38e088a22b65e52bc514d16ccf806818ce91ab7793736" +
    "5af90bbf74a35be6b40b8eedf2785e42874d";
  for (const b of [nobleChaCha20, wasmChaCha20]) {
    const out = new Uint8Array(plain.length);
    b.xor(KEY, nonce, 1, plain, out);
    assert.equal(toHex(out), expected, b.name);
  }
});

Deno.test("chacha20[wasm]: matches noble at every length 0..300, 64 KiB and 1 MiB", () => {
  for (const n of LENGTHS) {
    const key = random(32);
    const nonce = random(12);
    const counter = n % 3 === 0 ? 0 : Math.floor(Math.random() * 1_000_000);
    const data = random(n);
    const a = new Uint8Array(n);
    const b = new Uint8Array(n);
    nobleChaCha20.xor(key, nonce, counter, data, a);
    wasmChaCha20.xor(key, nonce, counter, data, b);
    assert.equal(toHex(b), toHex(a), `len ${n} counter ${counter}`);
  }
});

Deno.test("chacha20[wasm]: in place, and the last counter before 2^32", () => {
  const key = random(32);
  const nonce = random(12);
  const data = random(1000);
  // noble refuses counter 2^32 - 1; Deno's native ChaCha20 (iv = u32le counter || nonce) does not.
  const iv = new Uint8Array(16);
  new DataView(iv.buffer).setUint32(0, 0xffffffff, true);
  iv.set(nonce, 4);
  const cipher = createCipheriv("chacha20", key, iv);
  const expected = cipher.update(data.subarray(0, 64));
  cipher.final();
  const inPlace = data.slice(0, 64);
  wasmChaCha20.xor(key, nonce, 0xffffffff, inPlace, inPlace);
  assert.equal(toHex(inPlace), toHex(expected));
  assert.throws(
    () => chacha20Xor(key, nonce, 0xffffffff, new Uint8Array(65)),
    (e) => isPigeonError(e, "BAD_ARGUMENT"),
  );
});

Deno.test("hchacha20: draft-irtf-cfrg-xchacha §2.2.1 vector on both backends", () => {
  const input = fromHex("000000090000004a0000000031415927");
  for (const b of [nobleChaCha20, wasmChaCha20]) {
    assert.equal(
      toHex(b.hchacha20(KEY, input)),
      "82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc",
      b.name,
    );
  }
  assert.equal(hchacha20(KEY, input).length, 32);
});

Deno.test("hchacha20[wasm]: matches noble on random keys and inputs", () => {
  for (let i = 0; i < 200; i++) {
    const key = random(32);
    const input = random(16);
    assert.equal(
      toHex(wasmChaCha20.hchacha20(key, input)),
      toHex(nobleChaCha20.hchacha20(key, input)),
    );
  }
});

Deno.test("chacha20: bad key, nonce and counter are BAD_ARGUMENT", () => {
  const bad = (e: unknown) => isPigeonError(e, "BAD_ARGUMENT");
  assert.throws(
    () => chacha20Xor(new Uint8Array(31), new Uint8Array(12), 0, new Uint8Array(1)),
    bad,
  );
  assert.throws(() => chacha20Xor(KEY, new Uint8Array(8), 0, new Uint8Array(1)), bad);
  assert.throws(() => chacha20Xor(KEY, new Uint8Array(12), -1, new Uint8Array(1)), bad);
  assert.throws(() => hchacha20(KEY, new Uint8Array(24)), bad);
});
