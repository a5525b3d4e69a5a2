/**
 * Folder drives against the real hyperdrive 13.3.4 (tests/interop):
 * - a drive pigeon wrote from a folder, its db and blobs blocks replayed into
 *   real cores (drive_read.js), reads back as the same files at every version,
 *   with the same keys and signatures;
 * - a drive hyperdrive wrote (drive_write.js), loaded into a clone folder,
 *   reads back with pigeon at every version and exports to the same files.
 */
import assert from "node:assert/strict";
import { runNode } from "../interop/_harness.ts";
import { FolderDrive } from "../../lib/drive/folder_drive.ts";
import { exportDrive } from "../../lib/drive/export.ts";
import { Core } from "../../lib/core/core.ts";
import { FileStorage } from "../../lib/core/file_storage.ts";
import { defaultManifest } from "../../lib/core/manifest.ts";
import { contentManifest } from "../../lib/drive/blobs_key.ts";
import { blake2b } from "../../lib/crypto/blake2b.ts";
import { type KeyPair, keyPair } from "../../lib/crypto/ed25519.ts";
import { CORESTORE_NS } from "../../lib/crypto/namespace.ts";
import { fromHex, toHex } from "../../lib/crypto/bytes.ts";
import { fixture } from "../_helpers/fixtures.ts";

const REFERENCE = new URL("../interop/node_modules/hyperdrive/package.json", import.meta.url);
let installed = true;
try {
  Deno.statSync(REFERENCE);
} catch {
  installed = false;
  console.log("skipping folder drive interop: run `deno task setup` to install tests/interop");
}

const enc = new TextEncoder();

/** The key pair corestore gives the core named `name` (SPEC c.8, default namespace). */
function corestoreKeyPair(primaryKey: Uint8Array, name: string): KeyPair {
  const seed = blake2b([CORESTORE_NS, new Uint8Array(32), enc.encode(name)], 32, primaryKey);
  return keyPair(seed);
}

async function sha256(bytes: Uint8Array): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes.slice())));
}

interface FileInfo {
  path: string;
  executable: boolean;
  linkname: string | null;
  size: number;
  sha256?: string;
}

/** The files of a folder as drive_read.js describes a drive's files, sorted by path. */
async function folderFiles(dir: string, rel = ""): Promise<FileInfo[]> {
  const out: FileInfo[] = [];
  for (const e of Deno.readDirSync(dir + rel)) {
    const p = `${rel}/${e.name}`;
    if (p === "/.pigeon") continue;
    if (e.isDirectory) out.push(...await folderFiles(dir, p));
    else if (e.isSymlink) {
      out.push({ path: p, executable: false, linkname: Deno.readLinkSync(dir + p), size: 0 });
    } else {
      const bytes = Deno.readFileSync(dir + p);
      out.push({
        path: p,
        executable: (Deno.statSync(dir + p).mode! & 0o100) !== 0,
        linkname: null,
        size: bytes.byteLength,
        sha256: await sha256(bytes),
      });
    }
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : 1));
}

function write(dir: string, path: string, data: Uint8Array | string, mode = 0o644): void {
  const full = dir + path;
  Deno.mkdirSync(full.slice(0, full.lastIndexOf("/")), { recursive: true });
  if (typeof data === "string") Deno.writeTextFileSync(full, data);
  else Deno.writeFileSync(full, data);
  Deno.chmodSync(full, mode);
}

Deno.test("corestore key derivation matches the hyperdrive vector's db seed", () => {
  const v = fixture<{ corestore: { primaryKey: string; dbPublicKey: string } }>("hyperdrive.json");
  const pair = corestoreKeyPair(fromHex(v.corestore.primaryKey), "db");
  assert.equal(toHex(pair.publicKey), v.corestore.dbPublicKey);
});

Deno.test({
  name: "folder drive interop: hyperdrive reads what pigeon imported, at every version",
  ignore: !installed,
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "pigeon-fd-interop-" });
    const dir = `${root}/data`;
    const seed = new Uint8Array(32).fill(0x42);
    try {
      write(dir, "/readme.md", "# data set\n");
      write(dir, "/bin/tool", "#!/bin/sh\nexit 0\n", 0o755);
      write(dir, "/data/big.bin", new Uint8Array(300_000).map((_, i) => (i * 17) % 256));
      write(dir, "/data/empty.csv", "");
      write(dir, "/ünïcode ✓/名前.txt", "unicode\n");
      Deno.symlinkSync("readme.md", `${dir}/link`);
      const drive = await FolderDrive.create(dir, {
        keysDir: `${root}/keys`,
        keyPair: corestoreKeyPair(seed, "db"),
      });
      const versions: { version: number; files: FileInfo[] }[] = [];
      try {
        await drive.add();
        versions.push({ version: drive.version, files: await folderFiles(dir) });
        // Changes that keep every earlier block available (files stay files).
        write(dir, "/data/more.bin", new Uint8Array(70_000).fill(3));
        Deno.chmodSync(`${dir}/readme.md`, 0o755);
        Deno.removeSync(`${dir}/link`);
        Deno.symlinkSync("data/big.bin", `${dir}/link`);
        Deno.removeSync(`${dir}/data/empty.csv`);
        await drive.add();
        versions.push({ version: drive.version, files: await folderFiles(dir) });
        write(dir, "/late.txt", "late\n");
        await drive.add();
        versions.push({ version: drive.version, files: await folderFiles(dir) });

        const db: string[] = [];
        for (let i = 0; i < drive.db.length; i++) db.push(toHex(await drive.db.get(i)));
        const blobs: string[] = [];
        for (let i = 0; i < drive.blobs!.length; i++) blobs.push(toHex(await drive.blobs!.get(i)));

        for (const v of versions) {
          const out = await runNode("drive_read.js", [], {
            stdin: JSON.stringify({ seed: toHex(seed), db: db.slice(0, v.version), blobs }),
          });
          assert.equal(out.code, 0, out.stderr);
          const got = out.lines[0]!;
          assert.equal(got.key, toHex(drive.key));
          assert.equal(
            got.contentKey,
            toHex(drive.blobs!.key),
            "hyperdrive finds the same blobs key",
          );
          assert.equal(got.version, v.version);
          const files = (got.files as (FileInfo & { metadata: unknown; hex?: string })[]).map(
            ({ metadata: _m, hex: _h, ...f }) => f,
          );
          assert.deepEqual(files, v.files, `files of version ${v.version}`);
          if (v.version === drive.version) {
            const state = got.db as { treeHash: string; signature: string };
            assert.equal(state.treeHash, toHex(drive.db.treeHash()));
            assert.equal(state.signature, toHex(drive.db.signature!), "same signature");
            const bstate = got.blobs as { signature: string; length: number };
            assert.equal(bstate.length, drive.blobs!.length);
            assert.equal(bstate.signature, toHex(drive.blobs!.signature!));
          }
        }
      } finally {
        await drive.close();
      }
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

interface WriteOut {
  db: { key: string; blocks: string[] };
  blobs: { key: string; blocks: string[] };
  versions: { version: number; blobs: { length: number } }[];
}

Deno.test({
  name: "folder drive interop: pigeon reads a drive hyperdrive wrote, at every version",
  ignore: !installed,
  async fn() {
    const seed = new Uint8Array(32).fill(0x17);
    const big = toHex(new Uint8Array(150_000).map((_, i) => (i * 7) % 256));
    const versionOps = [
      [
        { op: "put", path: "/a.txt", utf8: "alpha" },
        { op: "put", path: "/dir/run", utf8: "#!/bin/sh\n", executable: true },
        { op: "put", path: "/dir/big", hex: big },
        { op: "symlink", path: "/ln", target: "a.txt" },
        { op: "put", path: "/empty", utf8: "" },
      ],
      [
        { op: "put", path: "/a.txt", utf8: "alpha, second" },
        { op: "del", path: "/empty" },
        { op: "put", path: "/chunked", chunks: ["6869", "7468657265"] },
      ],
      [{ op: "del", path: "/ln" }, { op: "put", path: "/ü/名.txt", utf8: "名" }],
    ];
    const out = await runNode("drive_write.js", [], {
      stdin: JSON.stringify({ seed: toHex(seed), versions: versionOps }),
    });
    assert.equal(out.code, 0, out.stderr);
    const written = out.lines[0] as unknown as WriteOut;

    // Expected files after each version, from the ops.
    const model = new Map<string, { bytes?: Uint8Array; exec: boolean; link?: string }>();
    const expected: Map<string, { bytes?: Uint8Array; exec: boolean; link?: string }>[] = [];
    for (const ops of versionOps) {
      for (const op of ops as Record<string, unknown>[]) {
        const path = op.path as string;
        if (op.op === "del") model.delete(path);
        else if (op.op === "symlink") model.set(path, { exec: false, link: op.target as string });
        else {
          const bytes = op.utf8 !== undefined
            ? enc.encode(op.utf8 as string)
            : op.hex !== undefined
            ? fromHex(op.hex as string)
            : fromHex((op.chunks as string[]).join(""));
          model.set(path, { bytes, exec: op.executable === true });
        }
      }
      expected.push(new Map(model));
    }

    const root = await Deno.makeTempDir({ prefix: "pigeon-fd-interop-" });
    try {
      const dir = `${root}/clone`;
      // Make the clone folder, then fill its cores with hyperdrive's blocks. The
      // key pair is needed only to append them here; it is removed afterwards.
      const pair = corestoreKeyPair(seed, "db");
      await (await FolderDrive.createClone(dir, fromHex(written.db.key), { keysDir: `${root}/k` }))
        .close();
      Deno.removeSync(`${dir}/.pigeon/db`, { recursive: true }); // the empty reader core
      const manifest = defaultManifest(pair.publicKey);
      const db = await Core.open(new FileStorage(`${dir}/.pigeon/db`), { keyPair: pair, manifest });
      await db.append(written.db.blocks.map((b) => fromHex(b)));
      assert.equal(toHex(db.key), written.db.key);
      const blobs = await Core.open(new FileStorage(`${dir}/.pigeon/blobs`), {
        keyPair: pair,
        manifest: contentManifest(manifest, db.key)!,
      });
      await blobs.append(written.blobs.blocks.map((b) => fromHex(b)));
      assert.equal(toHex(blobs.key), written.blobs.key);
      await db.close();
      await blobs.close();
      Deno.removeSync(`${dir}/.pigeon/db/secret-key`);
      Deno.removeSync(`${dir}/.pigeon/blobs/secret-key`);

      const drive = await FolderDrive.open(dir, { keysDir: `${root}/k` });
      try {
        assert.equal(drive.kind, "clone");
        assert.equal(drive.writable, false);
        assert.equal(toHex(drive.blobs!.key), written.blobs.key, "pigeon finds the blobs key");
        for (const [i, v] of written.versions.entries()) {
          const reader = drive.checkout(v.version);
          const want = expected[i]!;
          const got = new Map<string, { bytes?: Uint8Array; exec: boolean; link?: string }>();
          for await (const e of reader.list("/")) {
            if (e.value.linkname !== null) got.set(e.path, { exec: false, link: e.value.linkname });
            else got.set(e.path, { bytes: (await reader.get(e.path))!, exec: e.value.executable });
          }
          assert.deepEqual(got, want, `version ${v.version}`);
        }
        const outDir = `${root}/out`;
        const r = await exportDrive(drive.checkout(drive.version), outDir);
        assert.deepEqual(r.unavailable, []);
        assert.equal(Deno.readTextFileSync(`${outDir}/a.txt`), "alpha, second");
        assert.equal(Deno.readTextFileSync(`${outDir}/chunked`), "hithere");
        assert.equal(Deno.statSync(`${outDir}/dir/run`).mode! & 0o777, 0o755);
        assert.equal(Deno.readTextFileSync(`${outDir}/ü/名.txt`), "名");
      } finally {
        await drive.close();
      }
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});
