/**
 * `deno bench` for lib/crypto on both paths (wasm kernels and the @noble
 * reference): small inputs as time per op, 64 KiB / 1 MiB as throughput.
 * For the comparison with libsodium see `kernels_vs_sodium.ts`.
 *
 *   deno bench -A bench/crypto_bench.ts
 *
 * @module
 */

import {
  type Blake2bBackend,
  hashLeaf,
  hashParent,
  hashParents,
  nobleBlake2b,
  type ParentHashInput,
  setBlake2bBackend,
  wasmBlake2b,
} from "../lib/crypto/blake2b.ts";
import { nobleChaCha20, wasmChaCha20 } from "../lib/crypto/chacha20.ts";
import { HashPool } from "../lib/crypto/hash_pool.ts";
import { noblePoly1305, wasmPoly1305 } from "../lib/crypto/poly1305.ts";
import { SecretstreamPull, SecretstreamPush } from "../lib/crypto/secretstream.ts";
import type { CryptoPath } from "../lib/crypto/backend.ts";

const KIB64 = crypto.getRandomValues(new Uint8Array(65536));
const MIB = new Uint8Array(1 << 20);
for (let i = 0; i < MIB.length; i += 65536) MIB.set(KIB64, i);
const SMALL = KIB64.subarray(0, 73);
const KEY = KIB64.subarray(0, 32);
const NONCE = new Uint8Array(12);
const OUT = new Uint8Array(1 << 20);
const LEFT = KIB64.subarray(100, 132);
const RIGHT = KIB64.subarray(200, 232);
const PARENTS: ParentHashInput[] = Array.from(
  { length: 1024 },
  (_, i) => ({ left: LEFT, right: RIGHT, size: i }),
);

const BLAKE: Blake2bBackend[] = [wasmBlake2b, nobleBlake2b];
for (const b of BLAKE) {
  Deno.bench(`blake2b-256 73 B [${b.name}]`, { group: "blake2b 73 B" }, () => {
    b.hash([SMALL], 32);
  });
  Deno.bench(`blake2b-256 64 KiB [${b.name}]`, { group: "blake2b 64 KiB" }, () => {
    b.hash([KIB64], 32);
  });
  Deno.bench(`merkle parent [${b.name}]`, { group: "parent" }, () => {
    setBlake2bBackend(b);
    hashParent(LEFT, RIGHT, 1234);
  });
  Deno.bench(`merkle leaf 64 KiB [${b.name}]`, { group: "leaf" }, () => {
    setBlake2bBackend(b);
    hashLeaf(KIB64);
  });
}
Deno.bench("merkle parents ×1024 batch [wasm]", { group: "parents batch" }, () => {
  setBlake2bBackend(wasmBlake2b);
  hashParents(PARENTS);
});
Deno.bench("blake2b-256 1 MiB [wasm]", () => {
  wasmBlake2b.hash([MIB], 32);
});

for (const c of [wasmChaCha20, nobleChaCha20]) {
  Deno.bench(`chacha20 64 KiB [${c.name}]`, { group: "chacha20" }, () => {
    c.xor(KEY, NONCE, 1, KIB64, OUT.subarray(0, 65536));
  });
}
for (const p of [wasmPoly1305, noblePoly1305]) {
  Deno.bench(`poly1305 64 KiB [${p.name}]`, { group: "poly1305" }, () => {
    p.mac(KEY, [KIB64]);
  });
}

for (const path of ["wasm", "ts"] as CryptoPath[]) {
  const tx = new SecretstreamPush(KEY, undefined, { path });
  Deno.bench(`secretstream push 64 KiB [${path}]`, { group: "push" }, () => {
    tx.push(KIB64);
  });
  Deno.bench(`secretstream push 1 KiB [${path}]`, { group: "push 1 KiB" }, () => {
    tx.push(KIB64.subarray(0, 1024));
  });
  // Pull needs the sender's messages in order; make a ring of them first.
  const sender = new SecretstreamPush(KEY, undefined, { path });
  const ring = Array.from({ length: 256 }, () => sender.push(KIB64));
  let rx = new SecretstreamPull(KEY, sender.header, { path });
  let i = 0;
  Deno.bench(`secretstream pull 64 KiB [${path}]`, { group: "pull" }, () => {
    if (i === ring.length) {
      rx = new SecretstreamPull(KEY, sender.header, { path });
      i = 0;
    }
    rx.pull(ring[i++]!);
  });
}

// Worker pool vs inline for a batch of 64 leaves of 64 KiB (4 MiB). The pool
// stays open for the run (deno bench exits without waiting for workers).
const LEAVES = Array.from({ length: 64 }, () => KIB64.slice());
const POOL = new HashPool({ minBytes: 0 });
Deno.bench("leaves 64 × 64 KiB inline [wasm]", { group: "leaf batch" }, () => {
  setBlake2bBackend(wasmBlake2b);
  for (const b of LEAVES) hashLeaf(b);
});
Deno.bench(
  `leaves 64 × 64 KiB pool (${POOL.size} workers + caller)`,
  { group: "leaf batch" },
  async () => {
    setBlake2bBackend(wasmBlake2b);
    await POOL.hashLeaves(LEAVES);
  },
);
