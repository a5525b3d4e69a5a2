import assert from "node:assert/strict";
import { Core } from "../../lib/core/core.ts";
import { FileStorage } from "../../lib/core/file_storage.ts";
import { MemoryStorage } from "../../lib/core/storage.ts";
import { keyPair } from "../../lib/crypto/ed25519.ts";
import { toHex } from "../../lib/crypto/bytes.ts";
import { isPigeonError } from "../../lib/errors.ts";
import { expectedBlock } from "./_crash_blocks.ts";

const CHILD = new URL("./_append_child.ts", import.meta.url).pathname;

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "pigeon-core-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("file storage: a core reopens with its blocks, key and signature", async () => {
  await withTempDir(async (dir) => {
    const core = await Core.open(new FileStorage(dir));
    await core.append([new Uint8Array([1, 2, 3]), new Uint8Array(70000).fill(9)]);
    await core.append([new Uint8Array(0)]);
    const { key, signature } = core;
    const hash = toHex(core.treeHash());
    await core.close();

    const again = await Core.open(new FileStorage(dir));
    assert.ok(again.writable, "secret key is found in the storage folder");
    assert.deepEqual(again.key, key);
    assert.deepEqual(again.signature, signature);
    assert.equal(toHex(again.treeHash()), hash);
    assert.equal(again.length, 3);
    assert.deepEqual(await again.get(1), new Uint8Array(70000).fill(9));
    await again.append([new Uint8Array([4])]);
    assert.equal(again.length, 4);
    await again.close();

    const mode = (await Deno.stat(`${dir}/secret-key`)).mode! & 0o777;
    assert.equal(mode, 0o600);
  });
});

Deno.test("file storage: a second writer gets LOCKED naming the lock file", async () => {
  await withTempDir(async (dir) => {
    const first = await Core.open(new FileStorage(dir));
    await assert.rejects(
      Core.open(new FileStorage(dir)),
      (e) => isPigeonError(e, "LOCKED") && e.message.includes(`${dir}/lock`),
    );
    // A reader opening read-only is fine while the writer works.
    const ro = await Core.open(new FileStorage(dir, { readOnly: true }), { key: first.key });
    assert.equal(ro.writable, false, "read-only storage never opens for writing");
    assert.equal(ro.length, 0);
    await ro.close();
    await first.close();
    const second = await Core.open(new FileStorage(dir));
    await second.close();
  });
});

Deno.test("file storage: corrupt or truncated files give an error naming the file", async () => {
  await withTempDir(async (dir) => {
    const core = await Core.open(new FileStorage(dir));
    await core.append(Array.from({ length: 9 }, (_, i) => new Uint8Array(10).fill(i)));
    await core.close();
    const header = await Deno.readFile(`${dir}/header`);
    const tree = await Deno.readFile(`${dir}/tree`);
    const cases: [string, Uint8Array, string][] = [
      ["header", header.slice(0, 20), "header"],
      ["header", header.map((b, i) => (i === 40 ? b ^ 1 : b)), "header"],
      ["header", new Uint8Array(0), "header"],
      ["tree", tree.slice(0, 200), "tree"],
      ["tree", tree.map((b, i) => (i === 7 * 40 + 20 ? b ^ 0x10 : b)), "tree"],
    ];
    for (const [file, bytes, named] of cases) {
      await Deno.writeFile(`${dir}/${file}`, bytes);
      await assert.rejects(
        Core.open(new FileStorage(dir)),
        (e) => isPigeonError(e, "CORRUPT_STORAGE") && e.message.includes(named),
        `${file} ${bytes.length}`,
      );
      await Deno.writeFile(`${dir}/header`, header);
      await Deno.writeFile(`${dir}/tree`, tree);
    }
    const ok = await Core.open(new FileStorage(dir));
    assert.equal(ok.length, 9);
    await ok.close();
  });
});

async function readLines(
  stream: ReadableStream<Uint8Array>,
  until: (line: string) => boolean,
  timeoutMs: number,
): Promise<string | null> {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  const timer = setTimeout(() => reader.cancel(), timeoutMs);
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return null;
      buffered += value;
      const lines = buffered.split("\n");
      buffered = lines.pop()!;
      for (const line of lines) if (until(line)) return line;
    }
  } finally {
    clearTimeout(timer);
    reader.releaseLock();
  }
}

Deno.test({
  name: "crash: SIGKILL at random moments during appends leaves storage that reopens consistently",
  sanitizeResources: false,
  fn: async () => {
    await withTempDir(async (dir) => {
      let lastLength = 0;
      for (let round = 0; round < 20; round++) {
        const child = new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", CHILD, dir],
          stdout: "piped",
          stderr: "inherit",
        }).spawn();
        // Let it commit a random number of batches, then kill it mid-flight.
        const target = lastLength + 1 + Math.floor(Math.random() * 60);
        const seen = await readLines(child.stdout, (line) => Number(line) >= target, 30_000);
        child.kill("SIGKILL");
        await child.status;
        await child.stdout.cancel().catch(() => {});
        assert.ok(seen !== null, `round ${round}: child made progress`);

        const core = await Core.open(new FileStorage(dir));
        assert.ok(core.length >= Number(seen), `round ${round}: committed appends survive`);
        // Rebuild the whole log from its blocks: same tree hash means every block verifies.
        const check = await Core.open(new MemoryStorage(), {
          keyPair: keyPair(new Uint8Array(32).fill(7)),
        });
        for (let i = 0; i < core.length; i++) {
          const block = await core.get(i);
          assert.deepEqual(block, expectedBlock(i), `round ${round} block ${i}`);
          check.appendSync([block]);
        }
        assert.equal(toHex(check.treeHash()), toHex(core.treeHash()));
        assert.equal(check.byteLength, core.byteLength);
        assert.ok(!core.has(core.length));
        lastLength = core.length;
        await core.close();
        await check.close();
      }
    });
  },
});
