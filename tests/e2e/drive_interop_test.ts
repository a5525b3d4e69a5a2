/**
 * Drives moved between pigeon's CLI and the real Hyperdrive 13.3.4 (Node,
 * tests/interop) over loopback TCP + secret-stream, both ways: pigeon clones
 * a drive a real Hyperdrive seeds, and a real Hyperdrive clones a drive
 * `pigeon share` seeds. The folders must match: bytes, exec bits, symlinks.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { fromHex, toHex } from "../../lib/crypto/bytes.ts";
import { encodeKey } from "../../lib/encoding/id.ts";
import { parseLinkOrKey } from "../../lib/encoding/link.ts";
import { spawnNode } from "../interop/_harness.ts";
import { type PigeonProc, removeDir, tempDir } from "./_cli.ts";
import {
  assertSameTree,
  jsonEvents,
  noise,
  type PeerOptions,
  pigeonAt,
  readTree,
  startShare,
  type TreeItemSpec,
  writeTree,
} from "../lan/_drive_peers.ts";

/** Bound on one whole run. */
const RUN_MS = 60_000;

/** A tree with what a drive can hold: nested files, an empty one, exec bits, symlinks. */
const TREE: Record<string, TreeItemSpec> = {
  "readme.md": "# hello\n",
  "bin/tool.sh": { data: "#!/bin/sh\necho tool\n", exec: true },
  "data/big.bin": noise(3 * 65536 + 1234, 9),
  "data/nested/deep/x.txt": "x\n",
  "empty.txt": "",
  "latest": { symlink: "data/big.bin" },
  "up": { symlink: "../readme.md" },
};

Deno.test("drive interop: pigeon clones a drive a real Hyperdrive seeds", async () => {
  const root = await tempDir("pigeon-drive-interop-");
  const peer: PeerOptions = { home: `${root}/home`, lan: "off" };
  const seeder = spawnNode("drive_serve.js", [
    "--seed",
    "11".repeat(32),
    "--from-dir",
    `${root}/src`,
    "--lifetime-ms",
    String(RUN_MS),
  ]);
  let clone: PigeonProc | null = null;
  try {
    writeTree(`${root}/src`, TREE);
    const listening = await seeder.waitForEvent("listening");
    const link = "hyper://" + encodeKey(fromHex(String(listening.key)));
    clone = pigeonAt(peer, [
      "clone",
      link,
      `${root}/dst`,
      "--peer",
      `127.0.0.1:${listening.port}`,
      "--json",
    ]);
    const exit = await clone.exited(RUN_MS);
    assert.equal(exit.code, 0, exit.stderr);
    assertSameTree(`${root}/dst`, `${root}/src`);
    const done = jsonEvents(clone).find((e) => e.event === "done")!;
    const blobs = listening.blobs as { length: number; byteLength: number };
    assert.deepEqual(
      [done.version, done.blocks, done.bytes],
      [listening.version, blobs.length, blobs.byteLength],
      "the version hyperdrive serves, every content block verified once",
    );
  } finally {
    await clone?.stop();
    await seeder.stop();
    await removeDir(root);
  }
});

Deno.test("drive interop: a real Hyperdrive clones a drive pigeon shares", async () => {
  const root = await tempDir("pigeon-drive-interop-");
  const peer: PeerOptions = { home: `${root}/home`, lan: "off" };
  let sharer: PigeonProc | null = null;
  try {
    writeTree(`${root}/src`, TREE);
    const share = await startShare(peer, `${root}/src`, ["--host", "127.0.0.1", "--no-watch"]);
    sharer = share.proc;
    const key = toHex(parseLinkOrKey(share.link).key);
    const cloner = spawnNode("drive_clone.js", [
      "--peer",
      `127.0.0.1:${share.port}`,
      "--key",
      key,
      "--out",
      `${root}/dst`,
      "--quiet",
    ]);
    try {
      const done = await cloner.waitForEvent("done", RUN_MS);
      const files = Object.values(readTree(`${root}/src`)).filter((f) => f.type === "file");
      assert.equal(done.files, Object.keys(TREE).length, "every entry, symlinks included");
      assert.equal(done.bytes, files.reduce((n, f) => n + f.size!, 0));
      assert.equal((await cloner.exited(RUN_MS)).code, 0, cloner.stderr);
    } finally {
      await cloner.stop();
    }
    assertSameTree(`${root}/dst`, `${root}/src`);
  } finally {
    await sharer?.stop();
    await removeDir(root);
  }
});

Deno.test("drive interop: pigeon clones an old version of a real Hyperdrive's drive, then pulls the latest", async () => {
  const root = await tempDir("pigeon-drive-interop-");
  const peer: PeerOptions = { home: `${root}/home`, lan: "off" };
  Deno.writeTextFileSync(
    `${root}/spec.json`,
    JSON.stringify({
      versions: [
        [
          { op: "put", path: "/a.txt", utf8: "A1" },
          { op: "put", path: "/bin/x", utf8: "#!/bin/sh\n", executable: true },
          { op: "put", path: "/keep.txt", utf8: "kept" },
        ],
        [
          { op: "put", path: "/a.txt", utf8: "A2, longer" },
          { op: "del", path: "/bin/x" },
          { op: "symlink", path: "/link", target: "keep.txt" },
        ],
      ],
    }),
  );
  const seeder = spawnNode("drive_serve.js", [
    "--seed",
    "22".repeat(32),
    "--spec",
    `${root}/spec.json`,
    "--lifetime-ms",
    String(RUN_MS),
  ]);
  const procs: PigeonProc[] = [];
  try {
    const listening = await seeder.waitForEvent("listening");
    const link = "hyper://" + encodeKey(fromHex(String(listening.key)));
    const from = ["--peer", `127.0.0.1:${listening.port}`, "--json"];
    // Version 4 = the Hyperbee header and the three puts of the first batch.
    const old = pigeonAt(peer, ["clone", `${link}+4`, `${root}/dst`, ...from]);
    procs.push(old);
    assert.equal((await old.exited(RUN_MS)).code, 0, old.stderr);
    assert.deepEqual(readTree(`${root}/dst`), {
      "a.txt": { type: "file", exec: false, size: 2, sha256: sha256Text("A1") },
      "bin/x": { type: "file", exec: true, size: 10, sha256: sha256Text("#!/bin/sh\n") },
      "keep.txt": { type: "file", exec: false, size: 4, sha256: sha256Text("kept") },
    });

    const pull = pigeonAt(peer, ["pull", `${root}/dst`, ...from]);
    procs.push(pull);
    assert.equal((await pull.exited(RUN_MS)).code, 0, pull.stderr);
    const version = jsonEvents(pull).find((e) => e.event === "version")!;
    assert.deepEqual([version.version, version.files, version.symlinks, version.removed], [
      listening.version,
      1,
      1,
      1,
    ]);
    assert.deepEqual(readTree(`${root}/dst`), {
      "a.txt": { type: "file", exec: false, size: 10, sha256: sha256Text("A2, longer") },
      "keep.txt": { type: "file", exec: false, size: 4, sha256: sha256Text("kept") },
      "link": { type: "symlink", target: "keep.txt" },
    });
  } finally {
    for (const p of procs) await p.stop();
    await seeder.stop();
    await removeDir(root);
  }
});

function sha256Text(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}
