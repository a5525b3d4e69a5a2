/**
 * BLAKE2b, the hash under every Hypercore structure (SPEC b, c, d).
 *
 * Callers go through {@link blake2b}, which delegates to the selected
 * {@link Blake2bBackend}: the WebAssembly kernel by default, the pure-TypeScript
 * @noble reference when `PIGEON_CRYPTO=ts` (see `backend.ts`). The @noble path
 * is the reference every faster kernel is tested against.
 *
 * For Merkle trees (SPEC b) use {@link hashLeaf}, {@link hashParent} and, when
 * several parents are known at once, {@link hashParents}: they skip building
 * the prefix and, on the WASM path, hash in one kernel call.
 *
 * @module
 */

import { blake2b as noble } from "@noble/hashes/blake2.js";
import { cryptoPath } from "./backend.ts";
import { type ParentHashInput, wasmKernels } from "./kernels/kernels.ts";

export type { ParentHashInput } from "./kernels/kernels.ts";

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
  /** Optional fast Merkle leaf hash (see {@link hashLeaf}). */
  leaf?(data: Uint8Array): Uint8Array;
  /** Optional fast Merkle parent hash (see {@link hashParent}). */
  parent?(left: Uint8Array, right: Uint8Array, size: number): Uint8Array;
  /** Optional fast batch of Merkle parent hashes (see {@link hashParents}). */
  parents?(inputs: readonly ParentHashInput[]): Uint8Array[];
}

/** The @noble/hashes reference implementation. */
export const nobleBlake2b: Blake2bBackend = {
  name: "noble",
  hash(parts, outLen, key) {
    // An empty key means unkeyed, as in libsodium (noble rejects a 0-byte key).
    const h = noble.create(
      key === undefined || key.length === 0 ? { dkLen: outLen } : { dkLen: outLen, key },
    );
    for (const p of parts) h.update(p);
    return h.digest();
  },
};

/**
 * The AssemblyScript/WebAssembly kernel (`kernels/assembly/blake2b.ts`):
 * inputs are copied into the module's memory (no joined copy in JS) and hashed
 * in one call up to 1 MiB, streamed beyond.
 */
export const wasmBlake2b: Blake2bBackend = {
  name: "wasm",
  hash(parts, outLen, key) {
    return wasmKernels().blake2b(parts, outLen, key);
  },
  leaf(data) {
    return wasmKernels().leafHash(data);
  },
  parent(left, right, size) {
    return wasmKernels().parentHash(left, right, size);
  },
  parents(inputs) {
    return wasmKernels().parentHashes(inputs);
  },
};

let active: Blake2bBackend = cryptoPath() === "ts" ? nobleBlake2b : wasmBlake2b;

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

/** Leaf prefix type byte (SPEC b). */
const LEAF_TYPE = 0;
/** Parent prefix type byte (SPEC b). */
const PARENT_TYPE = 1;

function typedPrefix(type: number, size: number): Uint8Array {
  const prefix = new Uint8Array(9);
  prefix[0] = type;
  const view = new DataView(prefix.buffer);
  view.setUint32(1, size >>> 0, true);
  view.setUint32(5, Math.floor(size / 0x100000000), true);
  return prefix;
}

/**
 * Merkle leaf hash `B2b256(0x00 || u64le(len(data)) || data)` (SPEC b) with
 * the active backend; the fastest way to hash a block.
 */
export function hashLeaf(data: Uint8Array): Uint8Array {
  const fast = active.leaf;
  if (fast !== undefined) return fast.call(active, data);
  return active.hash([typedPrefix(LEAF_TYPE, data.length), data], 32);
}

/** Merkle parent hash `B2b256(0x01 || u64le(size) || left || right)` (SPEC b). */
export function hashParent(left: Uint8Array, right: Uint8Array, size: number): Uint8Array {
  const fast = active.parent;
  if (fast !== undefined) return fast.call(active, left, right, size);
  return active.hash([typedPrefix(PARENT_TYPE, size), left, right], 32);
}

/**
 * Many Merkle parent hashes at once (SPEC b): one kernel call per ~10,000
 * parents on the WASM path, so the per-call cost is paid once per batch.
 *
 * @param inputs each parent's child hashes and its size (left.size + right.size)
 * @returns one 32-byte digest per input, in order (views into one buffer)
 */
export function hashParents(inputs: readonly ParentHashInput[]): Uint8Array[] {
  const fast = active.parents;
  if (fast !== undefined) return fast.call(active, inputs);
  return inputs.map((p) => hashParent(p.left, p.right, p.size));
}
