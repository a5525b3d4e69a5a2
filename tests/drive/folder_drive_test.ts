/**
 * Folder drives: create/open, import (what is recorded, what is skipped,
 * what is re-read), the index, secret keys outside the folder, clones, and
 * files changed behind pigeon's back.
 */
import assert from "node:assert/strict";
import { FolderDrive } from "../../lib/drive/folder_drive.ts";
import { MAX_DB_BATCH, RACY_WINDOW_MS } from "../../lib/drive/import.ts";
import { blobsKey } from "../../lib/drive/blobs_key.ts";
import type { ImportResult } from "../../lib/drive/import.ts";
import { keyPair } from "../../lib/crypto/ed25519.ts";
import { equals } from "../../lib/crypto/bytes.ts";

const dec = new TextDecoder();

/** A clock far enough ahead that no file counts as racily clean. */
const later = () => Date.now() + 10 * RACY_WINDOW_MS;

interface Ctx {
  dir: string;
  keys: string;
  root: string;
}

async function withFolder(body: (c: Ctx) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "pigeon-fd-" });
  const c = { root, dir: `${root}/data`, keys: `${root}/keys` };
  await Deno.mkdir(c.dir);
  try {
    await body(c);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

function write(c: Ctx, path: string, data: string | Uint8Array, mode?: number): void {
  const full = `${c.dir}/${path}`;
  Deno.mkdirSync(full.slice(0, full.lastIndexOf("/")), { recursive: true });
  if (typeof data === "string") Deno.writeTextFileSync(full, data);
  else Deno.writeFileSync(full, data);
  if (mode !== undefined) Deno.chmodSync(full, mode);
}

function paths(result: ImportResult): string[] {
  return result.changes.map((ch) => `${ch.type} ${ch.path}`);
}

async function text(drive: FolderDrive, path: string, version = drive.version): Promise<string> {
  const bytes = await drive.checkout(version).get(path);
  assert.notEqual(bytes, null, `${path} has content in version ${version}`);
  return dec.decode(bytes!);
}

Deno.test("folder drive: create makes an empty version 1, then add records the files as one version", async () => {
  await withFolder(async (c) => {
    write(c, "a.txt", "alpha");
    write(c, "sub/run.sh", "#!/bin/sh\n", 0o755);
    write(c, "empty", "");
    Deno.symlinkSync("a.txt", `${c.dir}/link`);
    const drive = await FolderDrive.create(c.dir, { keysDir: c.keys });
    try {
      assert.equal(drive.version, 1);
      assert.equal(drive.kind, "writer");
      assert.equal(drive.writable, true);
      const result = await drive.add({ now: later });
      assert.deepEqual(paths(result), ["add /a.txt", "add /empty", "add /link", "add /sub/run.sh"]);
      assert.equal(result.previous, 1);
      assert.equal(result.version, 5, "one db block per entry, appended as one batch");
      assert.equal(drive.version, 5);
      assert.equal(result.bytesAppended, 15);
      assert.equal(await text(drive, "/a.txt"), "alpha");
      const run = await drive.checkout(5).stat("/sub/run.sh");
      assert.equal(run?.executable, true);
      assert.equal((await drive.checkout(5).entry("/link"))?.value.linkname, "a.txt");
      assert.equal((await drive.checkout(5).stat("/empty"))?.size, 0);
      assert.deepEqual(drive.history().map((h) => [h.previous, h.version, h.added]), [[1, 5, 4]]);
      assert.equal(await drive.checkout(1).exists("/a.txt"), false, "version 1 is empty");
    } finally {
      await drive.close();
    }
  });
});

Deno.test("folder drive: the blobs key follows SPEC g.3 and the secret key stays outside the folder", async () => {
  await withFolder(async (c) => {
    write(c, "x", "x");
    const pair = keyPair(new Uint8Array(32).fill(9));
    const drive = await FolderDrive.create(c.dir, { keysDir: c.keys, keyPair: pair });
    try {
      const want = blobsKey({ dbKey: drive.key, manifest: drive.db.manifest, header: null })!;
      assert.ok(equals(drive.blobs!.key, want));
      assert.ok(drive.keyPath.startsWith(c.keys + "/"));
      const info = Deno.statSync(drive.keyPath);
      assert.equal(info.mode! & 0o777, 0o600);
      assert.ok(equals(Deno.readFileSync(drive.keyPath), pair.secretKey));
      for (const e of walk(c.dir)) {
        if (!Deno.lstatSync(e).isFile) continue;
        const bytes = Deno.readFileSync(e);
        assert.equal(
          contains(bytes, pair.secretKey.subarray(0, 32)),
          false,
          `${e} holds no secret`,
        );
      }
    } finally {
      await drive.close();
    }
  });
});

function* walk(dir: string): Generator<string> {
  for (const e of Deno.readDirSync(dir)) {
    const p = `${dir}/${e.name}`;
    yield p;
    if (e.isDirectory) yield* walk(p);
  }
}

function contains(hay: Uint8Array, needle: Uint8Array): boolean {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return true;
  }
  return false;
}

Deno.test("folder drive: an unchanged folder adds no version and reads no file", async () => {
  await withFolder(async (c) => {
    for (let i = 0; i < 20; i++) write(c, `d${i % 3}/f${i}`, `content ${i}`);
    const drive = await FolderDrive.create(c.dir, { keysDir: c.keys });
    try {
      await drive.add({ now: later });
      const version = drive.version;
      const again = await drive.add({ now: later });
      assert.deepEqual(again.changes, []);
      assert.equal(again.version, version);
      assert.equal(again.bytesAppended, 0);
      assert.equal(again.verified, 0, "no file was read back");
      // Proof that size + mtime + inode are trusted: same-size bytes with the old mtime go unseen.
      const info = Deno.statSync(`${c.dir}/d0/f0`);
      Deno.writeTextFileSync(`${c.dir}/d0/f0`, "CONTENT 0");
      Deno.utimeSync(`${c.dir}/d0/f0`, info.atime!, info.mtime!);
      assert.deepEqual((await drive.add({ now: later })).changes, []);
      assert.equal(drive.history().length, 1);
    } finally {
      await drive.close();
    }
  });
});

Deno.test("folder drive: a touched file is checked by content and adds nothing", async () => {
  await withFolder(async (c) => {
    write(c, "t.txt", "same bytes");
    const drive = await FolderDrive.create(c.dir, { keysDir: c.keys });
    try {
      await drive.add({ now: later });
      const v = drive.version;
      Deno.utimeSync(`${c.dir}/t.txt`, new Date(), new Date(Date.now() + 5000));
      const r = await drive.add({ now: later });
      assert.deepEqual(r.changes, []);
      assert.equal(r.verified, 1);
      assert.equal(drive.version, v);
    } finally {
      await drive.close();
    }
  });
});

Deno.test("folder drive: a same-size change within the racy window is caught by content", async () => {
  await withFolder(async (c) => {
    write(c, "r.txt", "version-1");
    const drive = await FolderDrive.create(c.dir, { keysDir: c.keys });
    try {
      const info = Deno.statSync(`${c.dir}/r.txt`);
      // The import that records r.txt started right when it was written.
      await drive.add({ now: () => info.mtime!.getTime() });
      Deno.writeTextFileSync(`${c.dir}/r.txt`, "version-2");
      Deno.utimeSync(`${c.dir}/r.txt`, info.atime!, info.mtime!); // same size, same mtime
      const r = await drive.add({ now: later });
      assert.deepEqual(paths(r), ["change /r.txt"]);
      assert.equal(await text(drive, "/r.txt"), "version-2");
    } finally {
      await drive.close();
    }
  });
});

Deno.test("folder drive: content, exec bit, symlink and type changes, deletions", async () => {
  await withFolder(async (c) => {
    write(c, "a", "1");
    write(c, "b", "2");
    write(c, "c", "3");
    Deno.symlinkSync("a", `${c.dir}/l`);
    write(c, "t", "becomes a link");
    const drive = await FolderDrive.create(c.dir, { keysDir: c.keys });
    try {
      await drive.add({ now: later });
      const v1 = drive.version;
      write(c, "a", "one, longer");
      Deno.chmodSync(`${c.dir}/b`, 0o755);
      Deno.removeSync(`${c.dir}/c`);
      Deno.removeSync(`${c.dir}/l`);
      Deno.symlinkSync("b", `${c.dir}/l`);
      Deno.removeSync(`${c.dir}/t`);
      Deno.symlinkSync("a", `${c.dir}/t`);
      const r = await drive.add({ now: later });
      assert.deepEqual(paths(r), ["change /a", "change /b", "delete /c", "change /l", "change /t"]);
      assert.equal(r.bytesAppended, 11, "only a's new content is read");
      assert.equal(r.version, v1 + 5);
      const now = drive.checkout(drive.version);
      assert.equal((await now.stat("/b"))?.executable, true);
      assert.equal(await now.exists("/c"), false);
      assert.equal((await now.entry("/l"))?.value.linkname, "b");
      assert.equal((await now.stat("/t"))?.type, "symlink");
      assert.equal(await text(drive, "/b", v1), "2", "b's content is still its file's");
      await assert.rejects(() => drive.checkout(v1).get("/c"), { code: "NOT_AVAILABLE" });
      await assert.rejects(() => drive.checkout(v1).get("/a"), { code: "NOT_AVAILABLE" });
    } finally {
      await drive.close();
    }
  });
});

Deno.test("folder drive: large files are appended in several batches and read back", async () => {
  await withFolder(async (c) => {
    const big = new Uint8Array(9 * 1024 * 1024 + 123).map((_, i) => (i * 31 + (i >> 16)) % 256);
    write(c, "big.bin", big);
    for (let i = 0; i < 30; i++) write(c, `small/${i}`, `s${i}`);
    const drive = await FolderDrive.create(c.dir, { keysDir: c.keys });
    try {
      const r = await drive.add({ now: later });
      assert.equal(r.changes.length, 31);
      assert.equal(drive.blobs!.length, 145 + 30, "64 KiB blocks, one per small file");
      const back = await drive.checkout(drive.version).get("/big.bin");
      assert.ok(back !== null && equals(back, big));
      assert.equal(await text(drive, "/small/29"), "s29");
    } finally {
      await drive.close();
    }
  });
});

Deno.test("folder drive: a file that changes while it is read is read again", async () => {
  await withFolder(async (c) => {
    write(c, "moving.bin", new Uint8Array(200_000).fill(1));
    const drive = await FolderDrive.create(c.dir, { keysDir: c.keys });
    try {
      let changed = 0;
      const r = await drive.add({
        now: later,
        afterRead: (path, attempt) => {
          if (path === "/moving.bin" && attempt === 0) {
            changed++;
            Deno.writeFileSync(`${c.dir}/moving.bin`, new Uint8Array(150_000).fill(2));
          }
        },
      });
      assert.equal(changed, 1);
      assert.deepEqual(paths(r), ["add /moving.bin"]);
      const back = await drive.checkout(drive.version).get("/moving.bin");
      assert.ok(back !== null && equals(back, new Uint8Array(150_000).fill(2)));
    } finally {
      await drive.close();
    }
  });
});

Deno.test("folder drive: a file that keeps changing is skipped with a warning, its old version stays", async () => {
  await withFolder(async (c) => {
    write(c, "log.txt", "first");
    write(c, "ok.txt", "fine");
    const drive = await FolderDrive.create(c.dir, { keysDir: c.keys });
    try {
      await drive.add({ now: later });
      write(c, "log.txt", "second");
      write(c, "ok.txt", "fine too");
      const warnings: string[] = [];
      let n = 0;
      const r = await drive.add({
        now: later,
        onWarning: (m) => warnings.push(m),
        afterRead: (path) => {
          if (path === "/log.txt") Deno.writeTextFileSync(`${c.dir}/log.txt`, "x".repeat(++n));
        },
      });
      assert.deepEqual(paths(r), ["change /ok.txt"]);
      assert.deepEqual(r.skipped.map((s) => s.path), ["/log.txt"]);
      assert.match(warnings.join("\n"), /log\.txt.*kept changing/);
      assert.equal(n, 3);
      // Next time it is stable and goes in.
      write(c, "log.txt", "settled");
      assert.deepEqual(paths(await drive.add({ now: later })), ["change /log.txt"]);
      assert.equal(await text(drive, "/log.txt"), "settled");
    } finally {
      await drive.close();
    }
  });
});

Deno.test("folder drive: .pigeonignore is stored in the drive and its rules apply", async () => {
  await withFolder(async (c) => {
    write(c, ".pigeonignore", "*.tmp\nbuild/\n");
    write(c, "keep.txt", "k");
    write(c, "x.tmp", "t");
    write(c, "build/out", "o");
    write(c, ".DS_Store", "junk");
    write(c, ".git/HEAD", "ref");
    write(c, "later.dat", "d");
    const drive = await FolderDrive.create(c.dir, { keysDir: c.keys });
    try {
      const r = await drive.add({ now: later });
      assert.deepEqual(paths(r), ["add /.pigeonignore", "add /keep.txt", "add /later.dat"]);
      write(c, ".pigeonignore", "*.tmp\nbuild/\n*.dat\n");
      const r2 = await drive.add({ now: later });
      assert.deepEqual(paths(r2), ["change /.pigeonignore", "delete /later.dat"]);
      assert.ok(Deno.statSync(`${c.dir}/later.dat`).isFile, "the file itself stays");
    } finally {
      await drive.close();
    }
  });
});

Deno.test("folder drive: names a drive cannot hold are skipped with a warning", async () => {
  await withFolder(async (c) => {
    write(c, "back\\slash", "b");
    write(c, "fine", "f");
    write(c, "ünïcødé ✓.txt", "u");
    const drive = await FolderDrive.create(c.dir, { keysDir: c.keys });
    try {
      const warnings: string[] = [];
      const r = await drive.add({ now: later, onWarning: (m) => warnings.push(m) });
      assert.deepEqual(paths(r), ["add /fine", "add /ünïcødé ✓.txt"]);
      assert.match(warnings.join("\n"), /back\\slash/);
    } finally {
      await drive.close();
    }
  });
});

Deno.test("folder drive: without the secret key it opens read-only and add is NOT_WRITABLE", async () => {
  await withFolder(async (c) => {
    write(c, "a", "a");
    const drive = await FolderDrive.create(c.dir, { keysDir: c.keys });
    await drive.add({ now: later });
    await drive.close();
    // A copy of the folder on a machine with another data folder.
    const other = `${c.root}/other-keys`;
    const copy = await FolderDrive.open(c.dir, { keysDir: other });
    try {
      assert.equal(copy.writable, false);
      assert.equal(copy.hasSecretKey, false);
      assert.equal(await text(copy, "/a"), "a", "content reads from the working files");
    } finally {
      await copy.close();
    }
    await assert.rejects(
      () => FolderDrive.open(c.dir, { keysDir: other, writable: true }),
      { code: "NOT_WRITABLE", message: /keys import/ },
    );
  });
});

Deno.test("folder drive: readers open while a writer holds the lock; a second writer is LOCKED", async () => {
  await withFolder(async (c) => {
    write(c, "a", "a");
    const writer = await FolderDrive.create(c.dir, { keysDir: c.keys });
    try {
      await writer.add({ now: later });
      const reader = await FolderDrive.open(c.dir, { keysDir: c.keys });
      try {
        assert.equal(reader.version, writer.version);
        assert.equal(reader.hasSecretKey, true);
        assert.equal(reader.writable, false);
        assert.deepEqual((await reader.status()).changes, []);
      } finally {
        await reader.close();
      }
      await assert.rejects(
        () => FolderDrive.open(c.dir, { keysDir: c.keys, writable: true }),
        { code: "LOCKED" },
      );
    } finally {
      await writer.close();
    }
  });
});

Deno.test("folder drive: status lists changes without writing anything", async () => {
  await withFolder(async (c) => {
    write(c, "a", "a");
    const drive = await FolderDrive.create(c.dir, { keysDir: c.keys });
    await drive.add({ now: later });
    const version = drive.version;
    await drive.close();
    write(c, "b", "b");
    Deno.removeSync(`${c.dir}/a`);
    const before = Deno.readFileSync(`${c.dir}/.pigeon/index`);
    const reader = await FolderDrive.open(c.dir, { keysDir: c.keys });
    try {
      const s = await reader.status();
      assert.deepEqual(paths(s), ["delete /a", "add /b"]);
      assert.equal(reader.version, version);
    } finally {
      await reader.close();
    }
    assert.ok(equals(Deno.readFileSync(`${c.dir}/.pigeon/index`), before), "index untouched");
  });
});

Deno.test("folder drive: a lost or stale index is rebuilt from the drive without re-appending", async () => {
  await withFolder(async (c) => {
    for (let i = 0; i < 5; i++) write(c, `f${i}`, `file ${i}`);
    let drive = await FolderDrive.create(c.dir, { keysDir: c.keys });
    await drive.add({ now: later });
    const staleIndex = Deno.readFileSync(`${c.dir}/.pigeon/index`);
    write(c, "f5", "new");
    await drive.add({ now: later });
    const version = drive.version;
    const blobsLength = drive.blobs!.length;
    await drive.close();

    // As after a crash between the db append and the index save.
    Deno.writeFileSync(`${c.dir}/.pigeon/index`, staleIndex);
    drive = await FolderDrive.open(c.dir, { keysDir: c.keys, writable: true });
    try {
      const r = await drive.add({ now: later });
      assert.deepEqual(r.changes, []);
      assert.equal(drive.version, version);
      assert.equal(drive.blobs!.length, blobsLength, "nothing appended again");
      assert.equal(r.verified, 1, "only the file the stale index did not know was read");
    } finally {
      await drive.close();
    }

    Deno.removeSync(`${c.dir}/.pigeon/index`);
    drive = await FolderDrive.open(c.dir, { keysDir: c.keys, writable: true });
    try {
      const r = await drive.add({ now: later });
      assert.deepEqual(r.changes, []);
      assert.equal(r.verified, 6);
      assert.equal(drive.blobs!.length, blobsLength);
    } finally {
      await drive.close();
    }
  });
});

Deno.test("folder drive: open and create refuse what is not a drive or already one", async () => {
  await withFolder(async (c) => {
    await assert.rejects(
      () => FolderDrive.open(c.dir, { keysDir: c.keys }),
      { code: "NOT_FOUND", message: /not a pigeon drive/ },
    );
    const drive = await FolderDrive.create(c.dir, { keysDir: c.keys });
    await drive.close();
    await assert.rejects(
      () => FolderDrive.create(c.dir, { keysDir: c.keys }),
      { code: "BAD_ARGUMENT", message: /already a drive/ },
    );
    await assert.rejects(
      () => FolderDrive.create(`${c.root}/missing`, { keysDir: c.keys }),
      { code: "BAD_ARGUMENT" },
    );
  });
});

Deno.test("folder drive: a clone opens by key and has no content log until the manifest is known", async () => {
  await withFolder(async (c) => {
    const key = new Uint8Array(32).fill(5);
    const clone = await FolderDrive.createClone(`${c.root}/clone`, key, { keysDir: c.keys });
    try {
      assert.equal(clone.kind, "clone");
      assert.equal(clone.version, 0);
      assert.equal(clone.writable, false);
      assert.equal(clone.blobs, null);
      assert.throws(() => clone.drive, { code: "NOT_AVAILABLE" });
      await assert.rejects(() => clone.openBlobs(), { code: "NOT_AVAILABLE" });
      await assert.rejects(() => clone.add(), { code: "NOT_WRITABLE" });
      await assert.rejects(
        () => FolderDrive.open(`${c.root}/clone`, { keysDir: c.keys, writable: true }),
        { code: "LOCKED" },
        "one writing process per folder, clones too",
      );
    } finally {
      await clone.close();
    }
    const again = await FolderDrive.open(`${c.root}/clone`, { keysDir: c.keys });
    try {
      assert.ok(equals(again.key, key));
    } finally {
      await again.close();
    }
  });
});

Deno.test("folder drive: more changes than one db batch still make one recorded version", async () => {
  await withFolder(async (c) => {
    const n = MAX_DB_BATCH + 300;
    for (let i = 0; i < n; i++) write(c, `many/${String(i).padStart(5, "0")}`, `#${i}`);
    const drive = await FolderDrive.create(c.dir, { keysDir: c.keys });
    try {
      const r = await drive.add({ now: later });
      assert.equal(r.changes.length, n);
      assert.equal(r.version, 1 + n);
      assert.deepEqual(drive.history().map((h) => [h.previous, h.version]), [[1, 1 + n]]);
      assert.equal(await text(drive, `/many/${String(n - 1).padStart(5, "0")}`), `#${n - 1}`);
      const again = await drive.add({ now: later });
      assert.equal(again.version, 1 + n);
    } finally {
      await drive.close();
    }
  });
});
