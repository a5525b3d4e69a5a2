/**
 * `pigeon send` and `pigeon recv` as a user runs them: real processes over
 * loopback TCP, stdout/stderr/exit code checked apart, and interop with real
 * hypercore 11 peers (tests/interop serve.js and fetch.js) through the CLI.
 */
import assert from "node:assert/strict";
import { toHex } from "../../lib/crypto/bytes.ts";
import { spawnNode } from "../interop/_harness.ts";
import {
  BLOCK,
  type Exit,
  randomBytes,
  readStoredLog,
  removeDir,
  runPigeon,
  sameBytes,
  type Sender,
  sha256,
  spawnPigeon,
  startSend,
  tempDir,
} from "./_cli.ts";

/** 15 full blocks and a partial one: not a multiple of 64 KiB. */
const MULTI_BLOCK_BYTES = 1_000_000;

/** A sender and a folder, cleaned up by the caller's finally. */
async function withSender(
  args: string[],
  options: { input?: Uint8Array; keepStdin?: boolean },
  body: (sender: Sender, dir: string) => Promise<void>,
): Promise<void> {
  const dir = await tempDir();
  let sender: Sender | null = null;
  try {
    sender = await startSend(`${dir}/send`, args, options);
    await body(sender, dir);
  } finally {
    await sender?.proc.stop();
    await removeDir(dir);
  }
}

function recv(dir: string, args: string[], ms = 30_000): Promise<Exit> {
  return runPigeon(["recv", ...args, "--store", `${dir}/recv`], { ms });
}

/** One line on stderr, starting "pigeon: ", with no stack trace, and nothing on stdout. */
function assertOneLineError(result: Exit, mentions: RegExp): void {
  assert.equal(result.stdout.byteLength, 0, "nothing on stdout");
  assert.match(result.stderr, /^pigeon: [^\n]+\n$/, `stderr was ${JSON.stringify(result.stderr)}`);
  assert.match(result.stderr, mentions);
  assert.doesNotMatch(result.stderr, /^\s+at /m, "no stack trace");
}

/** Names in a folder, to check that no temporary file is left behind. */
async function listDir(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  return names.sort();
}

Deno.test("send/recv: a file arrives on recv's stdout byte for byte", async () => {
  const dir = await tempDir();
  const input = randomBytes(MULTI_BLOCK_BYTES);
  await Deno.writeFile(`${dir}/in`, input);
  await withSender([`${dir}/in`], {}, async (sender) => {
    const out = sender.proc.stdout();
    assert.equal(new TextDecoder().decode(out), sender.link + "\n", "the link is the only line");
    assert.match(sender.link, /^hyper:\/\/[a-z0-9]{52}$/);
    assert.match(sender.proc.stderr, /\(16 blocks, 1000000 bytes\)/);
    const got = await recv(dir, [sender.link, "--peer", sender.peer]);
    assert.equal(got.code, 0, got.stderr);
    sameBytes(got.stdout, input, "recv stdout");
    assert.match(got.stderr, /received 16 blocks, 1000000 bytes, all verified/);
    assert.doesNotMatch(got.stderr, /warning|error/i);
    sameBytes(await readStoredLog(`${dir}/recv`, sender.key), input, "recv's stored log");
  });
  await removeDir(dir);
});

for (const form of [["-"], []]) {
  const name = form.length ? "send -" : "send with no FILE";
  Deno.test(`send/recv: ${name} reads stdin to EOF`, async () => {
    const input = randomBytes(3 * BLOCK + 12345);
    await withSender(form, { input }, async (sender, dir) => {
      assert.match(sender.proc.stderr, /\(4 blocks, 208953 bytes\)/);
      const got = await recv(dir, [sender.link, "--peer", sender.peer]);
      assert.equal(got.code, 0, got.stderr);
      sameBytes(got.stdout, input, "recv stdout");
    });
  });
}

Deno.test("send/recv: -o FILE is written whole, with no temporary file left", async () => {
  const input = randomBytes(5 * BLOCK - 1);
  await withSender(["-"], { input }, async (sender, dir) => {
    await Deno.mkdir(`${dir}/out`);
    const got = await recv(dir, [sender.link, "--peer", sender.peer, "-o", `${dir}/out/file`]);
    assert.equal(got.code, 0, got.stderr);
    assert.equal(got.stdout.byteLength, 0, "nothing on stdout with -o");
    sameBytes(await Deno.readFile(`${dir}/out/file`), input, "the output file");
    assert.deepEqual(await listDir(`${dir}/out`), ["file"]);
  });
});

Deno.test("send/recv: a failed recv -o leaves no FILE and no temporary file", async () => {
  const dir = await tempDir();
  // A port nobody listens on: bind one, note it, close it.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  try {
    await Deno.mkdir(`${dir}/out`);
    const link = `hyper://${"y".repeat(52)}`;
    const got = await recv(dir, [
      link,
      "--peer",
      `127.0.0.1:${port}`,
      "--timeout",
      "1",
      "-o",
      `${dir}/out/file`,
    ]);
    assert.equal(got.code, 3, got.stderr);
    assert.deepEqual(await listDir(`${dir}/out`), [], "no partial FILE is visible");
  } finally {
    await removeDir(dir);
  }
});

Deno.test("send/recv: empty input makes an empty log that recv receives as 0 bytes", async () => {
  await withSender(["-"], { input: new Uint8Array(0) }, async (sender, dir) => {
    assert.match(sender.proc.stderr, /\(0 blocks, 0 bytes\)/);
    const got = await recv(dir, [sender.link, "--peer", sender.peer]);
    assert.equal(got.code, 0, got.stderr);
    assert.equal(got.stdout.byteLength, 0);
    const file = await recv(dir, [sender.link, "--peer", sender.peer, "-o", `${dir}/empty`]);
    assert.equal(file.code, 0, file.stderr);
    assert.equal((await Deno.stat(`${dir}/empty`)).size, 0);
  });
});

Deno.test("send/recv: exact multiples of the block size and one byte more", async () => {
  for (const size of [BLOCK, 2 * BLOCK, 2 * BLOCK + 1]) {
    const input = randomBytes(size);
    await withSender(["-"], { input }, async (sender, dir) => {
      const got = await recv(dir, [sender.link, "--peer", sender.peer]);
      assert.equal(got.code, 0, got.stderr);
      sameBytes(got.stdout, input, `recv of ${size} bytes`);
    });
  }
});

Deno.test("send/recv: --live appends each write and recv --live follows every step", async () => {
  await withSender(["--live"], { keepStdin: true }, async (sender, dir) => {
    const follower = spawnPigeon([
      "recv",
      sender.link,
      "--peer",
      sender.peer,
      "--live",
      "--store",
      `${dir}/recv`,
    ]);
    try {
      const steps = [
        randomBytes(1000),
        randomBytes(BLOCK + 500),
        randomBytes(7),
        randomBytes(3 * BLOCK),
      ];
      const sent: Uint8Array[] = [];
      let total = 0;
      for (const step of steps) {
        await sender.proc.write(step);
        sent.push(step);
        total += step.byteLength;
        const got = await follower.waitStdout(total, 15_000);
        const expected = new Uint8Array(total);
        let at = 0;
        for (const s of sent) {
          expected.set(s, at);
          at += s.byteLength;
        }
        sameBytes(got, expected, `follower after ${sent.length} steps`);
      }
      await sender.proc.closeStdin();
      await sender.proc.waitStderr((line) =>
        line.startsWith("input ended at ") &&
        line.endsWith(` blocks, ${total} bytes; still serving`)
      );
      assert.equal(follower.done, false, "recv --live keeps following");
      follower.kill("SIGINT");
      const end = await follower.exited();
      assert.equal(end.code, 130, end.stderr);
      assert.equal(end.stdout.byteLength, total, "nothing beyond what was sent");
    } finally {
      await follower.stop();
    }
  });
});

Deno.test("send/recv: hyper://KEY+VERSION receives only that version's blocks", async () => {
  const input = randomBytes(5 * BLOCK + 777);
  await withSender(["-"], { input }, async (sender, dir) => {
    const pinned = await recv(dir, [`${sender.link}+3`, "--peer", sender.peer]);
    assert.equal(pinned.code, 0, pinned.stderr);
    sameBytes(pinned.stdout, input.subarray(0, 3 * BLOCK), "version 3");
    const zero = await recv(dir, [`${sender.link}+0`, "--peer", sender.peer]);
    assert.equal(zero.code, 0, zero.stderr);
    assert.equal(zero.stdout.byteLength, 0, "version 0 is empty");
    // A version the log never reached: nothing more will come, exit 3 at the timeout.
    const beyond = await recv(dir, [`${sender.link}+9`, "--peer", sender.peer, "--timeout", "1"]);
    assert.equal(beyond.code, 3, beyond.stderr);
    sameBytes(beyond.stdout, input, "every block the log has, then nothing");
  });
});

Deno.test("send/recv: --json prints NDJSON events on stderr, including connected and done", async () => {
  const input = randomBytes(2 * BLOCK + 3);
  await withSender(["-", "--json"], { input }, async (sender, dir) => {
    const got = await recv(dir, ["--json", sender.link, "--peer", sender.peer]);
    assert.equal(got.code, 0, got.stderr);
    sameBytes(got.stdout, input, "recv stdout stays data");
    const events = got.stderr.trimEnd().split("\n").map((line) => JSON.parse(line));
    const names = events.map((e) => e.event);
    assert.ok(names.includes("connected"), names.join());
    const done = events.find((e) => e.event === "done");
    assert.deepEqual(done, { event: "done", length: 3, bytes: input.byteLength });
    assert.ok(names.indexOf("connected") < names.indexOf("done"));

    const sent = sender.proc.events();
    const log = sent.find((e) => e.event === "log");
    assert.equal(log?.link, sender.link);
    assert.equal(log?.length, 3);
    assert.ok(sent.some((e) => e.event === "listening" && e.port === sender.port));
    await sender.proc.waitEvent("connected");
  });
});

Deno.test("send/recv: --quiet prints the link and the data, and nothing on stderr", async () => {
  const input = randomBytes(1000);
  const dir = await tempDir();
  // --quiet hides the port, so pick a free one first.
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const send = spawnPigeon(
    ["send", "-", "--quiet", "--port", String(port), "--host", "127.0.0.1", "--store", `${dir}/s`],
    { stdin: "piped" },
  );
  try {
    await send.write(input);
    await send.closeStdin();
    const link = await send.waitStdoutLine();
    const got = await recv(dir, [link, "--peer", `127.0.0.1:${port}`, "--quiet"]);
    assert.equal(got.code, 0, got.stderr);
    assert.equal(got.stderr, "", "recv --quiet is silent on stderr");
    sameBytes(got.stdout, input, "recv stdout");
    assert.equal(send.stderr, "", "send --quiet is silent on stderr");
    assert.equal(new TextDecoder().decode(send.stdout()), link + "\n");
  } finally {
    await send.stop();
    await removeDir(dir);
  }
});

Deno.test("send/recv: a link nobody serves exits 3 within --timeout", async () => {
  const dir = await tempDir();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const closedPort = (listener.addr as Deno.NetAddr).port;
  listener.close();
  try {
    const link = `hyper://${"o".repeat(52)}`;
    const none = await recv(dir, [link, "--peer", `127.0.0.1:${closedPort}`, "--timeout", "1"]);
    assert.equal(none.code, 3, none.stderr);
    assertOneLineError(none, /No peer had the log within 1 s/);
    assert.ok(none.ms < 8000, `exited after ${none.ms} ms`);

    // A live pigeon that serves another log: the channel is refused, still exit 3.
    await withSender(["-"], { input: randomBytes(10) }, async (sender) => {
      const other = await recv(dir, [link, "--peer", sender.peer, "--timeout", "1.5"]);
      assert.equal(other.code, 3, other.stderr);
      assert.match(other.stderr, /No peer had the log within 1.5 s/);
      assert.ok(other.ms >= 1500 && other.ms < 9000, `exited after ${other.ms} ms`);
    });
  } finally {
    await removeDir(dir);
  }
});

Deno.test("send/recv: bad input exits 2 with one line on stderr", async () => {
  const dir = await tempDir();
  try {
    const link = `hyper://${"o".repeat(52)}`;
    const cases: [string[], RegExp][] = [
      [["recv", "hyper://nope", "--peer", "127.0.0.1:1"], /nope|link|key/i],
      [["recv", "not a link", "--peer", "127.0.0.1:1"], /link|key/i],
      [["recv", link, "--no-lan"], /needs --peer HOST:PORT when LAN discovery is off/],
      [["recv", link, "--peer", "127.0.0.1:99999"], /--peer takes HOST:PORT/],
      [["recv", link, "--peer", "127.0.0.1:x"], /--peer takes HOST:PORT/],
      [["recv", link, "--peer", "127.0.0.1:1", "--timeout", "soon"], /--timeout/],
      [["recv"], /expects 1 argument/],
      [["send", "--port", "70000", "-"], /--port must be 0…65535, got 70000/],
      [["send", "--port", "-1", "-"], /--port|option/],
      [["send", "--port", "abc", "-"], /--port must be/],
      [["send", "--timeout", "0", "-"], /--timeout must be a positive number/],
      [["send", `${dir}/missing`], /No such file/],
      [["send", dir], /is a folder/],
      [["send", "a", "b"], /argument/],
    ];
    for (const [args, mentions] of cases) {
      const result = await runPigeon([...args, "--store", `${dir}/store`]);
      assert.equal(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
      assertOneLineError(result, mentions);
    }
  } finally {
    await removeDir(dir);
  }
});

Deno.test("send/recv: SIGINT stops send with exit 130, and its log stays readable", async () => {
  const input = randomBytes(2 * BLOCK + 99);
  const dir = await tempDir();
  const sender = await startSend(`${dir}/send`, ["-"], { input });
  try {
    sender.proc.kill("SIGINT");
    const end = await sender.proc.exited();
    assert.equal(end.code, 130, end.stderr);
    assert.equal(end.signal, null, "pigeon exited by itself");
    assert.doesNotMatch(end.stderr, /^\s+at /m, "no stack trace");
    sameBytes(await readStoredLog(sender.store, sender.key), input, "the stored log");
  } finally {
    await sender.proc.stop();
    await removeDir(dir);
  }
});

Deno.test("send/recv: SIGINT during recv -o exits 130 and leaves no file", async () => {
  await withSender(["--live"], { keepStdin: true }, async (sender, dir) => {
    await sender.proc.write(randomBytes(100));
    const follower = spawnPigeon([
      "recv",
      sender.link,
      "--peer",
      sender.peer,
      "--live",
      "-o",
      `${dir}/out`,
      "--store",
      `${dir}/recv`,
    ]);
    try {
      await follower.waitStderr(/^connected to /);
      // Data is arriving into a temporary file; FILE itself must not exist yet.
      await Deno.stat(`${dir}/out`).then(
        () => assert.fail("FILE is visible before recv finished"),
        (err) => assert.ok(err instanceof Deno.errors.NotFound),
      );
      follower.kill("SIGINT");
      const end = await follower.exited();
      assert.equal(end.code, 130, end.stderr);
      const names = [];
      for await (const e of Deno.readDir(dir)) names.push(e.name);
      assert.ok(!names.some((n) => n.startsWith("out")), `left behind: ${names.join(", ")}`);
    } finally {
      await follower.stop();
    }
  });
});

// -- interop with real hypercore 11 through the CLI ---------------------------

/** serve.js's --data-seed stream: AES-256-CTR, key SHA-256(seed), zero counter. */
async function seededBytes(seed: string, n: number): Promise<Uint8Array> {
  const keyBytes = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(seed));
  const key = await crypto.subtle.importKey("raw", keyBytes, "AES-CTR", false, ["encrypt"]);
  return new Uint8Array(
    await crypto.subtle.encrypt(
      { name: "AES-CTR", counter: new Uint8Array(16), length: 128 },
      key,
      new Uint8Array(n),
    ),
  );
}

Deno.test("send/recv interop: pigeon recv gets identical bytes from a real hypercore (serve.js)", async () => {
  const dir = await tempDir();
  const seed = toHex(crypto.getRandomValues(new Uint8Array(32)));
  const server = spawnNode("serve.js", [
    "--seed",
    seed,
    "--count",
    "37",
    "--size",
    "50000",
    "--data-seed",
    "pigeon-recv",
  ]);
  try {
    const listening = await server.waitForEvent("listening");
    const expected = await seededBytes("pigeon-recv", 37 * 50000);
    const got = await recv(dir, [
      String(listening.key),
      "--peer",
      `127.0.0.1:${listening.port}`,
      "-o",
      `${dir}/out`,
    ]);
    assert.equal(got.code, 0, got.stderr);
    sameBytes(await Deno.readFile(`${dir}/out`), expected, "file from hypercore");
  } finally {
    await server.stop();
    await removeDir(dir);
  }
});

Deno.test("send/recv interop: a real hypercore (fetch.js --all --out) downloads what pigeon send serves", async () => {
  const input = randomBytes(7 * BLOCK + 4321);
  await withSender(["-"], { input }, async (sender, dir) => {
    const fetch = spawnNode("fetch.js", [
      "--peer",
      sender.peer,
      "--key",
      toHex(sender.key),
      "--all",
      "--out",
      `${dir}/fetched`,
      "--timeout-ms",
      "20000",
    ]);
    try {
      const written = await fetch.waitForEvent("written");
      const done = await fetch.waitForEvent("done");
      assert.equal(done.length, 8);
      assert.equal(done.byteLength, input.byteLength);
      assert.equal(written.bytes, input.byteLength);
      assert.equal(written.sha256, await sha256(input));
      sameBytes(await Deno.readFile(`${dir}/fetched`), input, "file written by hypercore");
      const status = await fetch.exited();
      assert.equal(status.code, 0, fetch.stderr);
    } finally {
      await fetch.stop();
    }
  });
});
