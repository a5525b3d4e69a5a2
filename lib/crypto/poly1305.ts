/**
 * Poly1305 one-time authenticator (RFC 8439 §2.5), as secretstream uses it
 * (SPEC d.4).
 *
 * {@link poly1305} uses the selected {@link Poly1305Backend}: the WASM kernel
 * by default, the @noble reference when `PIGEON_CRYPTO=ts`.
 *
 * @module
 */

import { Poly1305 as NoblePoly1305 } from "@noble/ciphers/_poly1305.js";
import { PigeonError } from "../errors.ts";
import { cryptoPath } from "./backend.ts";
import { wasmKernels } from "./kernels/kernels.ts";

/** Poly1305 one-time key length in bytes. */
export const POLY1305_KEY_BYTES = 32;
/** Poly1305 tag length in bytes. */
export const POLY1305_TAG_BYTES = 16;

/** A Poly1305 implementation. */
export interface Poly1305Backend {
  /** A short name for logs and benchmarks ("noble", "wasm"). */
  readonly name: string;
  /** Poly1305 tag of the concatenation of `parts` under the one-time `key`. */
  mac(key: Uint8Array, parts: readonly Uint8Array[]): Uint8Array;
}

/** The @noble/ciphers reference implementation. */
export const noblePoly1305: Poly1305Backend = {
  name: "noble",
  mac(key, parts) {
    const h = new NoblePoly1305(key);
    for (const p of parts) h.update(p);
    return h.digest();
  },
};

/** The AssemblyScript/WebAssembly kernel (`kernels/assembly/poly1305.ts`). */
export const wasmPoly1305: Poly1305Backend = {
  name: "wasm",
  mac(key, parts) {
    return wasmKernels().poly1305(key, parts);
  },
};

let active: Poly1305Backend = cryptoPath() === "ts" ? noblePoly1305 : wasmPoly1305;

/** Selects the backend all callers of {@link poly1305} use. */
export function setPoly1305Backend(backend: Poly1305Backend): void {
  active = backend;
}

/** The backend in use. */
export function poly1305Backend(): Poly1305Backend {
  return active;
}

/**
 * Poly1305 tag of the concatenation of `parts`.
 *
 * @param key 32-byte one-time key (never reuse it for a second message)
 */
export function poly1305(key: Uint8Array, parts: readonly Uint8Array[]): Uint8Array {
  if (key.length !== POLY1305_KEY_BYTES) {
    throw new PigeonError("BAD_ARGUMENT", `Poly1305 key must be 32 bytes, got ${key.length}`);
  }
  return active.mac(key, parts);
}
