/**
 * pigeon's crypto kernels (Deno) against libsodium (sodium-native 5.1.0 in
 * Node) on the same inputs, in the same run, alternating rounds so both see
 * the same machine load. Prints each case's throughput (median, min–max over
 * rounds) and the ratio pigeon / sodium, by wall-clock and by CPU time. One
 * uncounted pigeon round comes first so V8 has tiered the WASM up.
 *
 *   deno run -A bench/kernels_vs_sodium.ts [--rounds 5] [--ms 300] [--json]
 *
 * Needs `deno task setup` (sodium-native in tests/interop/node_modules).
 *
 * @module
 */

import process from "node:process";
import { parseArgs } from "node:util";
import {
  blake2b,
  hashLeaf,
  hashParent,
  hashParents,
  type ParentHashInput,
} from "../lib/crypto/blake2b.ts";
import { chacha20Xor } from "../lib/crypto/chacha20.ts";
import { poly1305 } from "../lib/crypto/poly1305.ts";
import { SecretstreamPull, SecretstreamPush } from "../lib/crypto/secretstream.ts";

interface Result {
  opsPerSec: number;
  cpuOpsPerSec: number;
  bytesPerOp: number;
}
type Results = Record<string, Result>;

/** pigeon case → sodium case it is compared with, and the target ratio (if any). */
const CASES: { name: string; sodium: string; target?: number }[] = [
  { name: "blake2b256_64k", sodium: "blake2b256_64k", target: 0.5 },
  { name: "blake2b256_parent73_batch", sodium: "blake2b256_parent73", target: 0.3 },
  { name: "blake2b256_parent73_single", sodium: "blake2b256_parent73" },
  { name: "blake2b256_parent73_generic", sodium: "blake2b256_parent73_pieces" },
  { name: "blake2b256_leaf_64k", sodium: "blake2b256_64k" },
  { name: "secretstream_push_64k", sodium: "secretstream_push_64k", target: 0.3 },
  { name: "secretstream_pull_64k", sodium: "secretstream_pull_64k", target: 0.3 },
  { name: "chacha20_64k", sodium: "chacha20_64k" },
  { name: "poly1305_64k", sodium: "poly1305_64k" },
];

const NODE_SCRIPT = new URL("./node/sodium_kernels.js", import.meta.url);

/** Byte i = (i * 31 + 7) & 255, as in the Node script. */
function input(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + 7) & 255;
  return b;
}

function measure(ms: number, bytesPerOp: number, opsPerCall: number, fn: () => void): Result {
  // Warm up long enough for V8 to tier the kernels up to optimized code.
  const warmEnd = performance.now() + ms / 2;
  for (let i = 0; i < 200 || performance.now() < warmEnd; i++) fn();
  let calls = 0;
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    for (let i = 0; i < 16; i++) fn();
    calls += 16;
    now = performance.now();
  }
  const cpu = process.cpuUsage(cpu0);
  const ops = calls * opsPerCall;
  return {
    opsPerSec: ops / ((now - start) / 1e3),
    cpuOpsPerSec: ops / ((cpu.user + cpu.system) / 1e6),
    bytesPerOp,
  };
}

function pigeonRound(ms: number): Results {
  const kib64 = input(65536);
  const parent = input(73);
  const key = input(32);
  const header = new Uint8Array(24);
  const left = parent.subarray(9, 41);
  const right = parent.subarray(41, 73);
  const batch: ParentHashInput[] = Array.from(
    { length: 1024 },
    () => ({ left, right, size: 1234 }),
  );
  const r: Results = {};
  r.blake2b256_64k = measure(ms, 65536, 1, () => blake2b([kib64], 32));
  r.blake2b256_parent73_batch = measure(ms, 73, batch.length, () => hashParents(batch));
  r.blake2b256_parent73_single = measure(ms, 73, 1, () => hashParent(left, right, 1234));
  // What a caller gets through blake2b() with the prefix built per call.
  r.blake2b256_parent73_generic = measure(ms, 73, 1, () => {
    const prefix = new Uint8Array(9);
    prefix[0] = 1;
    new DataView(prefix.buffer).setUint32(1, 1234, true);
    blake2b([prefix, left, right], 32);
  });
  r.blake2b256_leaf_64k = measure(ms, 65536, 1, () => hashLeaf(kib64));
  const tx = new SecretstreamPush(key, header);
  r.secretstream_push_64k = measure(ms, 65536, 1, () => tx.push(kib64));
  {
    const count = 4096;
    const sender = new SecretstreamPush(key, header);
    const cts = Array.from({ length: count }, () => sender.push(kib64));
    let rx = new SecretstreamPull(key, header);
    let i = 0;
    r.secretstream_pull_64k = measure(ms, 65536, 1, () => {
      if (i === count) {
        rx = new SecretstreamPull(key, header);
        i = 0;
      }
      rx.pull(cts[i++]!);
    });
  }
  const nonce = new Uint8Array(12);
  const out = new Uint8Array(65536);
  r.chacha20_64k = measure(ms, 65536, 1, () => chacha20Xor(key, nonce, 1, kib64, out));
  r.poly1305_64k = measure(ms, 65536, 1, () => poly1305(key, [kib64]));
  return r;
}

async function sodiumRound(ms: number): Promise<Results> {
  const out = await new Deno.Command("node", {
    args: [NODE_SCRIPT.pathname, String(ms)],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`Node sodium bench failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return JSON.parse(new TextDecoder().decode(out.stdout)) as Results;
}

function stats(xs: number[]): { median: number; min: number; max: number } {
  const s = [...xs].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)]!, min: s[0]!, max: s[s.length - 1]! };
}

function fmtRate(bytesPerOp: number, opsPerSec: number): string {
  return bytesPerOp >= 1024
    ? `${(bytesPerOp * opsPerSec / 1e6).toFixed(0)} MB/s`
    : `${(opsPerSec / 1e3).toFixed(0)} k/s`;
}

function loadAverage(): string {
  try {
    return Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
  } catch {
    return "unknown";
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      rounds: { type: "string", default: "5" },
      ms: { type: "string", default: "300" },
      json: { type: "boolean", default: false },
    },
  });
  const rounds = Number(values.rounds);
  const ms = Number(values.ms);
  const loadBefore = loadAverage();
  const pigeon: Results[] = [];
  const sodium: Results[] = [];
  pigeonRound(ms); // an uncounted warm-up round (JIT and wasm tier-up)
  for (let i = 0; i < rounds; i++) {
    sodium.push(await sodiumRound(ms));
    pigeon.push(pigeonRound(ms));
  }
  const loadAfter = loadAverage();
  const rows = CASES.map((c) => {
    const per = (rs: Results[], name: string, key: "opsPerSec" | "cpuOpsPerSec") =>
      rs.map((r) => r[name]![key]);
    const p = stats(per(pigeon, c.name, "opsPerSec"));
    const s = stats(per(sodium, c.sodium, "opsPerSec"));
    const ratios = pigeon.map((r, i) => r[c.name]!.opsPerSec / sodium[i]![c.sodium]!.opsPerSec);
    const cpuRatios = pigeon.map((r, i) =>
      r[c.name]!.cpuOpsPerSec / sodium[i]![c.sodium]!.cpuOpsPerSec
    );
    return {
      case: c.name,
      bytesPerOp: pigeon[0]![c.name]!.bytesPerOp,
      pigeon: p,
      sodium: s,
      ratio: stats(ratios),
      cpuRatio: stats(cpuRatios),
      target: c.target,
    };
  });
  if (values.json) {
    console.log(JSON.stringify({ rounds, ms, loadBefore, loadAfter, rows }, null, 2));
    return;
  }
  console.log(
    `rounds ${rounds} × ${ms} ms per case; load average before ${loadBefore}, after ${loadAfter}`,
  );
  console.log(
    "case | pigeon median (min–max) | sodium median (min–max) | ratio wall median (min–max) | ratio cpu median (min–max) | target",
  );
  for (const r of rows) {
    const rate = (x: number) => fmtRate(r.bytesPerOp, x);
    const ratio = (x: { median: number; min: number; max: number }) =>
      `${x.median.toFixed(2)} (${x.min.toFixed(2)}–${x.max.toFixed(2)})`;
    const verdict = r.target === undefined
      ? "—"
      : `≥ ${r.target} ${r.ratio.median >= r.target ? "met" : "NOT met"}`;
    console.log(
      `${r.case} | ${rate(r.pigeon.median)} (${rate(r.pigeon.min)}–${rate(r.pigeon.max)}) | ` +
        `${rate(r.sodium.median)} (${rate(r.sodium.min)}–${rate(r.sodium.max)}) | ` +
        `${ratio(r.ratio)} | ${ratio(r.cpuRatio)} | ${verdict}`,
    );
  }
}

if (import.meta.main) await main();
