/**
 * pigeon's CLI with the crypto kernels timed: `deno run -A bench/_profiled_cli.ts <command> …`
 * behaves exactly like `cli.ts`, then prints one more NDJSON line on stderr:
 *
 * ```text
 * {"event":"profile","cpu":{"user":s,"system":s},"wallMs":ms,
 *  "kernels":{"hash":{"calls":n,"ms":ms},"cipher":{…},"signature":{…}},"clock":"thread-cpu",
 *  "path":"wasm"}
 * ```
 *
 * - `cpu`: `process.cpuUsage()` at exit, i.e. getrusage of the whole process (every thread),
 *   from process start.
 * - `kernels`: CPU time of the main thread spent inside the crypto entry points, read with
 *   `clock_gettime(CLOCK_THREAD_CPUTIME_ID)` (through FFI, ~1.5 µs a read) around each
 *   outermost call; `clock` says which clock was used (`performance.now()` wall time when
 *   libc cannot be loaded):
 *   - hash: BLAKE2b (`blake2b`, `leafHash`, `parentHash`, `parentHashes`, and the @noble
 *     backend's `hash` on `PIGEON_CRYPTO=ts`),
 *   - cipher: secretstream push/pull (WASM state, or the reference state on the ts path;
 *     the native ChaCha20 the WASM path uses for large pulls is inside `secretstreamPull`),
 *   - signature: `Verifier.sign` / `signAsync` / `verify` (Ed25519 plus the signable's hash;
 *     `signAsync` awaits WebCrypto on another thread, so only its main-thread part counts).
 *   The kernels run synchronously on the main thread, so its CPU clock sees all of their work.
 *
 * The wrapping replaces methods on the shared kernel instance, the @noble backend object and
 * two prototypes of this process only; nothing in lib/ changes, so the plain `cli.ts` pays
 * nothing for it.
 *
 * @module
 */

import process from "node:process";
import { main } from "../lib/cli/main.ts";
import { cryptoPath } from "../lib/crypto/backend.ts";
import { nobleBlake2b } from "../lib/crypto/blake2b.ts";
import { ReferenceSecretstreamState } from "../lib/crypto/secretstream.ts";
import { wasmKernels } from "../lib/crypto/kernels/kernels.ts";
import { Verifier } from "../lib/core/verifier.ts";

/** Kernel categories reported. */
export type KernelKind = "hash" | "cipher" | "signature";

/** Time and calls per category. */
export type KernelTimes = Record<KernelKind, { calls: number; ms: number }>;

/** CLOCK_THREAD_CPUTIME_ID on Linux. */
const CLOCK_THREAD_CPUTIME_ID = 3;

/** Milliseconds of this thread's CPU time, or of wall time when libc is not reachable. */
function makeClock(): { name: "thread-cpu" | "wall"; now: () => number } {
  try {
    const libc = Deno.dlopen("libc.so.6", {
      clock_gettime: { parameters: ["i32", "buffer"], result: "i32" },
    });
    const ts = new BigInt64Array(2);
    const bytes = new Uint8Array(ts.buffer);
    const now = () => {
      libc.symbols.clock_gettime(CLOCK_THREAD_CPUTIME_ID, bytes);
      return Number(ts[0]) * 1e3 + Number(ts[1]) / 1e6;
    };
    now();
    return { name: "thread-cpu", now };
  } catch {
    return { name: "wall", now: () => performance.now() };
  }
}

const clock = makeClock();
const times: KernelTimes = {
  hash: { calls: 0, ms: 0 },
  cipher: { calls: 0, ms: 0 },
  signature: { calls: 0, ms: 0 },
};
let depth = 0;

type AnyFn = (...args: unknown[]) => unknown;

/** Replaces `target[name]` (if it is a function) with a timed wrapper counting under `kind`. */
function wrap(target: object, name: string, kind: KernelKind): void {
  const holder = target as Record<string, unknown>;
  const original = holder[name];
  if (typeof original !== "function") return;
  const fn = original as AnyFn;
  const slot = times[kind];
  holder[name] = function (this: unknown, ...args: unknown[]): unknown {
    if (depth > 0) return fn.apply(this, args);
    depth++;
    const t0 = clock.now();
    try {
      // An async entry point (signAsync) counts only its synchronous part on this thread.
      return fn.apply(this, args);
    } finally {
      depth--;
      slot.ms += clock.now() - t0;
      slot.calls++;
    }
  };
}

const kernels = wasmKernels();
for (const name of ["blake2b", "leafHash", "parentHash", "parentHashes"]) {
  wrap(kernels, name, "hash");
}
for (const name of ["secretstreamPush", "secretstreamPull"]) wrap(kernels, name, "cipher");
for (const name of ["hash", "leaf", "parent", "parents"]) wrap(nobleBlake2b, name, "hash");
for (const name of ["push", "pull"]) wrap(ReferenceSecretstreamState.prototype, name, "cipher");
for (const name of ["sign", "signAsync", "verify"]) {
  wrap(Verifier.prototype, name, "signature");
}

const started = performance.now();
const code = await main(Deno.args);
const cpu = process.cpuUsage();
const round = (x: number) => Math.round(x * 1000) / 1000;
const line = {
  event: "profile",
  cpu: { user: round(cpu.user / 1e6), system: round(cpu.system / 1e6) },
  wallMs: Math.round(performance.now() - started),
  kernels: Object.fromEntries(
    Object.entries(times).map(([k, v]) => [k, { calls: v.calls, ms: Math.round(v.ms) }]),
  ),
  clock: clock.name,
  path: cryptoPath(),
};
Deno.stderr.writeSync(new TextEncoder().encode(JSON.stringify(line) + "\n"));
Deno.exit(code);
