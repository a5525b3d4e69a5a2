/**
 * share / clone / pull / sync / seed as a user runs them on one machine:
 * real CLI processes over loopback TCP (`--peer`, LAN discovery off), their
 * folders compared file by file, and the blocks each run received counted
 * from its `--json` events and from what the clone holds on disk.
 */

import assert from "node:assert/strict";
import { encodeKey } from "../../lib/encoding/id.ts";
import { type PigeonProc, removeDir, tempDir } from "./_cli.ts";
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

/** A TCP port nobody listens on (bound once, then closed). */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

Deno.test("share/clone: a link nobody serves exits 3 within --timeout, naming what was tried", async () => {
  await withEnv(async ({ root, peer }) => {
    const link = "hyper://" + encodeKey(crypto.getRandomValues(new Uint8Array(32)));
    const port = closedPort();
    const viaPeer = pigeonAt(peer, [
      "clone",
      link,
      `${root}/a`,
      "--peer",
      `127.0.0.1:${port}`,
      "--timeout",
      "2",
    ]);
    const viaLan = pigeonAt({ ...peer, lan: "loopback" }, [
      "clone",
      link,
      `${root}/b`,
      "--timeout",
      "2",
    ]);
    try {
      const [a, b] = await Promise.all([viaPeer.exited(RUN_MS), viaLan.exited(RUN_MS)]);
      for (const [exit, what] of [[a, "--peer"], [b, "LAN"]] as const) {
        assert.equal(exit.code, 3, `${what}: ${exit.stderr}`);
        assert.ok(exit.ms >= 2000, `${what}: waited the full --timeout (${exit.ms} ms)`);
        assert.ok(exit.ms < 2000 + 8000, `${what}: then stopped (${exit.ms} ms)`);
        assert.match(exit.stderr, /^pigeon: No peer had the drive within 2 s/m);
      }
      assert.match(
        a.stderr,
        new RegExp(
          `\\(--peer 127\\.0\\.0\\.1:${port}: [^;]*Connection refused[^;]*; LAN discovery off\\)`,
        ),
      );
      assert.match(b.stderr, /\(LAN: 0 peers found\)/);
      assert.deepEqual(readTree(`${root}/a`), {});
      assert.deepEqual(readTree(`${root}/b`), {});
    } finally {
      await viaPeer.stop();
      await viaLan.stop();
    }
  });
});

/** Flips one byte in every 64 KiB block of a clone's stored content. */
function corruptBlobs(folder: string): void {
  const path = `${folder}/.pigeon/blobs/data`;
  const data = Deno.readFileSync(path);
  for (let at = 7; at < data.byteLength; at += BLOB_BLOCK) data[at]! ^= 0x40;
  Deno.writeFileSync(path, data);
}

Deno.test("share/clone: data that fails verification never lands; an honest peer still supplies it", async () => {
  await withEnv(async ({ root, peer }) => {
    const src = `${root}/src`;
    writeTree(src, {
      "a.bin": noise(4 * BLOB_BLOCK + 3, 1),
      "b/c.bin": noise(6 * BLOB_BLOCK, 2),
      "d.txt": "small\n",
    });
    const sharer = await startShare(peer, src, ["--host", "127.0.0.1", "--no-watch"]);
    const procs: PigeonProc[] = [];
    try {
      const honestPeer = `127.0.0.1:${sharer.port}`;
      const first = pigeonAt(peer, ["clone", sharer.link, `${root}/good`, "--peer", honestPeer]);
      procs.push(first);
      assert.equal((await first.exited(RUN_MS)).code, 0, first.stderr);

      // A copy of that clone whose stored blocks are corrupted while its bitfield
      // still claims them: it serves bad data for every block.
      const cp = await new Deno.Command("cp", { args: ["-a", `${root}/good`, `${root}/bad`] })
        .output();
      assert.ok(cp.success);
      corruptBlobs(`${root}/bad`);
      const hostile = pigeonAt(peer, [
        "sync",
        `${root}/bad`,
        "--port",
        "0",
        "--peer",
        `127.0.0.1:${closedPort()}`,
        "--json",
      ]);
      procs.push(hostile);
      const hostilePeer = `127.0.0.1:${(await waitJson(hostile, "listening")).port}`;

      // Only the hostile peer: exit 4 and nothing written.
      const onlyHostile = pigeonAt(peer, [
        "clone",
        sharer.link,
        `${root}/victim`,
        "--peer",
        hostilePeer,
        "--timeout",
        "3",
      ]);
      procs.push(onlyHostile);
      // The hostile peer and one that comes up only after the hostile one was
      // caught (the good clone, serving what it has on a port chosen now).
      const honestPort = closedPort();
      const both = pigeonAt(peer, [
        "clone",
        sharer.link,
        `${root}/both`,
        "--peer",
        hostilePeer,
        "--peer",
        `127.0.0.1:${honestPort}`,
        "--json",
      ]);
      procs.push(both);
      const dropped = await waitJson(both, "warning", (e) => /^dropped /.test(String(e.message)));
      assert.match(String(dropped.message), new RegExp(`^dropped ${hostilePeer}`));
      // Nothing from the hostile peer was written (the export waits on an empty temp file).
      for (const [path, item] of Object.entries(readTree(`${root}/both`))) {
        assert.ok(path.startsWith(".pigeon-tmp-") && item.size === 0, `${path} was written`);
      }
      const honest = pigeonAt(peer, [
        "sync",
        `${root}/good`,
        "--port",
        String(honestPort),
        "--peer",
        `127.0.0.1:${sharer.port}`,
      ]);
      procs.push(honest);

      const [v, w] = await Promise.all([onlyHostile.exited(RUN_MS), both.exited(RUN_MS)]);
      assert.equal(v.code, 4, v.stderr);
      assert.match(v.stderr, /^pigeon: Data failed verification and no honest peer supplied it/m);
      assert.deepEqual(readTree(`${root}/victim`), {}, "no file (nor temp file) was written");
      assert.equal(w.code, 0, w.stderr);
      assertSameTree(`${root}/both`, src);
    } finally {
      for (const p of procs) await p.stop();
      await sharer.proc.stop();
    }
  });
});

Deno.test("share/clone: sync shares a writer folder and follows it live from a clone", async () => {
  await withEnv(async ({ root, peer }) => {
    const src = `${root}/src`;
    const dst = `${root}/dst`;
    writeTree(src, { "a.txt": "one\n", "sub/b.txt": "bee\n" });
    const created = pigeonAt(peer, ["create", src]);
    assert.equal((await created.exited(RUN_MS)).code, 0, created.stderr);
    const writer = await startShare(peer, src, [], "sync");
    const procs: PigeonProc[] = [writer.proc];
    try {
      const from = ["--peer", `127.0.0.1:${writer.port}`];
      const clone = pigeonAt(peer, ["clone", writer.link, dst, ...from]);
      procs.push(clone);
      assert.equal((await clone.exited(RUN_MS)).code, 0, clone.stderr);
      assertSameTree(dst, src);

      const follower = pigeonAt(peer, ["sync", dst, ...from, "--json"]);
      procs.push(follower);
      const first = await waitJson(follower, "done");
      assert.equal(first.blocks, 0, "nothing new to fetch");

      // An edit on the writer's side: recorded by its watcher, then followed by the clone.
      Deno.writeTextFileSync(`${src}/a.txt`, "two\n");
      Deno.removeSync(`${src}/sub/b.txt`);
      const recorded = await waitJson(writer.proc, "version", (e) => Number(e.changed) >= 1);
      const followed = await waitJson(
        follower,
        "version",
        (e) => Number(e.version) >= Number(recorded.version),
      );
      assert.equal(followed.files, 1);
      assert.equal(followed.removed, 1);
      assertSameTree(dst, src);
    } finally {
      for (const p of procs) await p.stop();
    }
  });
});

Deno.test("share/clone: seed keeps full copies of both cores; a later clone from only the seeder works", async () => {
  await withEnv(async ({ root, peer }) => {
    const src = `${root}/src`;
    writeTree(src, {
      "data.bin": noise(5 * BLOB_BLOCK + 9, 4),
      "run.sh": { data: "#!/bin/sh\n", exec: true },
      "link": { symlink: "data.bin" },
    });
    const sharer = await startShare(peer, src, ["--host", "127.0.0.1", "--no-watch"]);
    const procs: PigeonProc[] = [sharer.proc];
    try {
      const seeder = pigeonAt(peer, [
        "seed",
        sharer.link,
        "--store",
        `${root}/store`,
        "--port",
        "0",
        "--peer",
        `127.0.0.1:${sharer.port}`,
        "--json",
      ]);
      procs.push(seeder);
      const port = Number((await waitJson(seeder, "listening")).port);
      // Progress is reported per log every second: wait until both are complete.
      const complete = (name: RegExp) =>
        waitJson(
          seeder,
          "progress",
          (e) => name.test(String(e.link)) && Number(e.length) > 0 && e.held === e.length,
        );
      const db = await complete(/^hyper:\/\/[a-z0-9]+$/);
      const content = await complete(/ \(content\)$/);
      assert.equal(content.length, 6 + 1, "every content block is held");
      assert.ok(Number(db.length) >= 4, "the db is held");

      await sharer.proc.stop(); // from now on only the seeder has the drive
      const clone = pigeonAt(peer, [
        "clone",
        sharer.link,
        `${root}/dst`,
        "--peer",
        `127.0.0.1:${port}`,
        "--json",
      ]);
      procs.push(clone);
      const exit = await clone.exited(RUN_MS);
      assert.equal(exit.code, 0, exit.stderr);
      assertSameTree(`${root}/dst`, src);
      const connected = jsonEvents(clone).filter((e) => e.event === "connected");
      assert.deepEqual(connected.map((e) => [e.peer, e.via]), [
        [`127.0.0.1:${port} (--peer)`, "peer"],
      ]);
    } finally {
      for (const p of procs) await p.stop();
    }
  });
});

Deno.test("share/clone: a peer that has nothing yet (another fresh clone) is not taken for an empty drive", async () => {
  await withEnv(async ({ root, peer }) => {
    const src = `${root}/src`;
    writeTree(src, { "a.txt": "alpha\n", "b/c.bin": noise(BLOB_BLOCK + 1, 5) });
    const created = pigeonAt(peer, ["create", src]);
    const made = await created.exited(RUN_MS);
    assert.equal(made.code, 0, made.stderr);
    const link = new TextDecoder().decode(made.stdout).split("\n")[0]!;
    const procs: PigeonProc[] = [];
    try {
      // A clone that has nothing and never will (its only --peer is dead), serving what it has.
      const empty = pigeonAt(peer, [
        "clone",
        link,
        `${root}/empty`,
        "--peer",
        `127.0.0.1:${closedPort()}`,
        "--port",
        "0",
        "--json",
      ]);
      procs.push(empty);
      const emptyPeer = `127.0.0.1:${(await waitJson(empty, "listening")).port}`;
      // The sharer comes up only after the new clone met the empty one.
      const sharePort = closedPort();
      const clone = pigeonAt(peer, [
        "clone",
        link,
        `${root}/dst`,
        "--peer",
        emptyPeer,
        "--peer",
        `127.0.0.1:${sharePort}`,
        "--json",
        "--timeout",
        "20",
      ]);
      procs.push(clone);
      await waitJson(clone, "connected", (e) => e.peer === `${emptyPeer} (--peer)`);
      const sharer = pigeonAt(peer, [
        "share",
        src,
        "--port",
        String(sharePort),
        "--host",
        "127.0.0.1",
        "--no-watch",
      ]);
      procs.push(sharer);
      const exit = await clone.exited(RUN_MS);
      assert.equal(exit.code, 0, exit.stderr);
      assertSameTree(`${root}/dst`, src);
      const done = jsonEvents(clone).find((e) => e.event === "done")!;
      assert.ok(Number(done.version) > 1, `mirrored version ${done.version}`);
    } finally {
      for (const p of procs) await p.stop();
    }
  });
});
