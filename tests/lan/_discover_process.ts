/**
 * Runs `_discover_child.ts` as a real child process (optionally inside a
 * network namespace) and turns its JSON lines into awaitable events.
 *
 * @module
 */

const ROOT = new URL("../../", import.meta.url);
const CHILD = new URL("./_discover_child.ts", import.meta.url).pathname;
/** How long {@link DiscoverProcess.stop} waits for a clean exit before SIGKILL. */
export const STOP_TIMEOUT_MS = 10_000;

/** One JSON line printed by the child. */
export interface ChildEvent {
  event: "ready" | "peer" | "lost" | "error" | "closed";
  [field: string]: unknown;
}

/** Options for {@link DiscoverProcess.spawn}. */
export interface DiscoverSpawnOptions {
  /** Discovery key, 64 hex characters. */
  key: string;
  /** TCP port to announce (none: look only). */
  port?: number;
  /** Interface addresses. */
  interfaces?: string[];
  /** mDNS UDP port. */
  mdnsPort?: number;
  /** The child exits on its own after this long. */
  maxMs?: number;
  /** Command prefix, e.g. `["ip", "netns", "exec", "ns1"]`. */
  prefix?: string[];
}

/** A running discovery child. */
export class DiscoverProcess {
  readonly events: ChildEvent[] = [];
  readonly #child: Deno.ChildProcess;
  readonly #done: Promise<void>;
  #stderr = "";
  #waiters = new Set<() => void>();
  #exited = false;
  #status: Promise<Deno.CommandStatus>;

  private constructor(child: Deno.ChildProcess) {
    this.#child = child;
    this.#status = child.status;
    this.#done = Promise.all([this.#readLines(), this.#readStderr()]).then(() => {});
    this.#status.then(() => {
      this.#exited = true;
      this.#wake();
    });
  }

  /** Starts a child. */
  static spawn(options: DiscoverSpawnOptions): DiscoverProcess {
    const args = ["run", "-A", "--unstable-net", CHILD, "--key", options.key];
    if (options.port !== undefined) args.push("--port", String(options.port));
    for (const i of options.interfaces ?? []) args.push("--interface", i);
    if (options.mdnsPort !== undefined) args.push("--mdns-port", String(options.mdnsPort));
    args.push("--max-ms", String(options.maxMs ?? 60_000));
    const prefix = options.prefix ?? [];
    const command = prefix.length > 0 ? prefix[0]! : Deno.execPath();
    const allArgs = prefix.length > 0 ? [...prefix.slice(1), Deno.execPath(), ...args] : args;
    const child = new Deno.Command(command, {
      args: allArgs,
      cwd: ROOT,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1", RUST_BACKTRACE: "0" },
    }).spawn();
    return new DiscoverProcess(child);
  }

  /** The child's pid. */
  get pid(): number {
    return this.#child.pid;
  }

  /** What the child wrote on stderr so far. */
  get stderr(): string {
    return this.#stderr;
  }

  /** Events with this name. */
  all(event: ChildEvent["event"]): ChildEvent[] {
    return this.events.filter((e) => e.event === event);
  }

  /** Resolves with the first event matching `match`, or rejects after `ms` (or if the child exits first). */
  waitFor(match: (e: ChildEvent) => boolean, ms: number, what: string): Promise<ChildEvent> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const found = this.events.find(match);
        if (found !== undefined) {
          done();
          resolve(found);
          return true;
        }
        if (this.#exited) {
          done();
          reject(new Error(`Child ${this.pid} exited before ${what}; stderr: ${this.#stderr}`));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        done();
        reject(
          new Error(
            `Timed out after ${ms} ms waiting for ${what} (pid ${this.pid}); events: ${
              JSON.stringify(this.events)
            }; stderr: ${this.#stderr}`,
          ),
        );
      }, ms);
      const waiter = () => void check();
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(waiter);
      };
      if (!check()) this.#waiters.add(waiter);
    });
  }

  /** Closes stdin (the child says goodbye and exits); SIGKILL after {@link STOP_TIMEOUT_MS}. */
  async stop(): Promise<Deno.CommandStatus> {
    try {
      await this.#child.stdin.close();
    } catch { /* already closed */ }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const killed = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        try {
          this.#child.kill("SIGKILL");
        } catch { /* already gone */ }
        resolve();
      }, STOP_TIMEOUT_MS);
    });
    await Promise.race([this.#status, killed]);
    clearTimeout(timer);
    const status = await this.#status;
    await this.#done;
    return status;
  }

  #wake(): void {
    for (const w of [...this.#waiters]) w();
  }

  async #readLines(): Promise<void> {
    let rest = "";
    for await (const chunk of this.#child.stdout.pipeThrough(new TextDecoderStream())) {
      rest += chunk;
      let nl: number;
      while ((nl = rest.indexOf("\n")) >= 0) {
        const line = rest.slice(0, nl);
        rest = rest.slice(nl + 1);
        try {
          this.events.push(JSON.parse(line) as ChildEvent);
        } catch {
          this.#stderr += `(stdout) ${line}\n`;
        }
      }
      this.#wake();
    }
  }

  async #readStderr(): Promise<void> {
    for await (const chunk of this.#child.stderr.pipeThrough(new TextDecoderStream())) {
      this.#stderr += chunk;
    }
  }
}
