/**
 * ChaCha20 (IETF variant, RFC 8439 §2.4: 32-byte key, 12-byte nonce, 32-bit
 * block counter) and HChaCha20 (the XChaCha20 subkey derivation,
 * draft-irtf-cfrg-xchacha §2.2), as libsodium's secretstream uses them
 * (SPEC d.4).
 *
 * Callers go through {@link chacha20Xor} and {@link hchacha20}, which use the
 * selected {@link ChaCha20Backend}: the WASM kernel by default, the @noble
 * reference when `PIGEON_CRYPTO=ts` (see `backend.ts`).
 *
 * @module
 */

import { chacha20 as nobleChacha20, hchacha as nobleHchacha } from "@noble/ciphers/chacha.js";
import { PigeonError } from "../errors.ts";
import { cryptoPath } from "./backend.ts";
import { wasmKernels } from "./kernels/kernels.ts";

/** ChaCha20 key length in bytes. */
export const CHACHA20_KEY_BYTES = 32;
/** ChaCha20-IETF nonce length in bytes. */
export const CHACHA20_NONCE_BYTES = 12;
/** HChaCha20 input (nonce prefix) length in bytes. */
export const HCHACHA20_INPUT_BYTES = 16;
/** One ChaCha20 keystream block. */
export const CHACHA20_BLOCK_BYTES = 64;
/** The largest initial block counter (the counter is a u32). */
export const MAX_CHACHA20_COUNTER = 0xffffffff;

/** A ChaCha20 / HChaCha20 implementation. */
export interface ChaCha20Backend {
  /** A short name for logs and benchmarks ("noble", "wasm", "native"). */
  readonly name: string;
  /**
   * Writes `input XOR keystream(key, nonce, counter…)` into `output`
   * (`output.length === input.length`; `output` may be `input`).
   */
  xor(
    key: Uint8Array,
    nonce: Uint8Array,
    counter: number,
    input: Uint8Array,
    output: Uint8Array,
  ): void;
  /** HChaCha20(key, input16) → 32-byte subkey. */
  hchacha20(key: Uint8Array, input: Uint8Array): Uint8Array;
}

const SIGMA = new Uint32Array([0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]);

function words(bytes: Uint8Array, count: number): Uint32Array {
  const out = new Uint32Array(count);
  for (let i = 0; i < count; i++) {
    const o = i * 4;
    out[i] = (bytes[o]! | (bytes[o + 1]! << 8) | (bytes[o + 2]! << 16) | (bytes[o + 3]! << 24)) >>>
      0;
  }
  return out;
}

function wordBytes(w: Uint32Array): Uint8Array {
  const out = new Uint8Array(w.length * 4);
  for (let i = 0; i < w.length; i++) {
    const v = w[i]!;
    out[i * 4] = v;
    out[i * 4 + 1] = v >>> 8;
    out[i * 4 + 2] = v >>> 16;
    out[i * 4 + 3] = v >>> 24;
  }
  return out;
}

/** The @noble/ciphers reference implementation. */
export const nobleChaCha20: ChaCha20Backend = {
  name: "noble",
  xor(key, nonce, counter, input, output) {
    if (input.length === 0) return;
    if (output === input) {
      const tmp = nobleChacha20(key, nonce, input, undefined, counter);
      output.set(tmp);
    } else {
      nobleChacha20(key, nonce, input, output, counter);
    }
  },
  hchacha20(key, input) {
    const out = new Uint32Array(8);
    nobleHchacha(SIGMA, words(key, 8), words(input, 4), out);
    return wordBytes(out);
  },
};

/** The AssemblyScript/WebAssembly kernel (`kernels/assembly/chacha20.ts`, 4 blocks per SIMD pass). */
export const wasmChaCha20: ChaCha20Backend = {
  name: "wasm",
  xor(key, nonce, counter, input, output) {
    wasmKernels().chacha20Xor(key, nonce, counter, input, output);
  },
  hchacha20(key, input) {
    return wasmKernels().hchacha20(key, input);
  },
};

let active: ChaCha20Backend = cryptoPath() === "ts" ? nobleChaCha20 : wasmChaCha20;

/** Selects the backend all callers of {@link chacha20Xor} / {@link hchacha20} use. */
export function setChaCha20Backend(backend: ChaCha20Backend): void {
  active = backend;
}

/** The backend in use. */
export function chacha20Backend(): ChaCha20Backend {
  return active;
}

function checkArgs(key: Uint8Array, nonce: Uint8Array, counter: number): void {
  if (key.length !== CHACHA20_KEY_BYTES) {
    throw new PigeonError("BAD_ARGUMENT", `ChaCha20 key must be 32 bytes, got ${key.length}`);
  }
  if (nonce.length !== CHACHA20_NONCE_BYTES) {
    throw new PigeonError("BAD_ARGUMENT", `ChaCha20 nonce must be 12 bytes, got ${nonce.length}`);
  }
  if (!Number.isInteger(counter) || counter < 0 || counter > MAX_CHACHA20_COUNTER) {
    throw new PigeonError("BAD_ARGUMENT", `ChaCha20 counter out of range: ${counter}`);
  }
}

/**
 * `input XOR ChaCha20-IETF(key, nonce)` starting at block `counter`.
 *
 * The keystream must not run past block 2^32−1 (`counter + ceil(len/64) ≤ 2^32`).
 *
 * @param output where to write (default: a new array); may be `input`
 * @returns `output`
 * @example RFC 8439 §2.4.2 (first bytes)
 * ```ts
 * import { chacha20Xor } from "./chacha20.ts";
 * const key = Uint8Array.from({ length: 32 }, (_, i) => i);
 * const nonce = Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0x4a, 0, 0, 0, 0);
 * const c = chacha20Xor(key, nonce, 1, new TextEncoder().encode("Ladies"));
 * if (c[0] !== 0x6e || c[1] !== 0x2e) throw new Error("unexpected");
 * ```
 */
export function chacha20Xor(
  key: Uint8Array,
  nonce: Uint8Array,
  counter: number,
  input: Uint8Array,
  output: Uint8Array = new Uint8Array(input.length),
): Uint8Array {
  checkArgs(key, nonce, counter);
  if (output.length !== input.length) {
    throw new PigeonError("BAD_ARGUMENT", `Output length ${output.length} != ${input.length}`);
  }
  if (counter + Math.ceil(input.length / CHACHA20_BLOCK_BYTES) > MAX_CHACHA20_COUNTER + 1) {
    throw new PigeonError("BAD_ARGUMENT", "ChaCha20 block counter would wrap");
  }
  active.xor(key, nonce, counter, input, output);
  return output;
}

/**
 * HChaCha20(key, input): the 32-byte subkey XChaCha20 and secretstream derive.
 *
 * @param input the first 16 bytes of a 24-byte XChaCha20 nonce / secretstream header
 */
export function hchacha20(key: Uint8Array, input: Uint8Array): Uint8Array {
  if (key.length !== CHACHA20_KEY_BYTES) {
    throw new PigeonError("BAD_ARGUMENT", `HChaCha20 key must be 32 bytes, got ${key.length}`);
  }
  if (input.length !== HCHACHA20_INPUT_BYTES) {
    throw new PigeonError("BAD_ARGUMENT", `HChaCha20 input must be 16 bytes, got ${input.length}`);
  }
  return active.hchacha20(key, input);
}
