/**
 * Round trip of random folder trees through a folder drive: create, edits
 * pigeon sees, add … then a checkout of every version must equal the tree as
 * it was, except that a file whose working copy changed or went away later
 * may be NOT_AVAILABLE (files stay files) — but is never wrong.
 */
import assert from "node:assert/strict";
import { FolderDrive } from "../../lib/drive/folder_drive.ts";
import { exportDrive } from "../../lib/drive/export.ts";
import { equals } from "../../lib/crypto/bytes.ts";
import { Random } from "./_random.ts";

type Node =
  | { kind: "file"; bytes: Uint8Array; exec: boolean }
  | { kind: "symlink"; target: string };
type Tree = Map<string, Node>;

const NAMES = ["a", "b.txt", "ü ñ", "日本語", "bird 🐦", "x-y_z", "sp ace", "README", "9"];
const DIRS = ["", "docs", "docs/deep", "src", "émoji ✓", "src/lib/inner"];
const SEEDS = [1, 0xbeef, 20261125];
const VERSIONS = 5;

function randomBytes(rng: Random): Uint8Array {
  const pick = rng.int(10);
  const size = pick === 0
    ? 0
    : pick === 1
    ? 65536
    : pick < 4
    ? 65536 + rng.int(140_000)
    : rng.int(3000);
  return rng.bytes(size);
}

function randomPath(rng: Random): string {
  const dir = DIRS[rng.int(DIRS.length)]!;
  const name = NAMES[rng.int(NAMES.length)]! + (rng.int(3) === 0 ? `.${rng.int(50)}` : "");
  return dir === "" ? `/${name}` : `/${dir}/${name}`;
}

/** True when `path` can be added without clashing with a file/folder of the tree. */
function fits(tree: Tree, path: string): boolean {
  if (tree.has(path)) return false;
  for (const p of tree.keys()) {
    if (p.startsWith(path + "/") || path.startsWith(p + "/")) return false;
  }
  return true;
}

function writeNode(root: string, path: string, node: Node): void {
  const full = root + path;
  Deno.mkdirSync(full.slice(0, full.lastIndexOf("/")), { recursive: true });
  try {
    Deno.removeSync(full);
  } catch { /* new */ }
  if (node.kind === "symlink") {
    Deno.symlinkSync(node.target, full);
  } else {
    Deno.writeFileSync(full, node.bytes);
    Deno.chmodSync(full, node.exec ? 0o755 : 0o644);
  }
}

function edit(rng: Random, root: string, tree: Tree): void {
  const edits = 1 + rng.int(6);
  for (let i = 0; i < edits; i++) {
    const paths = [...tree.keys()];
    const some = paths.length ? paths[rng.int(paths.length)]! : null;
    const node = some ? tree.get(some)! : null;
    switch (rng.int(7)) {
      case 0:
      case 1: { // add a file
        const path = randomPath(rng);
        if (!fits(tree, path)) break;
        const n: Node = { kind: "file", bytes: randomBytes(rng), exec: rng.int(4) === 0 };
        tree.set(path, n);
        writeNode(root, path, n);
        break;
      }
      case 2: // delete
        if (some === null) break;
        tree.delete(some);
        Deno.removeSync(root + some);
        break;
      case 3: // exec bit
        if (node?.kind !== "file") break;
        node.exec = !node.exec;
        Deno.chmodSync(root + some!, node.exec ? 0o755 : 0o644);
        break;
      case 4: { // new content
        if (node?.kind !== "file") break;
        let bytes = randomBytes(rng);
        if (equals(bytes, node.bytes)) bytes = Uint8Array.of(...bytes, 1);
        const n: Node = { kind: "file", bytes, exec: node.exec };
        tree.set(some!, n);
        writeNode(root, some!, n);
        break;
      }
      case 5: { // add or retarget a symlink
        const path = node?.kind === "symlink" ? some! : randomPath(rng);
        if (path !== some && !fits(tree, path)) break;
        const n: Node = {
          kind: "symlink",
          target: rng.int(2) ? "../" + NAMES[rng.int(9)] : "b.txt",
        };
        tree.set(path, n);
        writeNode(root, path, n);
        break;
      }
      case 6: { // a file becomes a symlink
        if (node?.kind !== "file") break;
        const n: Node = { kind: "symlink", target: "/absolute/target" };
        tree.set(some!, n);
        writeNode(root, some!, n);
        break;
      }
    }
  }
}

function clone(tree: Tree): Tree {
  return new Map(
    [...tree].map(([p, n]) => [p, n.kind === "file" ? { ...n } : { ...n }] as [string, Node]),
  );
}

/** Files and symlinks under `dir`, by drive path. */
function readTree(dir: string, rel = "", out: Tree = new Map()): Tree {
  for (const e of Deno.readDirSync(dir + rel)) {
    const p = `${rel}/${e.name}`;
    if (e.isDirectory) readTree(dir, p, out);
    else if (e.isSymlink) out.set(p, { kind: "symlink", target: Deno.readLinkSync(dir + p) });
    else {
      const exec = (Deno.statSync(dir + p).mode! & 0o100) !== 0;
      out.set(p, { kind: "file", bytes: Deno.readFileSync(dir + p), exec });
    }
  }
  return out;
}

function sameNode(a: Node, b: Node): boolean {
  if (a.kind === "symlink" || b.kind === "symlink") {
    return a.kind === b.kind &&
      (a as { target: string }).target === (b as { target: string }).target;
  }
  return a.exec === b.exec && equals(a.bytes, b.bytes);
}

for (const seed of SEEDS) {
  Deno.test(`folder round trip: every version checks out as it was (seed ${seed})`, async () => {
    const rng = new Random(seed);
    const root = await Deno.makeTempDir({ prefix: "pigeon-roundtrip-" });
    const dir = `${root}/data`;
    Deno.mkdirSync(dir);
    const tree: Tree = new Map();
    for (let i = 0; i < 25; i++) {
      const path = randomPath(rng);
      if (!fits(tree, path)) continue;
      const n: Node = rng.int(8) === 0
        ? { kind: "symlink", target: NAMES[rng.int(NAMES.length)]! }
        : { kind: "file", bytes: randomBytes(rng), exec: rng.int(4) === 0 };
      tree.set(path, n);
      writeNode(dir, path, n);
    }
    const drive = await FolderDrive.create(dir, { keysDir: `${root}/keys` });
    try {
      const snapshots: { version: number; tree: Tree }[] = [];
      await drive.add();
      snapshots.push({ version: drive.version, tree: clone(tree) });
      for (let v = 1; v < VERSIONS; v++) {
        edit(rng, dir, tree);
        const r = await drive.add();
        assert.equal(r.skipped.length, 0);
        if (r.changes.length > 0) snapshots.push({ version: drive.version, tree: clone(tree) });
        else assert.equal(r.version, snapshots.at(-1)!.version, "no change, no version");
      }
      assert.ok(snapshots.length >= 3, `seed ${seed} made ${snapshots.length} versions`);

      for (const [k, snap] of snapshots.entries()) {
        const out = `${root}/out-${snap.version}`;
        const result = await exportDrive(drive.checkout(snap.version), out);
        const got = readTree(out);
        const unavailable = new Set(result.unavailable);
        assert.ok(result.files > 0, "old versions keep the files that did not change");
        for (const [path, want] of snap.tree) {
          const stable = snapshots.slice(k + 1).every((later) => {
            const n = later.tree.get(path);
            return n !== undefined && n.kind === "file" && want.kind === "file" &&
              equals(n.bytes, want.bytes);
          });
          if (unavailable.has(path)) {
            assert.ok(
              want.kind === "file" && !stable,
              `seed ${seed} v${snap.version}: ${path} is unavailable though its file never changed`,
            );
            continue;
          }
          const have = got.get(path);
          assert.ok(have !== undefined, `seed ${seed} v${snap.version}: ${path} missing`);
          assert.ok(sameNode(have, want), `seed ${seed} v${snap.version}: ${path} differs`);
        }
        for (const path of got.keys()) {
          assert.ok(snap.tree.has(path), `seed ${seed} v${snap.version}: extra ${path}`);
        }
        if (k === snapshots.length - 1) assert.deepEqual(result.unavailable, []);
      }
    } finally {
      await drive.close();
      await Deno.remove(root, { recursive: true });
    }
  });
}
