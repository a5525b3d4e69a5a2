/**
 * Helpers for the end-to-end benchmarks that race pigeon's CLI against the real
 * hypercore in one run (`send_recv_vs_hypercore.ts`, `import_vs_hypercore.ts`):
 * seeded test files, child processes that speak NDJSON on stderr, per-process CPU
 * from /proc, machine load, and min/median/max.
 *
 * @module
 */

import { createCipheriv, createHash } from "node:crypto";

/** The repository root (this file is in bench/). */
export const ROOT: string = new URL("..", import.meta.url).pathname.replace(/\/$/, "");

/** Linux clock ticks per second for /proc/<pid>/stat (`getconf CLK_TCK`, 100 on Linux). */
const CLOCK_TICKS = 100;

/** Bytes generated per AES-CTR call when writing a seeded file. */
const SEED_CHUNK_BYTES = 4 << 20;

/** Upper bound on one benchmark child process (a 1 GiB run takes well under a minute). */
export const CHILD_TIMEOUT_MS = 15 * 60_000;

/**
 * Writes `bytes` of the reference harness's seeded data (tests/interop/README.md,
 * `--data-seed`): the AES-256-CTR keystream with key SHA-256(seed) and a zero counter.
 * The real hypercore benchmarks generate the same bytes from the same seed.
 */
export async function writeSeededFile(path: string, bytes: number, seed: string): Promise<void> {
  const key = createHash("sha256").update(seed, "utf8").digest();
  const cipher = createCipheriv("aes-256-ctr", key, new Uint8Array(16));
  const zeros = new Uint8Array(SEED_CHUNK_BYTES);
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  try {
    for (let done = 0; done < bytes; done += SEED_CHUNK_BYTES) {
      const n = Math.min(SEED_CHUNK_BYTES, bytes - done);
      const chunk = new Uint8Array(cipher.update(zeros.subarray(0, n)));
      for (let w = 0; w < n;) w += await file.write(chunk.subarray(w));
    }
  } finally {
    file.close();
  }
}

/** SHA-256 (hex) of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  const file = await Deno.open(path, { read: true });
  for await (const chunk of file.readable) hash.update(chunk);
  return hash.digest("hex");
}

/**
 * Writes dirty pages out (`sync`) so that one measured phase does not pay for the
 * write-back of the data the previous one stored (a GiB of dirty pages throttles whoever
 * writes next).
 */
export async function settleDisk(): Promise<void> {
  await new Deno.Command("sync", { stdout: "null", stderr: "null" }).output();
}

/** The 1-minute load average (`/proc/loadavg`), or NaN. */
export function loadAverage(): number {
  try {
    return Number(Deno.readTextFileSync("/proc/loadavg").split(" ")[0]);
  } catch {
    return NaN;
  }
}

/** User and system CPU seconds of a live process (`/proc/<pid>/stat`), or null once it is gone. */
export function processCpu(pid: number): { user: number; system: number } | null {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return { user: Number(fields[11]) / CLOCK_TICKS, system: Number(fields[12]) / CLOCK_TICKS };
  } catch {
    return null;
  }
}

/** Minimum, median and maximum of some numbers. */
export function stats(values: readonly number[]): { min: number; median: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { min: sorted[0]!, median, max: sorted.at(-1)! };
}

/** MB/s with MB = 10^6 bytes (as shared/research/perf-baseline.md). */
export function mbps(bytes: number, seconds: number): number {
  return Math.round(bytes / 1e6 / seconds * 10) / 10;
}

/** Rounds to `digits` decimals. */
export function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** One NDJSON event a child printed, stamped with when the parent read it. */
export interface Stamped {
  /** The parsed line. */
  line: Record<string, unknown>;
  /** `performance.now()` in the parent when the line arrived. */
  at: number;
}

/** Options for {@link spawnChild}. */
export interface ChildOptions {
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Working directory. */
  cwd?: string;
  /** Called with each chunk of stdout (default: stdout is discarded). */
  onStdout?: (chunk: Uint8Array) => void;
  /** Called for every NDJSON line seen on `stream` (stderr default). */
  onEvent?: (event: Stamped) => void;
  /** Which output carries the NDJSON events (default stderr). */
  events?: "stdout" | "stderr";
}

/**
 * A child process whose NDJSON lines (on stderr, or stdout) are collected with arrival
 * times; other lines are kept as text for error messages.
 */
export class Child {
  readonly pid: number;
  readonly started: number;
  readonly events: Stamped[] = [];
  readonly status: Promise<Deno.CommandStatus>;
  #process: Deno.ChildProcess;
  #text = "";
  #waiters = new Set<() => void>();
  #exited = false;
  #pumps: Promise<void>[] = [];
  #exitedAt = 0;

  constructor(cmd: string, args: string[], options: ChildOptions = {}) {
    const eventsOn = options.events ?? "stderr";
    const wantStdout = eventsOn === "stdout" || options.onStdout !== undefined;
    this.started = performance.now();
    this.#process = new Deno.Command(cmd, {
      args,
      cwd: options.cwd ?? ROOT,
      // PIGEON_LAN=loopback: benchmarks never multicast onto the host's network.
      env: { NO_COLOR: "1", RUST_BACKTRACE: "0", PIGEON_LAN: "loopback", ...options.env },
      stdin: "null",
      stdout: wantStdout ? "piped" : "null",
      stderr: "piped",
    }).spawn();
    this.pid = this.#process.pid;
    if (eventsOn === "stdout") {
      this.#pumps.push(this.#lines(this.#process.stdout, options.onEvent));
    } else if (options.onStdout) {
      this.#pumps.push(this.#raw(this.#process.stdout, options.onStdout));
    }
    this.#pumps.push(
      this.#lines(this.#process.stderr, eventsOn === "stderr" ? options.onEvent : undefined),
    );
    this.status = this.#process.status.then(async (status) => {
      this.#exitedAt = performance.now();
      await Promise.all(this.#pumps);
      this.#exited = true;
      this.#wake();
      return status;
    });
  }

  /** When the process exited (`performance.now()`), 0 while it runs. */
  get exitedAt(): number {
    return this.#exitedAt;
  }

  /** Non-JSON output (for error messages). */
  get text(): string {
    return this.#text;
  }

  /** The first event named `name`, waiting up to `ms`; rejects if the child exits first. */
  waitFor(name: string, ms: number = CHILD_TIMEOUT_MS): Promise<Stamped> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const hit = this.events.find((e) => e.line.event === name);
        if (hit) return finish(() => resolve(hit));
        if (this.#exited) {
          finish(() => reject(new Error(`child exited before "${name}":\n${this.#text}`)));
        }
      };
      const timer = setTimeout(
        () => finish(() => reject(new Error(`timeout waiting for "${name}":\n${this.#text}`))),
        ms,
      );
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        settle();
      };
      this.#waiters.add(check);
      check();
    });
  }

  /** Sends `signal` (ignored once exited). */
  kill(signal: Deno.Signal = "SIGTERM"): void {
    try {
      this.#process.kill(signal);
    } catch {
      // already gone
    }
  }

  /** Sends SIGINT, and SIGKILL if the child is still there after `ms`. */
  async stop(ms = 10_000): Promise<Deno.CommandStatus> {
    this.kill("SIGINT");
    const timer = setTimeout(() => this.kill("SIGKILL"), ms);
    try {
      return await this.status;
    } finally {
      clearTimeout(timer);
    }
  }

  async #raw(stream: ReadableStream<Uint8Array>, sink: (chunk: Uint8Array) => void) {
    for await (const chunk of stream) sink(chunk);
  }

  async #lines(stream: ReadableStream<Uint8Array>, onEvent?: (e: Stamped) => void) {
    const decoder = new TextDecoder();
    let buffered = "";
    for await (const chunk of stream) {
      const at = performance.now();
      buffered += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const text = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        let line: unknown = null;
        if (text.startsWith("{")) {
          try {
            line = JSON.parse(text);
          } catch {
            line = null;
          }
        }
        if (line !== null && typeof line === "object") {
          const stamped = { line: line as Record<string, unknown>, at };
          this.events.push(stamped);
          onEvent?.(stamped);
        } else {
          this.#text += text + "\n";
        }
      }
      this.#wake();
    }
    this.#text += buffered;
  }

  #wake(): void {
    for (const check of [...this.#waiters]) check();
  }
}

/** `deno run -A bench/_profiled_cli.ts …args` (pigeon's CLI with kernel timing). */
export function pigeon(args: string[], options: ChildOptions = {}): Child {
  return new Child(
    Deno.execPath(),
    ["run", "-A", `${ROOT}/bench/_profiled_cli.ts`, ...args],
    options,
  );
}

/** `node bench/node/<script> …args`; its one JSON result line comes on stdout. */
export async function nodeBench(script: string, args: string[]): Promise<Record<string, unknown>> {
  const child = new Child("node", [`${ROOT}/bench/node/${script}`, ...args], { events: "stdout" });
  const status = await child.status;
  const result = child.events.at(-1);
  if (!status.success || !result) {
    throw new Error(`node ${script} failed (exit ${status.code}):\n${child.text}`);
  }
  return result.line;
}

/** A fresh temporary folder removed by the returned function. */
export function tempDir(prefix: string): { path: string; remove: () => Promise<void> } {
  const path = Deno.makeTempDirSync({ prefix });
  return { path, remove: () => Deno.remove(path, { recursive: true }).catch(() => {}) };
}

/** Integer command-line option `--name N` (default `dflt`). */
export function intOption(args: readonly string[], name: string, dflt: number): number {
  const at = args.indexOf(`--${name}`);
  if (at === -1) return dflt;
  const value = Number(args[at + 1]);
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new Error(`--${name} takes a positive integer, got ${args[at + 1]}`);
  }
  return value;
}

/** True when `--name` is present. */
export function flag(args: readonly string[], name: string): boolean {
  return args.includes(`--${name}`);
}
