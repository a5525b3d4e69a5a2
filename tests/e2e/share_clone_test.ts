/**
 * share / clone / pull / sync / seed as a user runs them on one machine:
 * real CLI processes over loopback TCP (`--peer`, LAN discovery off), their
 * folders compared file by file, and the blocks each run received counted
 * from its `--json` events and from what the clone holds on disk.
 */

import assert from "node:assert/strict";
import { removeDir, tempDir } from "./_cli.ts";
import {
  assertSameTree,
  heldBlocks,
  jsonEvents,
  mtimes,
  noise,
  type PeerOptions,
  pigeonAt,
  readTree,
  startShare,
  tempFiles,
  waitJson,
  writeTree,
} from "../lan/_drive_peers.ts";

/** Content block size of a drive (Hyperblobs' default). */
const BLOB_BLOCK = 65536;
/** Bound on one whole CLI run in these tests. */
const RUN_MS = 40_000;

interface Env {
  root: string;
  peer: PeerOptions;
}

async function withEnv(body: (e: Env) => Promise<void>): Promise<void> {
  const root = await tempDir("pigeon-share-clone-");
  try {
    await body({ root, peer: { home: `${root}/home`, lan: "off" } });
  } finally {
    await removeDir(root);
  }
}

function blocksOf(bytes: number): number {
  return Math.ceil(bytes / BLOB_BLOCK);
}

Deno.test("share/clone: an interrupted clone resumes without downloading or rewriting what it finished", async () => {
  await withEnv(async ({ root, peer }) => {
    const src = `${root}/src`;
    const dst = `${root}/dst`;
    const FILES = 24;
    const SIZE = 1 << 20;
    const spec: Record<string, Uint8Array | { symlink: string }> = {};
    for (let i = 0; i < FILES; i++) spec[`f${String(i).padStart(2, "0")}.bin`] = noise(SIZE, i + 1);
    spec["latest"] = { symlink: "f23.bin" };
    writeTree(src, spec);
    const total = FILES * blocksOf(SIZE);

    const sharer = await startShare(peer, src, ["--host", "127.0.0.1", "--no-watch"]);
    const fetch = ["--peer", `127.0.0.1:${sharer.port}`, "--json", "--timeout", "20"];
    let first = null;
    let second = null;
    try {
      // Kill the first clone (SIGKILL: no clean-up at all) once two files have landed.
      first = pigeonAt(peer, ["clone", sharer.link, dst, ...fetch]);
      await first.waitFor(
        () => jsonEvents(first!).filter((e) => e.event === "file").length >= 2 ? true : undefined,
        "two files",
        RUN_MS,
      );
      first.kill("SIGKILL");
      const killed = await first.exited(RUN_MS);
      assert.equal(killed.signal, "SIGKILL", "killed, not finished");
      const finished = jsonEvents(first).filter((e) => e.event === "file").map((e) =>
        String(e.path).slice(1)
      );
      const before = mtimes(dst, finished);
      const held = (await heldBlocks(dst)).blobs;
      assert.ok(held < total, `killed mid-transfer (${held} of ${total} blocks held)`);

      // A temp file like those a killed export leaves behind (one may be there already).
      Deno.writeTextFileSync(`${dst}/.pigeon-tmp-left-by-a-crash`, "partial");

      // Cloning again into the same folder resumes.
      second = pigeonAt(peer, ["clone", sharer.link, dst, ...fetch]);
      const exit = await second.exited(RUN_MS);
      assert.equal(exit.code, 0, exit.stderr);
      const done = await waitJson(second, "done");
      assert.equal(done.blocks, total - held, "only the blocks it did not hold were downloaded");
      assert.deepEqual(mtimes(dst, finished), before, "finished files were not written again");
      const rewritten = jsonEvents(second).filter((e) => e.event === "file").map((e) => e.path);
      for (const path of finished) assert.ok(!rewritten.includes(`/${path}`), path);
      assert.deepEqual(tempFiles(dst), [], "no temp file is left");
      assertSameTree(dst, src);
      assert.equal((await heldBlocks(dst)).blobs, total);
      console.log(
        `resume: first run finished ${finished.length} files and held ${held}/${total} blocks; ` +
          `second run received ${done.blocks}`,
      );
    } finally {
      await first?.stop();
      await second?.stop();
      await sharer.proc.stop();
    }
  });
});

Deno.test("share/clone: --select downloads only the selected files' blocks", async () => {
  await withEnv(async ({ root, peer }) => {
    const src = `${root}/src`;
    const dst = `${root}/dst`;
    writeTree(src, {
      "big.bin": noise(10 * BLOB_BLOCK + 5, 1),
      "docs/a.txt": noise(2 * BLOB_BLOCK + 1, 2),
      "docs/deep/b.txt": "b\n",
      "notes.md": noise(3 * BLOB_BLOCK, 3),
      "tool.sh": { data: "#!/bin/sh\necho tool\n", exec: true },
    });
    const sharer = await startShare(peer, src, ["--host", "127.0.0.1", "--no-watch"]);
    try {
      const clone = pigeonAt(peer, [
        "clone",
        sharer.link,
        dst,
        "--peer",
        `127.0.0.1:${sharer.port}`,
        "--select",
        "docs/",
        "--select",
        "*.sh",
        "--json",
        "--timeout",
        "20",
      ]);
      const exit = await clone.exited(RUN_MS);
      assert.equal(exit.code, 0, exit.stderr);
      const selected = 3 + 1 + 1; // docs/a.txt, docs/deep/b.txt, tool.sh
      const done = await waitJson(clone, "done");
      assert.equal(done.blocks, selected);
      const held = await heldBlocks(dst);
      assert.equal(held.blobs, selected, "the clone holds only the selected blocks");
      assert.equal(held.blobsLength, 11 + 3 + 1 + 3 + 1, "the whole content log is known");
      assert.deepEqual(Object.keys(readTree(dst)).sort(), [
        "docs/a.txt",
        "docs/deep/b.txt",
        "tool.sh",
      ]);
      const want = readTree(src);
      const got = readTree(dst);
      for (const path of Object.keys(got)) assert.deepEqual(got[path], want[path], path);
    } finally {
      await sharer.proc.stop();
    }
  });
});
