/**
 * Ed25519 signatures and key pairs in libsodium's layout: the 64-byte secret
 * key is `seed || publicKey` (SPEC c.5). Signing is deterministic (RFC 8032),
 * so signatures match libsodium byte for byte.
 *
 * Verification is strict (no ZIP-215 leniency), like libsodium: a signature
 * libsodium rejects is rejected here too.
 *
 * @module
 */

import * as ed from "@noble/ed25519";
import { sha512 } from "@noble/hashes/sha2.js";
import { PigeonError } from "../errors.ts";
import { cryptoPath } from "./backend.ts";

ed.hashes.sha512 = sha512;

/** An Ed25519 key pair; `secretKey` is absent for read-only use. */
export interface KeyPair {
  /** 32-byte public key. */
  publicKey: Uint8Array;
  /** 64-byte secret key: seed || publicKey. */
  secretKey: Uint8Array;
}

/** Byte sizes of Ed25519 values. */
export const PUBLIC_KEY_BYTES = 32;
/** @see PUBLIC_KEY_BYTES */
export const SECRET_KEY_BYTES = 64;
/** @see PUBLIC_KEY_BYTES */
export const SIGNATURE_BYTES = 64;
/** @see PUBLIC_KEY_BYTES */
export const SEED_BYTES = 32;

/** Makes a key pair from a 32-byte seed, or a fresh random one. */
export function keyPair(seed: Uint8Array = crypto.getRandomValues(new Uint8Array(32))): KeyPair {
  if (seed.byteLength !== SEED_BYTES) {
    throw new PigeonError("BAD_ARGUMENT", `Seed must be 32 bytes, got ${seed.byteLength}`);
  }
  const publicKey = ed.getPublicKey(seed);
  const secretKey = new Uint8Array(SECRET_KEY_BYTES);
  secretKey.set(seed, 0);
  secretKey.set(publicKey, 32);
  return { publicKey, secretKey };
}

/** Signs `message` with a 64-byte libsodium-style secret key. */
export function sign(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  if (secretKey.byteLength !== SECRET_KEY_BYTES) {
    throw new PigeonError(
      "BAD_ARGUMENT",
      `Secret key must be 64 bytes, got ${secretKey.byteLength}`,
    );
  }
  return ed.sign(message, secretKey.subarray(0, SEED_BYTES));
}

// PKCS#8 wrapping of a raw Ed25519 seed (RFC 8410): a fixed 16-byte prefix, then the seed.
const PKCS8_ED25519_PREFIX = Uint8Array.from([
  0x30,
  0x2e,
  0x02,
  0x01,
  0x00,
  0x30,
  0x05,
  0x06,
  0x03,
  0x2b,
  0x65,
  0x70,
  0x04,
  0x22,
  0x04,
  0x20,
]);
const webCryptoKeys = new WeakMap<Uint8Array, Promise<CryptoKey | null>>();

function webCryptoKey(secretKey: Uint8Array): Promise<CryptoKey | null> {
  let key = webCryptoKeys.get(secretKey);
  if (!key) {
    const pkcs8 = new Uint8Array(PKCS8_ED25519_PREFIX.length + SEED_BYTES);
    pkcs8.set(PKCS8_ED25519_PREFIX);
    pkcs8.set(secretKey.subarray(0, SEED_BYTES), PKCS8_ED25519_PREFIX.length);
    key = crypto.subtle.importKey("pkcs8", pkcs8, { name: "Ed25519" }, false, ["sign"])
      .catch(() => null);
    pkcs8.fill(0);
    webCryptoKeys.set(secretKey, key);
  }
  return key;
}

/**
 * {@link sign}, on Deno's native WebCrypto Ed25519 when the default crypto
 * path is selected (byte-identical: Ed25519 is deterministic, and ~6× faster
 * here); the @noble path with `PIGEON_CRYPTO=ts` or where WebCrypto lacks Ed25519.
 */
export async function signAsync(message: Uint8Array, secretKey: Uint8Array): Promise<Uint8Array> {
  if (secretKey.byteLength !== SECRET_KEY_BYTES) {
    throw new PigeonError(
      "BAD_ARGUMENT",
      `Secret key must be 64 bytes, got ${secretKey.byteLength}`,
    );
  }
  if (cryptoPath() === "wasm") {
    const key = await webCryptoKey(secretKey);
    if (key) {
      return new Uint8Array(
        await crypto.subtle.sign("Ed25519", key, message as Uint8Array<ArrayBuffer>),
      );
    }
  }
  return sign(message, secretKey);
}

/** True iff `signature` is a valid signature of `message` by `publicKey`. */
export function verify(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.byteLength !== SIGNATURE_BYTES || publicKey.byteLength !== PUBLIC_KEY_BYTES) {
    return false;
  }
  try {
    return ed.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

/** True iff `secretKey` is 64 bytes whose second half is the public key of its first. */
export function validateKeyPair(pair: KeyPair): boolean {
  if (pair.secretKey.byteLength !== SECRET_KEY_BYTES) return false;
  const derived = ed.getPublicKey(pair.secretKey.subarray(0, SEED_BYTES));
  return equalBytes(derived, pair.publicKey) && equalBytes(derived, pair.secretKey.subarray(32));
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  let diff = 0;
  for (let i = 0; i < a.byteLength; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
