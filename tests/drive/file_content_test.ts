/**
 * The working-file content store: blob ranges map to files, appends store
 * nothing, and a file changed behind pigeon's back reads as NOT_AVAILABLE
 * through a verifying core, never as wrong bytes.
 */
import assert from "node:assert/strict";
import { segmentsOf, WorkingFileContent } from "../../lib/drive/file_content.ts";
import { Core } from "../../lib/core/core.ts";
import { FileStorage } from "../../lib/core/file_storage.ts";

const enc = new TextEncoder();

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

async function withDir(body: (dir: string) => Promise<void> | void): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await body(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("file content: reads map blob byte ranges to files, gaps read as zeros", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/a`, "AAAA");
    await Deno.writeTextFile(`${dir}/b`, "BBBBBB");
    const c = new WorkingFileContent(dir, [
      { byteOffset: 0, byteLength: 4, path: "/a" },
      { byteOffset: 10, byteLength: 6, path: "/b" },
    ]);
    try {
      assert.equal(c.size(), 16);
      assert.deepEqual(c.read(1, 3), enc.encode("AAA"));
      assert.deepEqual(c.read(12, 4), enc.encode("BBBB"));
      assert.deepEqual(c.read(2, 10), Uint8Array.of(65, 65, 0, 0, 0, 0, 0, 0, 66, 66));
      assert.deepEqual(c.read(16, 2), new Uint8Array(2), "past the end is zeros");
    } finally {
      c.close();
    }
  });
});

Deno.test("file content: writes are accepted only where files cover every byte", async () => {
  await withDir((dir) => {
    const c = new WorkingFileContent(dir);
    try {
      c.register({ byteOffset: 0, byteLength: 4, path: "/a" });
      c.register({ byteOffset: 4, byteLength: 2, path: "/b" });
      c.write(0, new Uint8Array(6));
      assert.throws(() => c.write(4, new Uint8Array(3)), { code: "NOT_WRITABLE" });
      assert.throws(() => c.write(6, new Uint8Array(1)), { code: "NOT_WRITABLE" });
      assert.throws(
        () => c.register({ byteOffset: 5, byteLength: 1, path: "/c" }),
        { code: "BAD_ARGUMENT" },
        "segments never overlap",
      );
      c.dropFrom(4);
      assert.equal(c.size(), 4);
      c.truncate(0);
      assert.equal(c.segmentCount, 0);
    } finally {
      c.close();
    }
  });
});

Deno.test("file content: segmentsOf sorts non-empty files by offset", () => {
  const segs = segmentsOf([
    {
      kind: "file",
      path: "/z",
      executable: false,
      size: 3,
      mtimeMs: 0,
      ino: 0,
      blob: { blockOffset: 1, byteOffset: 5, blockLength: 1, byteLength: 3 },
    },
    { kind: "symlink", path: "/l", target: "z" },
    {
      kind: "file",
      path: "/e",
      executable: false,
      size: 0,
      mtimeMs: 0,
      ino: 0,
      blob: { blockOffset: 1, byteOffset: 5, blockLength: 0, byteLength: 0 },
    },
    {
      kind: "file",
      path: "/a",
      executable: false,
      size: 5,
      mtimeMs: 0,
      ino: 0,
      blob: { blockOffset: 0, byteOffset: 0, blockLength: 1, byteLength: 5 },
    },
  ]);
  assert.deepEqual(segs, [
    { byteOffset: 0, byteLength: 5, path: "/a" },
    { byteOffset: 5, byteLength: 3, path: "/z" },
  ]);
});

Deno.test("file content: a changed file's blocks become NOT_AVAILABLE, never wrong bytes", async () => {
  await withDir(async (dir) => {
    const bytes = new Uint8Array(150_000).map((_, i) => (i * 7) % 256);
    await Deno.writeFile(`${dir}/f.bin`, bytes);
    const content = new WorkingFileContent(dir);
    const core = await Core.open(new FileStorage(`${dir}/core`, { data: content }), {
      verifyReads: true,
    });
    try {
      content.register({ byteOffset: 0, byteLength: bytes.byteLength, path: "/f.bin" });
      await core.append([bytes.slice(0, 65536), bytes.slice(65536, 131072), bytes.slice(131072)]);
      assert.equal(core.byteLength, bytes.byteLength);
      assert.deepEqual(await core.get(2), bytes.slice(131072));
      assert.equal(exists(`${dir}/core/data`), false, "no second copy of the bytes");

      // Change one byte of block 1 behind the core's back.
      const file = await Deno.open(`${dir}/f.bin`, { write: true });
      await file.seek(70_000, Deno.SeekMode.Start);
      await file.write(Uint8Array.of(bytes[70_000]! ^ 0xff));
      file.close();
      await assert.rejects(() => core.get(1), { code: "NOT_AVAILABLE" });
      assert.equal(core.has(1), false, "the block is no longer held");
      assert.deepEqual(await core.get(0), bytes.slice(0, 65536), "other blocks still read");

      // A symlink in place of the file is never followed.
      await Deno.writeFile(`${dir}/other`, bytes);
      await Deno.remove(`${dir}/f.bin`);
      await Deno.symlink(`${dir}/other`, `${dir}/f.bin`);
      content.setSegments([{ byteOffset: 0, byteLength: bytes.byteLength, path: "/f.bin" }]);
      await assert.rejects(() => core.get(0), { code: "NOT_AVAILABLE" });
    } finally {
      await core.close();
    }
  });
});
