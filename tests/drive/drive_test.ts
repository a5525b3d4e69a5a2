import assert from "node:assert/strict";
import { toHex } from "../../lib/crypto/bytes.ts";
import { isPigeonError } from "../../lib/errors.ts";
import { Drive, type DriveReader } from "../../lib/drive/drive.ts";
import type { JsonValue } from "../../lib/drive/entry.ts";
import { MemoryLog } from "./memory_log.ts";

const utf8 = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | null) => (b === null ? null : new TextDecoder().decode(b));

function newDrive() {
  const db = new MemoryLog();
  const blobs = new MemoryLog();
  return { db, blobs, drive: new Drive(db, blobs) };
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

Deno.test("drive: files, symlinks, stat, readdir and list", async () => {
  const { drive } = newDrive();
  await drive.put("/a/one.txt", utf8("one"));
  await drive.put("a\\two.txt", utf8("two"), { executable: true, metadata: { k: [1] } });
  await drive.put("/a/sub/deep.txt", utf8("deep"));
  await drive.put("/b", utf8(""));
  await drive.symlink("/link", "/a/one.txt");
  assert.equal(text(await drive.get("/a/two.txt")), "two");
  assert.equal(text(await drive.get("/a/one.txt", { start: 1 })), "ne");
  assert.equal(await drive.get("/nope"), null);
  assert.equal(await drive.get("/link"), null, "a symlink has no content itself");
  assert.equal((await drive.entry("/link", { follow: true }))!.path, "/a/one.txt");
  assert.deepEqual(await drive.stat("/a/two.txt"), {
    type: "file",
    size: 3,
    executable: true,
    linkname: null,
    metadata: { k: [1] },
    seq: 2,
  });
  assert.equal((await drive.stat("/link"))!.type, "symlink");
  assert.equal((await drive.stat("/a"))!.type, "directory");
  assert.equal((await drive.stat("/a/sub/"))!.type, "directory");
  assert.equal(await drive.stat("/zzz"), null);
  assert.deepEqual(await collect(drive.readdir("/")), ["a", "b", "link"]);
  assert.deepEqual(await collect(drive.readdir("/a")), ["one.txt", "sub", "two.txt"]);
  assert.deepEqual((await collect(drive.list("/a"))).map((e) => e.path), [
    "/a/one.txt",
    "/a/sub/deep.txt",
    "/a/two.txt",
  ]);
  assert.deepEqual(await collect(drive.read("/a/sub/deep.txt")), [utf8("deep")]);
});

Deno.test("drive: exec and metadata rewrite the entry; checkout and diff see versions", async () => {
  const { drive } = newDrive();
  await drive.put("/x", utf8("1"));
  const v1 = drive.version;
  await drive.setExecutable("/x", true);
  await drive.setMetadata("/x", { tag: "t" } as JsonValue);
  await drive.put("/y", utf8("2"));
  await drive.del("/x");
  const old: DriveReader = drive.checkout(v1);
  assert.equal(text(await old.get("/x")), "1");
  assert.equal((await old.stat("/x"))!.executable, false);
  assert.equal(await drive.get("/x"), null);
  const changes = await collect(drive.diff(old));
  assert.deepEqual(changes.map((d) => [d.path, d.left?.seq ?? null, d.right?.seq ?? null]), [
    ["/x", null, 1],
    ["/y", 4, null],
  ]);
  const mid = drive.checkout(v1 + 2);
  assert.deepEqual((await mid.entry("/x"))!.value, {
    executable: true,
    linkname: null,
    blob: { blockOffset: 0, byteOffset: 0, blockLength: 1, byteLength: 1 },
    metadata: { tag: "t" },
  });
  await assert.rejects(
    drive.setExecutable("/none", true),
    (e: unknown) => isPigeonError(e, "NOT_FOUND"),
  );
});

Deno.test("drive: symlink loops stop with BAD_ARGUMENT", async () => {
  const { drive } = newDrive();
  await drive.symlink("/a", "/b");
  await drive.symlink("/b", "/a");
  await assert.rejects(drive.entry("/a", { follow: true }), /symlinks/);
  await drive.symlink("/up", "../../x");
  await assert.rejects(
    drive.entry("/up", { follow: true }),
    (e: unknown) => isPigeonError(e, "BAD_ARGUMENT"),
  );
});

Deno.test("drive: a batch appends its entries once and sees them before flushing", async () => {
  const { drive, db } = newDrive();
  await drive.put("/first", utf8("f"));
  const batch = drive.batch();
  await batch.put("/b1", utf8("1"));
  await batch.symlink("/b2", "/b1");
  await batch.del("/first");
  assert.equal(text(await batch.get("/b1")), "1");
  assert.equal(await drive.get("/b1"), null);
  await batch.flush();
  assert.deepEqual(db.batches, [1, 1, 3]);
  assert.deepEqual((await collect(drive.list())).map((e) => e.path), ["/b1", "/b2"]);
});

Deno.test("drive: putChunks with dedup stores repeated chunks once", async () => {
  const { drive, blobs } = newDrive();
  await drive.putChunks("/d", [utf8("aa"), utf8("bb"), utf8("aa")], { dedup: true });
  assert.equal(text(await drive.get("/d")), "aabbaa");
  assert.equal((await drive.stat("/d"))!.size, 6);
  assert.equal(blobs.length, 3, "two content blocks and one map block");
  await drive.putChunks("/d", [utf8("bb"), utf8("cc")], { dedup: true });
  assert.equal(text(await drive.get("/d")), "bbcc");
  assert.equal(blobs.length, 5, "bb reused from the previous version: one new block and a map");
});

// ---------- against the real hyperdrive ----------

const REFERENCE = new URL("../interop/node_modules/hyperdrive/package.json", import.meta.url);
let installed = true;
try {
  Deno.statSync(REFERENCE);
} catch {
  installed = false;
  console.log("skipping drive interop: run `deno task setup` to install tests/interop");
}

type Op =
  | { op: "put"; path: string; data: string; executable?: boolean; metadata?: JsonValue }
  | { op: "chunks"; path: string; chunks: string[]; dedup?: boolean }
  | { op: "symlink"; path: string; target: string }
  | { op: "del"; path: string }
  | { op: "exec"; path: string; executable: boolean }
  | { op: "meta"; path: string; metadata: JsonValue }
  | { op: "batch"; ops: Op[] };

async function applyOurs(drive: Drive, ops: Op[]): Promise<void> {
  for (const op of ops) {
    switch (op.op) {
      case "put": {
        const opts = { executable: op.executable ?? false, metadata: op.metadata ?? null };
        await drive.put(op.path, utf8Hex(op.data), opts);
        break;
      }
      case "chunks":
        await drive.putChunks(op.path, op.chunks.map(utf8Hex), { dedup: op.dedup ?? false });
        break;
      case "symlink":
        await drive.symlink(op.path, op.target);
        break;
      case "del":
        await drive.del(op.path);
        break;
      case "exec":
        await drive.setExecutable(op.path, op.executable);
        break;
      case "meta":
        await drive.setMetadata(op.path, op.metadata);
        break;
      case "batch": {
        const b = drive.batch();
        for (const inner of op.ops) {
          if (inner.op === "put") await b.put(inner.path, utf8Hex(inner.data));
          else if (inner.op === "symlink") await b.symlink(inner.path, inner.target);
          else if (inner.op === "del") await b.del(inner.path);
        }
        await b.flush();
      }
    }
  }
}

function utf8Hex(h: string): Uint8Array {
  return Uint8Array.from(h.match(/../g) ?? [], (x) => parseInt(x, 16));
}

Deno.test({
  name: "drive interop: the same calls give hyperdrive's exact db and blobs blocks and reads",
  ignore: !installed,
  async fn() {
    const h = (s: string) => toHex(utf8(s));
    const ops: Op[] = [
      { op: "put", path: "/readme.md", data: h("# hi\n") },
      { op: "put", path: "docs/guide.txt", data: h("guide"), executable: true },
      { op: "put", path: "/docs/sub/a.bin", data: toHex(new Uint8Array(70_000).fill(7)) },
      { op: "symlink", path: "/docs/link", target: "guide.txt" },
      { op: "symlink", path: "/abs", target: "/readme.md" },
      { op: "put", path: "/empty", data: "", metadata: { n: 1, s: "x", a: [null, true] } },
      { op: "chunks", path: "/dd", chunks: [h("xx"), h("yy"), h("xx")], dedup: true },
      { op: "chunks", path: "/dd", chunks: [h("yy"), h("zz")], dedup: true },
      { op: "chunks", path: "/plain", chunks: [h("p1"), h("p2")] },
      { op: "exec", path: "/readme.md", executable: true },
      { op: "meta", path: "/readme.md", metadata: { edited: true } },
      { op: "del", path: "/empty" },
      { op: "del", path: "/never" },
      {
        op: "batch",
        ops: Array.from(
          { length: 14 },
          (_, i) =>
            i % 5 === 4
              ? { op: "del", path: `/many/f${i - 1}` } as Op
              : { op: "put", path: `/many/f${i}`, data: h("v" + i) } as Op,
        ),
      },
      ...Array.from({ length: 12 }, (_, i) => ({ op: "put", path: `/z/${i}`, data: h("z") }) as Op),
      { op: "del", path: "/docs/guide.txt" },
    ];
    const readdir = ["/", "/docs", "/many", "/z", "/nothing"];
    const follow = ["/abs", "/docs/link", "/readme.md"];
    const diffFrom = 6;

    const child = new Deno.Command("node", {
      args: [new URL("./reference_drive.cjs", import.meta.url).pathname],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(60_000),
    }).spawn();
    const w = child.stdin.getWriter();
    await w.write(utf8(JSON.stringify({ ops, readdir, follow, diffFrom })));
    await w.close();
    const out = await child.output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const ref = JSON.parse(new TextDecoder().decode(out.stdout));

    const { db, blobs, drive } = newDrive();
    await applyOurs(drive, ops);
    assert.equal(db.length, ref.db.length);
    db.blocks.forEach((b, i) => assert.equal(toHex(b), ref.db[i], `db block ${i}`));
    assert.equal(blobs.length, ref.blobs.length);
    blobs.blocks.forEach((b, i) => assert.equal(toHex(b), ref.blobs[i], `blobs block ${i}`));

    const list = (await collect(drive.list("/"))).map((e) => ({ path: e.path, seq: e.seq }));
    assert.deepEqual(list, ref.list);
    for (const folder of readdir) {
      assert.deepEqual(
        await collect(drive.readdir(folder)),
        ref.readdir[folder],
        `readdir ${folder}`,
      );
    }
    for (const path of follow) {
      const e = await drive.entry(path, { follow: true }).catch((err) => ({ error: String(err) }));
      const got = e === null ? null : "error" in e ? "error" : { path: e.path, seq: e.seq };
      const want = ref.follow[path] === null
        ? null
        : "error" in ref.follow[path]
        ? "error"
        : ref.follow[path];
      assert.deepEqual(got, want, `follow ${path}`);
    }
    const diff = (await collect(drive.diff(drive.checkout(diffFrom)))).map((d) => ({
      left: d.left && { path: d.left.path, seq: d.left.seq },
      right: d.right && { path: d.right.path, seq: d.right.seq },
    }));
    assert.deepEqual(diff, ref.diff);
  },
});
