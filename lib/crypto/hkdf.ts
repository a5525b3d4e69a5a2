/**
 * HMAC-BLAKE2b-512 and the Noise HKDF built on it (SPEC d.2).
 *
 * | function | definition                                                          |
 * |----------|---------------------------------------------------------------------|
 * | hmac     | RFC 2104 with BLAKE2b-512, block 128 bytes; keys > 128 bytes hashed first |
 * | hkdf     | prk = hmac(salt, ikm); t1 = hmac(prk, 01); t2 = hmac(prk, t1 \|\| 02) |
 *
 * `hkdf` is Noise's HKDF with two 64-byte outputs (RFC 5869 with empty info).
 * Hashing goes through {@link blake2b} so faster kernels apply.
 *
 * @module
 */

import { blake2b } from "./blake2b.ts";

/** BLAKE2b-512 output size, Noise's HASHLEN. */
export const HASH_BYTES = 64;
/** BLAKE2b block size, the HMAC block size. */
export const BLOCK_BYTES = 128;

const ONE = Uint8Array.of(1);
const TWO = Uint8Array.of(2);

/**
 * HMAC-BLAKE2b-512 of the concatenation of `parts` under `key`.
 *
 * @example
 * ```ts
 * import { hmac } from "./hkdf.ts";
 * const mac = hmac(new TextEncoder().encode("key"), [new TextEncoder().encode("abc")]);
 * if (mac.length !== 64) throw new Error("unexpected");
 * ```
 */
export function hmac(key: Uint8Array, parts: readonly Uint8Array[]): Uint8Array {
  const k = key.byteLength > BLOCK_BYTES ? blake2b([key], HASH_BYTES) : key;
  const ipad = new Uint8Array(BLOCK_BYTES).fill(0x36);
  const opad = new Uint8Array(BLOCK_BYTES).fill(0x5c);
  for (let i = 0; i < k.byteLength; i++) {
    ipad[i]! ^= k[i]!;
    opad[i]! ^= k[i]!;
  }
  const inner = blake2b([ipad, ...parts], HASH_BYTES);
  return blake2b([opad, inner], HASH_BYTES);
}

/**
 * Noise HKDF: two 64-byte outputs from chaining key `salt` and input `ikm`.
 *
 * @returns `[output1, output2]`
 */
export function hkdf(salt: Uint8Array, ikm: Uint8Array): [Uint8Array, Uint8Array] {
  const prk = hmac(salt, [ikm]);
  const out1 = hmac(prk, [ONE]);
  const out2 = hmac(prk, [out1, TWO]);
  return [out1, out2];
}
