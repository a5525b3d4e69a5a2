// libsodium (sodium-native 5.1.0, from tests/interop/node_modules) on the same
// inputs as bench/kernels_vs_sodium.ts. Prints one JSON object:
//   { "<case>": { "opsPerSec": n, "cpuOpsPerSec": n, "bytesPerOp": n }, ... }
// opsPerSec is over wall-clock time, cpuOpsPerSec over this process's CPU time
// (less sensitive to other processes on a shared machine).
// Usage: node bench/node/sodium_kernels.js <msPerCase>
"use strict";
const path = require("node:path");
const sodium = require(path.join(__dirname, "../../tests/interop/node_modules/sodium-native"));

const MS = Number(process.argv[2] || 300);

/** Deterministic input shared with the Deno side: byte i = (i * 31 + 7) & 255. */
function input(n) {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + 7) & 255;
  return b;
}

function measure(bytesPerOp, fn) {
  for (let i = 0; i < 200; i++) fn();
  let ops = 0;
  const cpu0 = process.cpuUsage();
  const start = process.hrtime.bigint();
  const end = start + BigInt(MS) * 1000000n;
  let now = start;
  while (now < end) {
    for (let i = 0; i < 64; i++) fn();
    ops += 64;
    now = process.hrtime.bigint();
  }
  const cpu = process.cpuUsage(cpu0);
  return {
    opsPerSec: ops / (Number(now - start) / 1e9),
    cpuOpsPerSec: ops / ((cpu.user + cpu.system) / 1e6),
    bytesPerOp,
  };
}

const KIB64 = input(65536);
const PARENT = input(73);
PARENT[0] = 1;
const TYPE = Buffer.from([1]);
const SIZE = PARENT.subarray(1, 9);
const LEFT = PARENT.subarray(9, 41);
const RIGHT = PARENT.subarray(41, 73);
const KEY = input(32);
const HEADER = Buffer.alloc(24);
const out32 = Buffer.alloc(32);
const ABYTES = sodium.crypto_secretstream_xchacha20poly1305_ABYTES;

function pushState() {
  const st = Buffer.alloc(sodium.crypto_secretstream_xchacha20poly1305_STATEBYTES);
  sodium.crypto_secretstream_xchacha20poly1305_init_push(st, HEADER, KEY);
  return st;
}

const results = {};
results.blake2b256_64k = measure(65536, () => sodium.crypto_generichash(out32, KIB64));
results.blake2b256_parent73 = measure(73, () => sodium.crypto_generichash(out32, PARENT));
// What hypercore-crypto's parent() does: a batch over the four pieces.
results.blake2b256_parent73_pieces = measure(
  73,
  () => sodium.crypto_generichash_batch(out32, [TYPE, SIZE, LEFT, RIGHT]),
);
{
  const st = pushState();
  const ct = Buffer.alloc(65536 + ABYTES);
  results.secretstream_push_64k = measure(
    65536,
    () => sodium.crypto_secretstream_xchacha20poly1305_push(st, ct, KIB64, null, 0),
  );
}
{
  // Pull needs the sender's messages in order: make them first, time only the pulls.
  const count = 4096;
  const st = pushState();
  const cts = [];
  for (let i = 0; i < count; i++) {
    const ct = Buffer.alloc(65536 + ABYTES);
    sodium.crypto_secretstream_xchacha20poly1305_push(st, ct, KIB64, null, 0);
    cts.push(ct);
  }
  const header = Buffer.from(HEADER);
  const rx = Buffer.alloc(sodium.crypto_secretstream_xchacha20poly1305_STATEBYTES);
  const msg = Buffer.alloc(65536);
  const tag = Buffer.alloc(1);
  let i = 0;
  sodium.crypto_secretstream_xchacha20poly1305_init_pull(rx, header, KEY);
  results.secretstream_pull_64k = measure(65536, () => {
    if (i === count) {
      sodium.crypto_secretstream_xchacha20poly1305_init_pull(rx, header, KEY);
      i = 0;
    }
    sodium.crypto_secretstream_xchacha20poly1305_pull(rx, msg, tag, cts[i++], null);
  });
}
{
  const nonce = Buffer.alloc(12);
  const c = Buffer.alloc(65536);
  results.chacha20_64k = measure(
    65536,
    () => sodium.crypto_stream_chacha20_ietf_xor_ic(c, KIB64, nonce, 1, KEY),
  );
  const mac = Buffer.alloc(16);
  results.poly1305_64k = measure(65536, () => sodium.crypto_onetimeauth(mac, KIB64, KEY));
}
process.stdout.write(JSON.stringify(results));
