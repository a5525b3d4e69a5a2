/**
 * BLAKE2b, the hash under every Hypercore structure (SPEC b, c, d).
 *
 * Callers go through {@link blake2b}, which delegates to the selected
 * {@link Blake2bBackend} (see `backend.ts`). The pure-TypeScript @noble path
 * here is the reference every faster kernel is tested against.
 *
 * @module
 */

import { blake2b as noble } from "@noble/hashes/blake2.js";

/** A BLAKE2b implementation. */
export interface Blake2bBackend {
  /** A short name for logs and benchmarks ("noble", "wasm"). */
  readonly name: string;
  /**
   * BLAKE2b of the concatenation of `parts`.
   *
   * @param parts the message, in pieces (no copy is made to join them)
   * @param outLen digest length in bytes, 1…64 (the *parameter*, not a truncation)
   * @param key optional BLAKE2b key, 0…64 bytes (the key parameter, not a prefix)
   */
  hash(parts: readonly Uint8Array[], outLen: number, key?: Uint8Array): Uint8Array;
}

/** The @noble/hashes reference implementation. */
export const nobleBlake2b: Blake2bBackend = {
  name: "noble",
  hash(parts, outLen, key) {
    const h = noble.create(key === undefined ? { dkLen: outLen } : { dkLen: outLen, key });
    for (const p of parts) h.update(p);
    return h.digest();
  },
};

let active: Blake2bBackend = nobleBlake2b;

/** Selects the backend all callers of {@link blake2b} use. */
export function setBlake2bBackend(backend: Blake2bBackend): void {
  active = backend;
}

/** The backend in use. */
export function blake2bBackend(): Blake2bBackend {
  return active;
}

/**
 * BLAKE2b of the concatenation of `parts` with the active backend.
 *
 * @example BLAKE2b-256 of "abc"
 * ```ts
 * import { blake2b } from "./blake2b.ts";
 * const digest = blake2b([new TextEncoder().encode("abc")], 32);
 * if (digest.length !== 32) throw new Error("unexpected");
 * ```
 */
export function blake2b(parts: readonly Uint8Array[], outLen = 32, key?: Uint8Array): Uint8Array {
  return active.hash(parts, outLen, key);
}
