/**
 * The "DH" of noise-curve-ed: Diffie-Hellman on Edwards points with Ed25519
 * key pairs, as libsodium computes it (SPEC d.2, gotcha h.5).
 *
 * | step    | value                                                          |
 * |---------|----------------------------------------------------------------|
 * | scalar  | SHA-512(secretKey[0..32])[0..32], clamped: s[0] &= 248, s[31] &= 127, s[31] \|= 64 |
 * | point   | remote public key, a compressed Edwards point (32 bytes)       |
 * | output  | compressed Edwards point scalar·P (32 bytes), not an X25519 u  |
 *
 * Like `crypto_scalarmult_ed25519_noclamp`, the remote point is rejected when
 * its encoding is non-canonical, it is not on the curve, it has small order or
 * it lies outside the prime-order subgroup, and the identity result is
 * rejected. Every rejection throws `PigeonError("PROTOCOL_ERROR")`: the point
 * comes from a peer.
 *
 * @module
 */

import { Point } from "@noble/ed25519";
import { sha512 } from "@noble/hashes/sha2.js";
import { PigeonError } from "../errors.ts";

/** Size of a DH output and of a public key. */
export const DH_BYTES = 32;

/** Order of the prime subgroup, L = 2^252 + 27742317777372353535851937790883648493. */
const L = 2n ** 252n + 27742317777372353535851937790883648493n;

/**
 * The clamped Ed25519 scalar of a libsodium secret key (its first 32 bytes
 * are the seed), as 32 little-endian bytes.
 */
export function dhScalar(secretKey: Uint8Array): Uint8Array {
  if (secretKey.byteLength !== 64 && secretKey.byteLength !== 32) {
    throw new PigeonError(
      "BAD_ARGUMENT",
      `Secret key must be 64 (or a 32-byte seed) bytes, got ${secretKey.byteLength}`,
    );
  }
  const s = sha512(secretKey.subarray(0, 32)).slice(0, 32);
  s[0]! &= 248;
  s[31]! &= 127;
  s[31]! |= 64;
  return s;
}

/**
 * `scalar(secretKey) · remotePublicKey` as a compressed Edwards point.
 *
 * @param remotePublicKey the peer's 32-byte Ed25519 public key
 * @param secretKey our 64-byte libsodium secret key (seed || public key)
 * @throws {PigeonError} PROTOCOL_ERROR when the point is invalid or the result is the identity
 *
 * @example Both sides derive the same secret
 * ```ts
 * import { ed25519Dh } from "./ed25519_dh.ts";
 * import { keyPair } from "./ed25519.ts";
 * const a = keyPair(new Uint8Array(32).fill(1));
 * const b = keyPair(new Uint8Array(32).fill(2));
 * const ab = ed25519Dh(b.publicKey, a.secretKey);
 * const ba = ed25519Dh(a.publicKey, b.secretKey);
 * if (ab.join() !== ba.join()) throw new Error("mismatch");
 * ```
 */
export function ed25519Dh(remotePublicKey: Uint8Array, secretKey: Uint8Array): Uint8Array {
  const point = decodePoint(remotePublicKey);
  const n = bytesToBigIntLE(dhScalar(secretKey)) % L;
  // A clamped scalar is a multiple of 8 below 2^255; it is 0 mod L only for
  // multiples of L, which clamping cannot produce (L is odd) except 0.
  if (n === 0n) throw new PigeonError("PROTOCOL_ERROR", "DH scalar reduces to zero");
  const result = point.multiply(n);
  if (result.is0()) throw new PigeonError("PROTOCOL_ERROR", "DH result is the identity point");
  return result.toBytes();
}

function decodePoint(bytes: Uint8Array): Point {
  if (bytes.byteLength !== DH_BYTES) {
    throw new PigeonError("PROTOCOL_ERROR", `Public key must be 32 bytes, got ${bytes.byteLength}`);
  }
  let point: Point;
  try {
    // zip215 = false: y must be canonical (< p), as libsodium's ge25519_is_canonical.
    point = Point.fromBytes(bytes, false);
  } catch (cause) {
    throw new PigeonError("PROTOCOL_ERROR", "Public key is not a canonical curve point", {
      cause,
    });
  }
  if (point.isSmallOrder()) {
    throw new PigeonError("PROTOCOL_ERROR", "Public key has small order");
  }
  if (!point.isTorsionFree()) {
    throw new PigeonError("PROTOCOL_ERROR", "Public key is not in the prime-order subgroup");
  }
  return point;
}

function bytesToBigIntLE(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]!);
  return n;
}
