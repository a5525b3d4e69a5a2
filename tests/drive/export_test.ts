/**
 * Export of a drive version to a folder: files, exec bits and symlinks kept,
 * atomic writes, prune, and refusal of every entry that would write outside
 * the target (malicious drives built directly with the library).
 */
import assert from "node:assert/strict";
import { Core } from "../../lib/core/core.ts";
import { MemoryStorage } from "../../lib/core/storage.ts";
import { Drive } from "../../lib/drive/drive.ts";
import { encodeEntry, rawEntryKey } from "../../lib/drive/entry.ts";
import { exportDrive, safeSegments } from "../../lib/drive/export.ts";

const enc = new TextEncoder();

async function memoryDrive(): Promise<Drive> {
  const db = await Core.open(new MemoryStorage());
  const blobs = await Core.open(new MemoryStorage());
  return new Drive(db, blobs);
}

/** Writes an entry under a raw (unnormalised) path, as a hostile writer could. */
async function rawFile(drive: Drive, path: string, data: string): Promise<void> {
  const blob = await drive.blobs.put(enc.encode(data));
  await drive.db.put(
    rawEntryKey(path),
    encodeEntry({ executable: false, linkname: null, blob, metadata: null }),
  );
}

async function rawLink(drive: Drive, path: string, target: string): Promise<void> {
  await drive.db.put(
    rawEntryKey(path),
    encodeEntry({ executable: false, linkname: target, blob: null, metadata: null }),
  );
}

function tree(dir: string, rel = ""): string[] {
  const out: string[] = [];
  for (const e of Deno.readDirSync(dir + rel)) {
    const p = `${rel}/${e.name}`;
    if (e.isSymlink) out.push(`${p} -> ${Deno.readLinkSync(dir + p)}`);
    else if (e.isDirectory) out.push(`${p}/`, ...tree(dir, p));
    else out.push(p);
  }
  return out.sort();
}

async function withDirs(body: (target: string, outside: string) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "pigeon-export-" });
  try {
    await Deno.mkdir(`${root}/target`);
    await Deno.mkdir(`${root}/outside`);
    await Deno.writeTextFile(`${root}/outside/victim`, "untouched");
    await body(`${root}/target`, `${root}/outside`);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

Deno.test("export: writes files, exec bits, symlinks and nested folders", async () => {
  await withDirs(async (target) => {
    const drive = await memoryDrive();
    await drive.put("/a.txt", enc.encode("alpha"));
    await drive.put("/bin/run", enc.encode("#!/bin/sh\n"), { executable: true });
    await drive.put("/deep/er/empty", new Uint8Array(0));
    await drive.put("/big", new Uint8Array(300_000).fill(7));
    await drive.symlink("/link", "a.txt");
    const r = await exportDrive(drive.snapshot(), target);
    assert.deepEqual(r, {
      files: 4,
      symlinks: 1,
      unchanged: 0,
      bytes: 300_015,
      unavailable: [],
      pruned: [],
    });
    assert.deepEqual(tree(target), [
      "/a.txt",
      "/big",
      "/bin/",
      "/bin/run",
      "/deep/",
      "/deep/er/",
      "/deep/er/empty",
      "/link -> a.txt",
    ]);
    assert.equal(Deno.statSync(`${target}/bin/run`).mode! & 0o777, 0o755);
    assert.equal(Deno.statSync(`${target}/a.txt`).mode! & 0o777, 0o644);
    assert.equal(Deno.readTextFileSync(`${target}/link`), "alpha");
    assert.equal(Deno.statSync(`${target}/big`).size, 300_000);
  });
});

for (
  const [name, build] of [
    ["../x", (d: Drive) => rawFile(d, "../x", "evil")],
    ["a/../../x", (d: Drive) => rawFile(d, "/a/../../x", "evil")],
    ["a path without the leading slash", (d: Drive) => rawFile(d, "etc/x", "evil")],
    ["//etc/x", (d: Drive) => rawFile(d, "//etc/x", "evil")],
    ["a NUL", (d: Drive) => rawFile(d, "/x\0y", "evil")],
    ["a backslash", (d: Drive) => rawFile(d, "/..\\..\\x", "evil")],
    ["a . segment", (d: Drive) => rawFile(d, "/./x", "evil")],
    ["the .pigeon state folder", (d: Drive) => rawFile(d, "/.pigeon/db/header", "evil")],
    [
      "a symlink evil -> .. then evil/x",
      async (d: Drive) => {
        await rawLink(d, "/evil", "..");
        await rawFile(d, "/evil/x", "evil");
      },
    ],
    [
      "a symlink to an absolute folder then a file under it",
      async (d: Drive) => {
        await rawLink(d, "/out", "/tmp");
        await rawFile(d, "/out/x", "evil");
      },
    ],
    [
      "a file then a file under it",
      async (d: Drive) => {
        await rawFile(d, "/f", "file");
        await rawFile(d, "/f/x", "evil");
      },
    ],
  ] as const
) {
  Deno.test(`export: refuses ${name} and writes nothing`, async () => {
    await withDirs(async (target, outside) => {
      const drive = await memoryDrive();
      await drive.put("/good.txt", enc.encode("fine"));
      await build(drive);
      await assert.rejects(
        () => exportDrive(drive.snapshot(), target),
        { code: "DECODE_ERROR", message: /Unsafe path in drive/ },
      );
      assert.deepEqual(tree(target), [], "nothing was written, not even the good file");
      assert.deepEqual(tree(outside), ["/victim"]);
      assert.equal(Deno.readTextFileSync(`${outside}/victim`), "untouched");
    });
  });
}

Deno.test("export: /etc/x is a path inside the drive, written inside the target", async () => {
  await withDirs(async (target) => {
    const drive = await memoryDrive();
    await rawFile(drive, "/etc/x", "inside");
    await exportDrive(drive.snapshot(), target);
    assert.equal(Deno.readTextFileSync(`${target}/etc/x`), "inside");
  });
});

Deno.test("export: never writes through a symlink already in the target", async () => {
  await withDirs(async (target, outside) => {
    Deno.symlinkSync(outside, `${target}/dir`);
    const drive = await memoryDrive();
    await drive.put("/dir/victim", enc.encode("overwritten!"));
    await drive.put("/dir/new", enc.encode("planted"));
    await assert.rejects(
      () => exportDrive(drive.snapshot(), target),
      { code: "BAD_ARGUMENT", message: /symlink/ },
    );
    assert.deepEqual(tree(outside), ["/victim"]);
    assert.equal(Deno.readTextFileSync(`${outside}/victim`), "untouched");
  });
});

Deno.test("export: a symlink in place of a file is replaced, not followed", async () => {
  await withDirs(async (target, outside) => {
    Deno.symlinkSync(`${outside}/victim`, `${target}/file.txt`);
    const drive = await memoryDrive();
    await drive.put("/file.txt", enc.encode("new content"));
    await exportDrive(drive.snapshot(), target);
    assert.equal(Deno.lstatSync(`${target}/file.txt`).isFile, true);
    assert.equal(Deno.readTextFileSync(`${target}/file.txt`), "new content");
    assert.equal(Deno.readTextFileSync(`${outside}/victim`), "untouched");
  });
});

Deno.test("export: leaves other files alone, or prunes them (not .pigeon, not ignored)", async () => {
  await withDirs(async (target) => {
    const drive = await memoryDrive();
    await drive.put("/keep.txt", enc.encode("k"));
    await drive.put("/.pigeonignore", enc.encode("*.local\n"));
    for (const p of ["extra.txt", "old/deep/x", "mine.local", ".pigeon/state", ".git/HEAD"]) {
      Deno.mkdirSync(`${target}/${p}`.slice(0, `${target}/${p}`.lastIndexOf("/")), {
        recursive: true,
      });
      Deno.writeTextFileSync(`${target}/${p}`, "local");
    }
    Deno.mkdirSync(`${target}/empty-of-mine`);
    await exportDrive(drive.snapshot(), target);
    assert.equal(Deno.readTextFileSync(`${target}/extra.txt`), "local", "left alone");
    const r = await exportDrive(drive.snapshot(), target, { prune: true });
    assert.deepEqual(r.pruned.sort(), ["/extra.txt", "/old/deep/x"]);
    assert.deepEqual(tree(target), [
      "/.git/",
      "/.git/HEAD",
      "/.pigeon/",
      "/.pigeon/state",
      "/.pigeonignore",
      "/empty-of-mine/",
      "/keep.txt",
      "/mine.local",
    ]);
  });
});

Deno.test("export: unavailable content is skipped and leaves no partial or temp file", async () => {
  await withDirs(async (target) => {
    const db = await Core.open(new MemoryStorage());
    const blobs = await Core.open(new MemoryStorage());
    const drive = new Drive(db, blobs);
    await drive.put("/ok", enc.encode("ok"));
    // An entry whose blob lies past the blobs log: reading it is not possible.
    await drive.db.put(
      rawEntryKey("/missing"),
      encodeEntry({
        executable: false,
        linkname: null,
        blob: { blockOffset: 0, byteOffset: 0, blockLength: 1, byteLength: 2 },
        metadata: null,
      }),
    );
    const reader = {
      listAll: () => drive.snapshot().listAll(),
      read: (p: string) => {
        if (p === "/missing") return notAvailable();
        return drive.snapshot().read(p);
      },
    } as unknown as ReturnType<Drive["snapshot"]>;
    const r = await exportDrive(reader, target);
    assert.deepEqual(r.unavailable, ["/missing"]);
    assert.deepEqual(tree(target), ["/ok"], "no temp file, no partial file");
  });
});

// deno-lint-ignore require-yield
async function* notAvailable(): AsyncGenerator<Uint8Array> {
  const { PigeonError } = await import("../../lib/errors.ts");
  throw new PigeonError("NOT_AVAILABLE", "Block 0 is not held");
}

Deno.test("export: safeSegments splits safe paths and names the problem otherwise", () => {
  assert.deepEqual(safeSegments("/a/b c/ü.txt"), ["a", "b c", "ü.txt"]);
  assert.throws(() => safeSegments("/a/../b"), { message: /'\.\.' segment/ });
  assert.throws(() => safeSegments("/" + "x".repeat(256)), { message: /longer than 255/ });
});
