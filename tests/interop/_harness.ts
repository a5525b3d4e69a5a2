/**
 * Runs the Node reference scripts of tests/interop (real hypercore / hyperdrive) from Deno
 * tests: one-shot scripts that read JSON on stdin, and long-running peers whose JSON-lines
 * events a test waits on with timeouts.
 *
 * Every process started here must be stopped by the caller (`await proc.stop()` in a
 * `finally`), which closes its pipes so the test sanitizers stay quiet.
 *
 * @example One-shot script
 * ```ts ignore
 * const out = await runNode("core_write.js", [], { stdin: JSON.stringify(request) });
 * const result = out.lines[0];
 * ```
 *
 * @module
 */

/** Folder of the harness scripts and their node_modules. */
export const HARNESS_DIR: string = new URL(".", import.meta.url).pathname;

/** Default bound for waiting on one event from a Node process. */
export const DEFAULT_EVENT_TIMEOUT_MS = 20_000;
/** How long stop() waits after SIGTERM before SIGKILL. */
const STOP_GRACE_MS = 5_000;

/** One parsed JSON line printed by a harness script. */
export type NodeEvent = Record<string, unknown>;

/** A running harness script. */
export interface NodeProc {
  /** Every JSON line printed so far, in order. */
  readonly lines: readonly NodeEvent[];
  /** Everything printed on stderr so far. */
  readonly stderr: string;
  /** Resolves with the first line (already printed or still to come) that matches. */
  waitFor(
    match: (e: NodeEvent) => boolean,
    timeoutMs?: number,
  ): Promise<NodeEvent>;
  /** Resolves with the first line whose "event" field equals name. */
  waitForEvent(name: string, timeoutMs?: number): Promise<NodeEvent>;
  /** Resolves with the exit status once the process ends by itself (bounded). */
  exited(timeoutMs?: number): Promise<Deno.CommandStatus>;
  /** SIGTERM (SIGKILL after a grace period), then waits for exit and closes every pipe. */
  stop(): Promise<Deno.CommandStatus>;
}

function assertInstalled(): void {
  try {
    Deno.statSync(`${HARNESS_DIR}node_modules/hypercore/package.json`);
  } catch {
    throw new Error(
      "The Node reference packages are not installed: run `deno task setup` " +
        "(npm ci --prefix tests/interop)",
    );
  }
}

/** Rejects after ms; what() is called only then, so it can describe the state at that time. */
function withTimeout<T>(
  p: Promise<T>,
  ms: number,
  what: () => string,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`Timed out after ${ms} ms waiting for ${what()}`)),
      ms,
    );
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Starts `node tests/interop/<script> ...args`. stdin stays open (the long-running scripts
 * shut down when it closes) unless `stdin` text is given, which is written and then closed.
 */
export function spawnNode(
  script: string,
  args: string[],
  opts: { stdin?: string } = {},
): NodeProc {
  assertInstalled();
  const child = new Deno.Command("node", {
    args: [`${HARNESS_DIR}${script}`, ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();

  const lines: NodeEvent[] = [];
  let stderr = "";
  const waiters = new Set<() => void>();
  let stdoutClosed = false;
  const notify = () => {
    for (const w of waiters) w();
  };

  const stdoutDone = (async () => {
    let buf = "";
    for await (
      const chunk of child.stdout.pipeThrough(new TextDecoderStream())
    ) {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line === "") continue;
        try {
          lines.push(JSON.parse(line) as NodeEvent);
        } catch {
          lines.push({ event: "unparsed", text: line });
        }
      }
      notify();
    }
    stdoutClosed = true;
    notify();
  })();
  const stderrDone = (async () => {
    for await (
      const chunk of child.stderr.pipeThrough(new TextDecoderStream())
    ) stderr += chunk;
  })();

  const writer = child.stdin.getWriter();
  let stdinClosed = false;
  const closeStdin = async () => {
    if (stdinClosed) return;
    stdinClosed = true;
    try {
      await writer.close();
    } catch {
      // The child already exited and the pipe is broken: nothing left to close.
    }
  };
  if (opts.stdin !== undefined) {
    const input = new TextEncoder().encode(opts.stdin);
    writer.write(input).then(closeStdin, closeStdin);
  }

  let status: Promise<Deno.CommandStatus> | null = null;
  const finish = async (): Promise<Deno.CommandStatus> => {
    const s = await child.status;
    await closeStdin();
    await Promise.all([stdoutDone, stderrDone]);
    return s;
  };
  const finished = () => status ??= finish();

  const proc: NodeProc = {
    lines,
    get stderr() {
      return stderr;
    },
    waitFor(match, timeoutMs = DEFAULT_EVENT_TIMEOUT_MS) {
      let check = () => {};
      const found = new Promise<NodeEvent>((resolve, reject) => {
        check = () => {
          const hit = lines.find(match);
          if (hit !== undefined) {
            waiters.delete(check);
            resolve(hit);
          } else if (stdoutClosed) {
            waiters.delete(check);
            reject(
              new Error(
                `${script} exited without the expected line; stderr:\n${stderr}`,
              ),
            );
          }
        };
        waiters.add(check);
        check();
      });
      return withTimeout(
        found,
        timeoutMs,
        () => `a line from ${script}; stderr:\n${stderr}`,
      )
        .finally(() => waiters.delete(check));
    },
    waitForEvent(name, timeoutMs) {
      return proc.waitFor((e) => e.event === name, timeoutMs);
    },
    exited(timeoutMs = DEFAULT_EVENT_TIMEOUT_MS) {
      return withTimeout(
        finished(),
        timeoutMs,
        () => `${script} to exit; stderr:\n${stderr}`,
      );
    },
    async stop() {
      try {
        child.kill("SIGTERM");
      } catch {
        // Already exited.
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const hard = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          try {
            child.kill("SIGKILL");
          } catch {
            // Exited during the grace period.
          }
          resolve();
        }, STOP_GRACE_MS);
      });
      try {
        return await Promise.race([finished(), hard.then(finished)]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
  return proc;
}

/** Result of a one-shot script. */
export interface NodeRun {
  code: number;
  lines: NodeEvent[];
  stderr: string;
}

/** Runs a script to completion (bounded by timeoutMs, killed after it) and collects its output. */
export async function runNode(
  script: string,
  args: string[],
  opts: { stdin?: string; timeoutMs?: number } = {},
): Promise<NodeRun> {
  const proc = spawnNode(
    script,
    args,
    opts.stdin === undefined ? {} : { stdin: opts.stdin },
  );
  try {
    const status = await proc.exited(opts.timeoutMs ?? 60_000);
    return { code: status.code, lines: [...proc.lines], stderr: proc.stderr };
  } finally {
    await proc.stop();
  }
}
