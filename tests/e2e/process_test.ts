/**
 * Real signals and real pipes against a real process (tests/e2e/fixtures/slow_cli.ts,
 * which runs lib/cli/main.ts with two test-only commands).
 */
import assert from "node:assert/strict";

const SLOW_CLI = new URL("./fixtures/slow_cli.ts", import.meta.url).pathname;
const MAX_WAIT_MS = 30_000;

function spawn(command: string): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", SLOW_CLI, command],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", RUST_BACKTRACE: "0" },
  }).spawn();
}

/** Reads `stream` until `text` has appeared, bounded by MAX_WAIT_MS; releases the reader. */
async function readUntil(stream: ReadableStream<Uint8Array>, text: string): Promise<string> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let seen = "";
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no ${JSON.stringify(text)} within ${MAX_WAIT_MS} ms`)),
      MAX_WAIT_MS,
    );
  });
  try {
    while (!seen.includes(text)) {
      const { value, done } = await Promise.race([reader.read(), timeout]);
      if (done) throw new Error(`stream ended before ${JSON.stringify(text)}; got ${seen}`);
      seen += decoder.decode(value, { stream: true });
    }
    return seen;
  } finally {
    clearTimeout(timer);
    reader.releaseLock();
  }
}

async function drain(stream: ReadableStream<Uint8Array>): Promise<string> {
  let out = "";
  const decoder = new TextDecoder();
  for await (const chunk of stream) out += decoder.decode(chunk, { stream: true });
  return out;
}

/** Waits for the process to exit, killing it if it takes longer than MAX_WAIT_MS. */
async function statusOf(child: Deno.ChildProcess): Promise<Deno.CommandStatus> {
  const timer = setTimeout(() => child.kill("SIGKILL"), MAX_WAIT_MS);
  try {
    return await child.status;
  } finally {
    clearTimeout(timer);
  }
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.test(`cli process: ${signal} runs cleanup and exits 130`, async () => {
    const child = spawn("wait");
    const stderr = drain(child.stderr);
    const stdout = await readUntil(child.stdout, "ready\n");
    child.kill(signal);
    const status = await statusOf(child);
    const rest = await drain(child.stdout);
    assert.equal(status.code, 130);
    assert.equal(status.signal, null, "pigeon exited by itself rather than dying of the signal");
    assert.equal(stdout + rest, "ready\n");
    assert.equal(await stderr, "pigeon: warning: cleanup ran\n");
  });
}

Deno.test("cli process: a reader that goes away (EPIPE) ends pigeon quietly with 0", async () => {
  const child = spawn("flood");
  const stderr = drain(child.stderr);
  await readUntil(child.stdout, "aaaa");
  await child.stdout.cancel(); // close our end of the pipe
  const status = await statusOf(child);
  assert.equal(status.code, 0);
  assert.equal(await stderr, "");
});
