import assert from "node:assert/strict";
import { defineCommand } from "../../lib/cli/command.ts";
import { EXIT, EXIT_BY_ERROR_CODE, exitCodeFor, UsageError } from "../../lib/cli/exit.ts";
import { main, type System } from "../../lib/cli/main.ts";
import { Output, type Sink } from "../../lib/cli/output.ts";
import { COMMANDS } from "../../lib/cli/commands.ts";
import { type ErrorCode, PigeonError } from "../../lib/errors.ts";

/** A sink that collects bytes, optionally failing with BrokenPipe after `limit` bytes. */
class MemorySink implements Sink {
  chunks: Uint8Array[] = [];
  #terminal: boolean;
  #limit: number;
  #written = 0;
  constructor(terminal = false, limit = Infinity) {
    this.#terminal = terminal;
    this.#limit = limit;
  }
  write(p: Uint8Array): Promise<number> {
    if (this.#written >= this.#limit) return Promise.reject(new Deno.errors.BrokenPipe("EPIPE"));
    const n = Math.min(p.byteLength, this.#limit - this.#written, 7); // short writes on purpose
    this.chunks.push(p.slice(0, n));
    this.#written += n;
    return Promise.resolve(n);
  }
  isTerminal(): boolean {
    return this.#terminal;
  }
  text(): string {
    return new TextDecoder().decode(new Uint8Array(this.chunks.flatMap((c) => [...c])));
  }
}

class FakeSystem implements System {
  stdout: MemorySink;
  stderr: MemorySink;
  stdin: ReadableStream<Uint8Array> = new ReadableStream({ start: (c) => c.close() });
  stdinIsTerminal = false;
  cwd = "/";
  columns = 0;
  vars: Record<string, string> = {};
  handlers = new Map<Deno.Signal, Set<() => void>>();
  constructor(stdout = new MemorySink(), stderr = new MemorySink()) {
    this.stdout = stdout;
    this.stderr = stderr;
  }
  env(name: string): string | undefined {
    return this.vars[name];
  }
  addSignalListener(signal: Deno.Signal, handler: () => void): void {
    if (!this.handlers.has(signal)) this.handlers.set(signal, new Set());
    this.handlers.get(signal)!.add(handler);
  }
  removeSignalListener(signal: Deno.Signal, handler: () => void): void {
    this.handlers.get(signal)?.delete(handler);
  }
  raise(signal: Deno.Signal): void {
    for (const handler of [...(this.handlers.get(signal) ?? [])]) handler();
  }
  listeners(): number {
    return [...this.handlers.values()].reduce((n, set) => n + set.size, 0);
  }
}

/** Resolves when `predicate` holds, polling each macrotask, failing after `ms`. */
async function until(predicate: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

const failing = (err: unknown) =>
  defineCommand({
    name: "fail",
    summary: "fails",
    usage: "Usage: pigeon fail",
    options: {},
    run() {
      return Promise.reject(err);
    },
  });

Deno.test("cli exit: every library error code has an exit code from the documented set", () => {
  const allowed = new Set<number>(Object.values(EXIT));
  for (const [code, exit] of Object.entries(EXIT_BY_ERROR_CODE)) {
    assert.ok(allowed.has(exit), `${code} maps to ${exit}`);
    assert.equal(exitCodeFor(new PigeonError(code as ErrorCode, "x")), exit);
  }
  assert.equal(exitCodeFor(new PigeonError("INVALID_LINK", "x")), 2);
  assert.equal(exitCodeFor(new PigeonError("NOT_FOUND", "x")), 3);
  assert.equal(exitCodeFor(new PigeonError("TIMEOUT", "x")), 3);
  assert.equal(exitCodeFor(new PigeonError("INVALID_PROOF", "x")), 4);
  assert.equal(exitCodeFor(new UsageError("x")), 2);
  assert.equal(exitCodeFor(new TypeError("x")), 1);
});

Deno.test("cli main: a PigeonError becomes one line on stderr and its exit code", async () => {
  const system = new FakeSystem();
  const err = new PigeonError("INVALID_PROOF", "Block 7 failed\nverification", {
    cause: new Error("inner"),
  });
  const code = await main(["fail"], { system, commands: [failing(err)] });
  assert.equal(code, EXIT.INTEGRITY);
  assert.equal(system.stdout.text(), "");
  assert.equal(system.stderr.text(), "pigeon: Block 7 failed verification\n");
  assert.equal(system.listeners(), 0, "signal listeners are removed");
});

Deno.test("cli main: an unexpected error exits 1 without a stack unless PIGEON_DEBUG=1", async () => {
  const quiet = new FakeSystem();
  assert.equal(
    await main(["fail"], { system: quiet, commands: [failing(new TypeError("boom"))] }),
    1,
  );
  assert.equal(quiet.stderr.text(), "pigeon: TypeError: boom (PIGEON_DEBUG=1 shows the stack)\n");

  const debug = new FakeSystem();
  debug.vars.PIGEON_DEBUG = "1";
  assert.equal(
    await main(["fail"], { system: debug, commands: [failing(new TypeError("boom"))] }),
    1,
  );
  const lines = debug.stderr.text().split("\n");
  assert.equal(lines[0], "pigeon: TypeError: boom");
  assert.match(lines[1]!, /^TypeError: boom/);
  assert.ok(lines.some((l) => l.includes("main_test.ts")), "the stack names this file");
});

Deno.test("cli main: --json turns errors and results into NDJSON events", async () => {
  const system = new FakeSystem();
  const code = await main(["--json", "fail"], {
    system,
    commands: [failing(new PigeonError("NOT_FOUND", "No peer has it"))],
  });
  assert.equal(code, 3);
  assert.deepEqual(JSON.parse(system.stderr.text()), {
    event: "error",
    message: "No peer has it",
    exit: 3,
    code: "NOT_FOUND",
  });

  const ok = new FakeSystem();
  assert.equal(await main(["version", "--json"], { system: ok }), 0);
  const event = JSON.parse(ok.stdout.text());
  assert.equal(event.event, "version");
  assert.equal(event.deno, Deno.version.deno);
});

Deno.test("cli main: usage errors exit 2 with one line and no stack", async () => {
  const cases: [string[], string][] = [
    [["nope"], "pigeon: unknown command \"nope\" (run 'pigeon help' for the list)\n"],
    [["link", "--bogus"], "pigeon: link: unknown option --bogus (run 'pigeon link --help')\n"],
    [["--bogus", "link"], "pigeon: unknown option --bogus (run 'pigeon --help')\n"],
    [
      ["version", "extra"],
      "pigeon: version: unexpected argument \"extra\" (run 'pigeon version --help')\n",
    ],
    [["help", "nope"], "pigeon: help: unknown command \"nope\" (run 'pigeon help' for the list)\n"],
    [
      ["link", "--hex=1", "k"],
      "pigeon: link: option --hex takes no value (run 'pigeon link --help')\n",
    ],
  ];
  for (const [argv, stderr] of cases) {
    const system = new FakeSystem();
    system.vars.PIGEON_DEBUG = "1"; // even in debug mode, usage errors have no stack
    assert.equal(await main(argv, { system }), 2, argv.join(" "));
    assert.equal(system.stderr.text(), stderr);
    assert.equal(system.stdout.text(), "");
  }
});

Deno.test("cli main: SIGINT aborts the command, runs cleanup hooks last-first, exits 130", async () => {
  const system = new FakeSystem();
  const order: string[] = [];
  let started = false;
  const waiting = defineCommand({
    name: "wait",
    summary: "waits for a signal",
    usage: "Usage: pigeon wait",
    options: {},
    run(_args, io) {
      io.onCleanup(() => void order.push("first registered"));
      io.onCleanup(async () => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        order.push("second registered");
      });
      started = true;
      return new Promise((_, reject) => {
        io.signal.addEventListener("abort", () => {
          order.push("aborted");
          reject(io.signal.reason);
        });
      });
    },
  });
  const result = main(["wait"], { system, commands: [waiting] });
  await until(() => started);
  system.raise("SIGINT");
  assert.equal(await result, 130);
  assert.deepEqual(order, ["aborted", "second registered", "first registered"]);
  assert.equal(system.stderr.text(), "", "an interruption prints no error");
  assert.equal(system.listeners(), 0);
});

Deno.test("cli main: SIGTERM exits 130 even when the command ignores the abort", async () => {
  const system = new FakeSystem();
  let cleaned = false;
  let release: () => void = () => {};
  const stubborn = defineCommand({
    name: "stubborn",
    summary: "ignores signals",
    usage: "Usage: pigeon stubborn",
    options: {},
    run(_args, io) {
      io.onCleanup(() => {
        cleaned = true;
        release();
      });
      return new Promise<void>((resolve) => (release = resolve));
    },
  });
  const result = main(["stubborn"], { system, commands: [stubborn] });
  await until(() => system.listeners() > 0);
  system.raise("SIGTERM");
  assert.equal(await result, 130);
  assert.ok(cleaned);
});

Deno.test("cli main: a second SIGINT stops waiting for a slow cleanup", async () => {
  const system = new FakeSystem();
  let release: () => void = () => {};
  let hookDone = false;
  const slow = defineCommand({
    name: "slow",
    summary: "slow cleanup",
    usage: "Usage: pigeon slow",
    options: {},
    run(_args, io) {
      io.onCleanup(async () => {
        await new Promise<void>((resolve) => (release = resolve));
        hookDone = true;
      });
      return new Promise((_, reject) => io.signal.addEventListener("abort", () => reject(1)));
    },
  });
  const result = main(["slow"], { system, commands: [slow] });
  await until(() => system.listeners() > 0);
  system.raise("SIGINT");
  assert.equal(hookDone, false);
  system.raise("SIGINT");
  assert.equal(await result, 130);
  assert.equal(hookDone, false, "main returned before the cleanup finished");
  release(); // let the hook (and its deadline timer) finish before the test ends
  await until(() => hookDone);
  await new Promise((resolve) => setTimeout(resolve, 0));
});

Deno.test("cli main: cleanup hooks also run after a normal finish", async () => {
  const system = new FakeSystem();
  let cleaned = 0;
  const tidy = defineCommand({
    name: "tidy",
    summary: "registers cleanup",
    usage: "Usage: pigeon tidy",
    options: {},
    async run(_args, io) {
      io.onCleanup(() => void cleaned++);
      await io.out.print("done");
    },
  });
  assert.equal(await main(["tidy"], { system, commands: [tidy] }), 0);
  assert.equal(cleaned, 1);
  assert.equal(system.stdout.text(), "done\n");
});

Deno.test("cli main: a closed stdout (EPIPE) ends the command quietly with 0", async () => {
  const system = new FakeSystem(new MemorySink(false, 100));
  let writes = 0;
  const chatty = defineCommand({
    name: "chatty",
    summary: "writes forever",
    usage: "Usage: pigeon chatty",
    options: {},
    stdoutIsData: true,
    async run(_args, io) {
      const chunk = new Uint8Array(64).fill(120);
      for (;;) {
        await io.out.write(chunk);
        writes++;
        if (writes > 1000) throw new Error("EPIPE was not noticed");
      }
    },
  });
  assert.equal(await main(["chatty"], { system, commands: [chatty] }), 0);
  assert.equal(writes, 1);
  assert.equal(system.stderr.text(), "");
});

Deno.test("cli output: human and JSON modes route each kind of message", async () => {
  const human = { stdout: new MemorySink(), stderr: new MemorySink() };
  const out = new Output({ json: false, quiet: false, stdoutIsData: false, ...human });
  void out.print("result"); // not awaited: order must still hold
  void out.note("note");
  void out.event("ignored");
  void out.progress("not a terminal");
  await out.warn("careful");
  assert.equal(human.stdout.text(), "result\n");
  assert.equal(human.stderr.text(), "note\npigeon: warning: careful\n");

  const json = { stdout: new MemorySink(), stderr: new MemorySink() };
  const jout = new Output({ json: true, quiet: false, stdoutIsData: true, ...json });
  await jout.result("human text", "done", { n: 1 });
  await jout.note("dropped");
  await jout.write(new Uint8Array([104, 105]));
  assert.equal(json.stdout.text(), "hi", "stdout carries only data");
  assert.equal(json.stderr.text(), '{"event":"done","n":1}\n');

  const quiet = { stdout: new MemorySink(), stderr: new MemorySink(true) };
  const qout = new Output({ json: false, quiet: true, stdoutIsData: false, ...quiet });
  await qout.note("dropped");
  await qout.progress("dropped");
  await qout.warn("kept");
  assert.equal(quiet.stderr.text(), "pigeon: warning: kept\n");
});

Deno.test("cli output: progress is drawn on a terminal stderr and cleared before other text", async () => {
  const sinks = { stdout: new MemorySink(), stderr: new MemorySink(true) };
  const out = new Output({ json: false, quiet: false, stdoutIsData: false, columns: 30, ...sinks });
  assert.ok(out.showsProgress);
  await out.progress("1/3");
  await out.progress("a very long progress line that does not fit");
  await out.note("done");
  assert.equal(
    sinks.stderr.text(),
    "\r1/3\x1b[K\ra very long progress line th…\x1b[K\r\x1b[Kdone\n",
  );
});

Deno.test("cli registry: command names are unique and every command has help", () => {
  const names = COMMANDS.map((c) => c.name);
  assert.equal(new Set(names).size, names.length);
  for (const command of COMMANDS) {
    assert.match(command.name, /^[a-z][a-z-]*$/);
    assert.ok(command.summary.length > 0 && !command.summary.includes("\n"));
    assert.ok(command.usage.startsWith(`Usage: pigeon ${command.name}`), command.name);
  }
});
