/**
 * Helpers for end-to-end tests that run pigeon as a real process
 * (`deno run -A cli.ts …`): spawn it, feed its stdin, wait (always bounded)
 * for bytes on its stdout or lines on its stderr, and stop it.
 *
 * Every process started with {@link spawnPigeon} must be stopped by the test
 * (`await proc.stop()` in a `finally`); stop() kills it if it is still running
 * and waits until its pipes are drained, so the sanitizers stay quiet.
 *
 * @module
 */

import { parseLinkOrKey } from "../../lib/encoding/link.ts";
import { toHex } from "../../lib/crypto/bytes.ts";
import { Core } from "../../lib/core/core.ts";
import { FileStorage } from "../../lib/core/file_storage.ts";
import { logDir } from "../../lib/cli/log_store.ts";

/** cli.ts at the repository root. */
export const CLI: string = new URL("../../cli.ts", import.meta.url).pathname;
/** Default bound on any single wait in these helpers. */
export const MAX_WAIT_MS = 20_000;
/** Block size of logs made by `pigeon send`. */
export const BLOCK = 65536;

/** How a finished process ended. */
export interface Exit {
  code: number;
  signal: Deno.Signal | null;
  stdout: Uint8Array;
  stderr: string;
  /** Milliseconds from spawn to exit. */
  ms: number;
}

/** A running pigeon process. */
export interface PigeonProc {
  /** The arguments it was started with (for messages). */
  readonly args: readonly string[];
  /** Everything written to stdout so far. */
  stdout(): Uint8Array;
  /** Everything written to stderr so far. */
  readonly stderr: string;
  /** Complete stderr lines so far. */
  stderrLines(): string[];
  /** Complete stderr lines parsed as JSON (throws on a line that is not JSON). */
  events(): Record<string, unknown>[];
  /** Resolves with the first complete stderr line `match` accepts. */
  waitStderr(match: RegExp | ((line: string) => boolean), ms?: number): Promise<string>;
  /** Resolves with the first NDJSON event on stderr named `name`. */
  waitEvent(name: string, ms?: number): Promise<Record<string, unknown>>;
  /** Resolves with stdout once it holds at least `n` bytes. */
  waitStdout(n: number, ms?: number): Promise<Uint8Array>;
  /** Resolves with the first line of stdout (without the newline). */
  waitStdoutLine(ms?: number): Promise<string>;
  /** Resolves with the first value `test` returns (re-checked on every output change). */
  waitFor<T>(test: () => T | undefined, what: string, ms?: number): Promise<T>;
  /** Writes to stdin (spawned with `stdin: "piped"`). */
  write(bytes: Uint8Array): Promise<void>;
  /** Closes stdin (EOF for the process). */
  closeStdin(): Promise<void>;
  /** Sends a signal; false when the process already ended. */
  kill(signal: Deno.Signal): boolean;
  /** True once the process ended. */
  readonly done: boolean;
  /** Resolves once it ends by itself; SIGKILLs it and rejects after `ms`. */
  exited(ms?: number): Promise<Exit>;
  /** Kills it (SIGKILL) if still running and waits for its pipes to close. */
  stop(): Promise<Exit>;
}

/** Options for {@link spawnPigeon}. */
export interface SpawnOptions {
  /** "piped" to feed stdin with write(); default "null". */
  stdin?: "piped" | "null";
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** A command to run deno under, e.g. `["ip", "netns", "exec", NS]` (default: none). */
  prefix?: string[];
}

function concat(chunks: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/** Starts `deno run -A cli.ts ...args`. */
export function spawnPigeon(args: string[], options: SpawnOptions = {}): PigeonProc {
  const started = Date.now();
  const command = [...options.prefix ?? [], Deno.execPath(), "run", "-A", "--quiet", CLI, ...args];
  const child = new Deno.Command(command[0]!, {
    args: command.slice(1),
    stdin: options.stdin ?? "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", RUST_BACKTRACE: "0", PIGEON_LAN: "loopback", ...options.env },
  }).spawn();

  const outChunks: Uint8Array[] = [];
  let outBytes = 0;
  let outCache: Uint8Array | null = null;
  let stderr = "";
  let finished = false;
  const waiters = new Set<() => void>();
  const notify = () => {
    for (const w of [...waiters]) w();
  };
  const stdoutDone = (async () => {
    for await (const chunk of child.stdout) {
      outChunks.push(chunk);
      outBytes += chunk.byteLength;
      outCache = null;
      notify();
    }
  })();
  const stderrDone = (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of child.stderr) {
      stderr += decoder.decode(chunk, { stream: true });
      notify();
    }
  })();
  const writer = options.stdin === "piped" ? child.stdin.getWriter() : null;
  let stdinClosed = writer === null;
  const closeStdin = async () => {
    if (stdinClosed) return;
    stdinClosed = true;
    await writer!.close().catch(() => {});
  };
  const status = child.status.then((s) => {
    finished = true;
    return s;
  });
  let result: Promise<Exit> | null = null;
  const finish = () =>
    result ??= (async () => {
      const s = await status;
      const ms = Date.now() - started;
      await closeStdin();
      await Promise.all([stdoutDone, stderrDone]);
      notify();
      return { code: s.code, signal: s.signal, stdout: stdout(), stderr, ms };
    })();
  // Once both pipes are closed no more output can come: waits fail at once.
  let pipesClosed = false;
  Promise.all([stdoutDone, stderrDone]).finally(() => {
    pipesClosed = true;
    notify();
  });

  function stdout(): Uint8Array {
    return outCache ??= concat(outChunks, outBytes);
  }

  function lines(): string[] {
    const all = stderr.split("\n");
    all.pop(); // the incomplete tail
    return all;
  }

  const name = `pigeon ${args.join(" ")}`;

  /** Re-checks `test` on every output change until it yields a value; bounded by `ms`. */
  function waitUntil<T>(test: () => T | undefined, ms: number, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined = undefined;
      const check = () => {
        let value: T | undefined;
        try {
          value = test();
        } catch (err) {
          cleanup();
          reject(err);
          return;
        }
        if (value !== undefined) {
          cleanup();
          resolve(value);
        } else if (pipesClosed) {
          cleanup();
          reject(new Error(`${name} ended before ${what}; stderr:\n${stderr}`));
        }
      };
      const cleanup = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      timer = setTimeout(() => {
        cleanup();
        reject(
          new Error(
            `Timed out after ${ms} ms waiting for ${what} from ${name}; stderr:\n${stderr}`,
          ),
        );
      }, ms);
      waiters.add(check);
      check();
    });
  }

  const proc: PigeonProc = {
    args,
    stdout,
    get stderr() {
      return stderr;
    },
    stderrLines: lines,
    events() {
      return lines().map((line) => JSON.parse(line) as Record<string, unknown>);
    },
    waitStderr(match, ms = MAX_WAIT_MS) {
      const test = typeof match === "function" ? match : (line: string) => match.test(line);
      return waitUntil(() => lines().find(test), ms, `a stderr line matching ${match}`);
    },
    waitEvent(event, ms = MAX_WAIT_MS) {
      return waitUntil(
        () => {
          for (const line of lines()) {
            if (!line.startsWith("{")) continue;
            const parsed = JSON.parse(line) as Record<string, unknown>;
            if (parsed.event === event) return parsed;
          }
          return undefined;
        },
        ms,
        `the ${event} event`,
      );
    },
    waitStdout(n, ms = MAX_WAIT_MS) {
      return waitUntil(() => (outBytes >= n ? stdout() : undefined), ms, `${n} bytes on stdout`);
    },
    waitStdoutLine(ms = MAX_WAIT_MS) {
      return waitUntil(
        () => {
          const out = stdout();
          const nl = out.indexOf(10);
          return nl === -1 ? undefined : new TextDecoder().decode(out.subarray(0, nl));
        },
        ms,
        "a line on stdout",
      );
    },
    waitFor(test, what, ms = MAX_WAIT_MS) {
      return waitUntil(test, ms, what);
    },
    async write(bytes) {
      if (writer === null) throw new Error('spawned without stdin: "piped"');
      await writer.write(bytes);
    },
    closeStdin,
    kill(signal) {
      if (finished) return false;
      try {
        child.kill(signal);
        return true;
      } catch {
        return false;
      }
    },
    get done() {
      return finished;
    },
    async exited(ms = MAX_WAIT_MS) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          proc.kill("SIGKILL");
          reject(new Error(`${name} did not exit within ${ms} ms; stderr:\n${stderr}`));
        }, ms);
      });
      try {
        return await Promise.race([finish(), timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    async stop() {
      proc.kill("SIGKILL");
      return await finish();
    },
  };
  return proc;
}

/** Runs pigeon to completion, feeding `stdin` if given; bounded by `ms`. */
export async function runPigeon(
  args: string[],
  options: { stdin?: Uint8Array; ms?: number } = {},
): Promise<Exit> {
  const proc = spawnPigeon(args, { stdin: options.stdin ? "piped" : "null" });
  try {
    if (options.stdin) {
      await proc.write(options.stdin).catch(() => {});
      await proc.closeStdin();
    }
    return await proc.exited(options.ms ?? MAX_WAIT_MS);
  } finally {
    await proc.stop();
  }
}

/** A running `pigeon send` and what it announced. */
export interface Sender {
  proc: PigeonProc;
  /** The link printed on stdout. */
  link: string;
  /** The log's key. */
  key: Uint8Array;
  /** The port it listens on (on 127.0.0.1). */
  port: number;
  /** `127.0.0.1:PORT`, for `--peer`. */
  peer: string;
  /** Its --store folder. */
  store: string;
}

/**
 * Starts `pigeon send` on 127.0.0.1, a free port and `store`, with `args`
 * (the input file or `-`, flags). With `input` the bytes are written to its
 * stdin, which is then closed. Resolves once the link is printed and the
 * port is known.
 */
export async function startSend(
  store: string,
  args: string[],
  options: { input?: Uint8Array; keepStdin?: boolean } = {},
): Promise<Sender> {
  const piped = options.input !== undefined || options.keepStdin === true;
  const proc = spawnPigeon(
    ["send", ...args, "--port", "0", "--host", "127.0.0.1", "--store", store],
    { stdin: piped ? "piped" : "null" },
  );
  try {
    if (options.input !== undefined) {
      const feeding = proc.write(options.input).then(() => {
        if (!options.keepStdin) return proc.closeStdin();
      });
      feeding.catch(() => {});
    }
    const json = args.includes("--json");
    const port = json
      ? Number((await proc.waitEvent("listening")).port)
      : Number(/ on [^ ]+:(\d+)/.exec(await proc.waitStderr(/^serving hyper:\/\//))![1]);
    const link = await proc.waitStdoutLine();
    return {
      proc,
      link,
      key: parseLinkOrKey(link).key,
      port,
      peer: `127.0.0.1:${port}`,
      store,
    };
  } catch (err) {
    await proc.stop();
    throw err;
  }
}

/** Bytes of every block of the log `key` in `store`, read back from disk (hash-checked). */
export async function readStoredLog(store: string, key: Uint8Array): Promise<Uint8Array> {
  const core = await Core.open(new FileStorage(logDir(store, key), { readOnly: true }), {
    key,
    verifyReads: true,
  });
  try {
    const blocks: Uint8Array[] = [];
    let total = 0;
    for (let i = 0; i < core.length; i++) {
      const block = await core.get(i);
      blocks.push(block);
      total += block.byteLength;
    }
    return concat(blocks, total);
  } finally {
    await core.close();
  }
}

/**
 * The blocks of `key` held in `store` (by index), read back hash-checked;
 * for a receiver that may hold only part of a log.
 */
export async function heldBlocks(
  store: string,
  key: Uint8Array,
): Promise<Map<number, Uint8Array>> {
  const core = await Core.open(new FileStorage(logDir(store, key), { readOnly: true }), {
    key,
    verifyReads: true,
  });
  try {
    const held = new Map<number, Uint8Array>();
    for (let i = 0; i < core.length; i++) if (core.has(i)) held.set(i, await core.get(i));
    return held;
  } finally {
    await core.close();
  }
}

/** Random bytes (getRandomValues is limited to 64 KiB a call). */
export function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let at = 0; at < n; at += 65536) {
    crypto.getRandomValues(out.subarray(at, Math.min(n, at + 65536)));
  }
  return out;
}

/** Hex SHA-256 of `bytes`. */
export async function sha256(bytes: Uint8Array): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes.slice())));
}

/** Asserts `actual` equals `expected` byte for byte, with a short message instead of a dump. */
export function sameBytes(actual: Uint8Array, expected: Uint8Array, what: string): void {
  if (actual.byteLength !== expected.byteLength) {
    throw new Error(`${what}: ${actual.byteLength} bytes, expected ${expected.byteLength}`);
  }
  for (let i = 0; i < actual.byteLength; i++) {
    if (actual[i] !== expected[i]) throw new Error(`${what}: first difference at byte ${i}`);
  }
}

/** A fresh temporary folder; remove it with {@link removeDir}. */
export function tempDir(prefix = "pigeon-e2e-"): Promise<string> {
  return Deno.makeTempDir({ prefix });
}

/** Removes a folder made by {@link tempDir} (and everything in it). */
export async function removeDir(dir: string): Promise<void> {
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}
