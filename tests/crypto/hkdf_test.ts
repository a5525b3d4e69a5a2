import assert from "node:assert/strict";
import { hkdf, hmac } from "../../lib/crypto/hkdf.ts";
import { fromHex, toHex } from "../../lib/crypto/bytes.ts";
import { blake2b } from "../../lib/crypto/blake2b.ts";

const vectors = JSON.parse(
  Deno.readTextFileSync(new URL("../fixtures/noise-handshake.json", import.meta.url)),
) as {
  hmacExample: { key: string; data: string; mac: string };
  hkdfExample: { salt_ck: string; ikm: string; out1: string; out2: string };
};

Deno.test("hkdf: HMAC-BLAKE2b-512 matches the captured example", () => {
  const { key, data, mac } = vectors.hmacExample;
  assert.equal(toHex(hmac(fromHex(key), [fromHex(data)])), mac);
  // Splitting the message into parts does not change the MAC.
  const d = fromHex(data);
  assert.equal(toHex(hmac(fromHex(key), [d.subarray(0, 1), d.subarray(1)])), mac);
});

Deno.test("hkdf: Noise HKDF outputs match the captured example", () => {
  const { salt_ck, ikm, out1, out2 } = vectors.hkdfExample;
  const [a, b] = hkdf(fromHex(salt_ck), fromHex(ikm));
  assert.equal(toHex(a), out1);
  assert.equal(toHex(b), out2);
});

Deno.test("hkdf: a key longer than the block is hashed with BLAKE2b-512 first", () => {
  // RFC 2104: K' = H(K) when |K| > B, so hmac(K) == hmac(H(K)) for |K| > 128.
  const long = new Uint8Array(200).fill(7);
  const data = [new TextEncoder().encode("abc")];
  assert.equal(toHex(hmac(long, data)), toHex(hmac(blake2b([long], 64), data)));
  // A key of exactly one block is used as is.
  const block = new Uint8Array(128).fill(7);
  assert.notEqual(toHex(hmac(block, data)), toHex(hmac(blake2b([block], 64), data)));
});
