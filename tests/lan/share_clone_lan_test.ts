/**
 * share / clone / pull across a LAN (root only): each pigeon process runs in
 * a network namespace of its own, joined by a veth pair or a bridge, and
 * finds the others by multicast DNS alone (no `--peer`). PIGEON_LAN is set to
 * each namespace's own address, so nothing is sent on the machine's network.
 */

import assert from "node:assert/strict";
import { type PigeonProc, removeDir, tempDir } from "../e2e/_cli.ts";
import {
  assertSameTree,
  heldBlocks,
  jsonEvents,
  noise,
  type PeerOptions,
  pigeonAt,
  startShare,
  waitJson,
  writeTree,
} from "./_drive_peers.ts";
import { lanSkipReason, leftoverNamespaces, type NetnsHost, NetnsLan } from "./netns.ts";

const skip = lanSkipReason();
if (skip !== null) console.log(`tests/lan/share_clone_lan_test.ts skipped: ${skip}`);

/** Bound on one clone or pull (start-up, discovery, transfer) on a busy 2-core machine. */
const RUN_MS = 60_000;
/** The bound: an edit reaches a --live clone within this. */
const LIVE_EDIT_MS = 3000;
/** Content block size of a drive. */
const BLOB_BLOCK = 65536;

/** pigeon run inside `host`, discovering on its address only. */
function at(host: NetnsHost, home: string): PeerOptions {
  return { home, lan: host.address, prefix: host.exec };
}

/** The connections a process reported, as [peer, via]. */
function connections(proc: PigeonProc): [unknown, unknown][] {
  return jsonEvents(proc).filter((e) => e.event === "connected").map((e) => [e.peer, e.via]);
}

Deno.test({
  name:
    "lan: clone finds a share in another namespace with no --peer; an edit reaches a --live clone",
  ignore: skip !== null,
  async fn() {
    const root = await tempDir("pigeon-lan-share-");
    let lan: NetnsLan | null = null;
    const procs: PigeonProc[] = [];
    try {
      lan = await NetnsLan.veth();
      const [a, b] = lan.hosts as [NetnsHost, NetnsHost];
      const src = `${root}/src`;
      writeTree(src, {
        "notes.txt": "first\n",
        "data/blob.bin": noise(5 * BLOB_BLOCK + 77, 3),
        "bin/run.sh": { data: "#!/bin/sh\necho run\n", exec: true },
        "current": { symlink: "data/blob.bin" },
      });
      const sharer = await startShare(at(a, `${root}/home-a`), src);
      procs.push(sharer.proc);

      const clone = pigeonAt(at(b, `${root}/home-b`), [
        "clone",
        sharer.link,
        `${root}/dst`,
        "--json",
        "--timeout",
        "30",
        "--no-upload", // not announced, so it is the one that dials (found on the LAN)
      ]);
      procs.push(clone);
      const exit = await clone.exited(RUN_MS);
      assert.equal(exit.code, 0, exit.stderr);
      assertSameTree(`${root}/dst`, src);
      // It found the sharer on the LAN, at the sharer's namespace address, and says so.
      assert.deepEqual(connections(clone), [[`${a.address}:${sharer.port} (LAN)`, "lan"]]);

      const live = pigeonAt(at(b, `${root}/home-b`), [
        "clone",
        sharer.link,
        `${root}/live`,
        "--live",
        "--json",
      ]);
      procs.push(live);
      const first = await waitJson(live, "done", () => true, RUN_MS);
      assertSameTree(`${root}/live`, src);
      const edited = performance.now();
      Deno.writeTextFileSync(`${src}/notes.txt`, "second\n");
      const next = await waitJson(
        live,
        "version",
        (e) => Number(e.version) > Number(first.version),
        RUN_MS,
      );
      const ms = Math.round(performance.now() - edited);
      assert.equal(next.files, 1);
      assert.equal(Deno.readTextFileSync(`${root}/live/notes.txt`), "second\n");
      assert.ok(ms <= LIVE_EDIT_MS, `the edit took ${ms} ms to reach the live clone`);
      console.log(`veth: an edit reached the --live clone in ${ms} ms`);
    } finally {
      for (const p of procs) await p.stop();
      await lan?.close();
      await removeDir(root);
    }
    assert.deepEqual(await leftoverNamespaces(), []);
  },
});

Deno.test({
  name:
    "lan: three readers on a bridge; one killed mid-transfer leaves the others fine and resumes with pull",
  ignore: skip !== null,
  async fn() {
    const root = await tempDir("pigeon-lan-readers-");
    let lan: NetnsLan | null = null;
    const procs: PigeonProc[] = [];
    try {
      lan = await NetnsLan.bridge(["10.77.0.1/24", "10.77.0.2/24", "10.77.0.3/24", "10.77.0.4/24"]);
      const [h0, ...readers] = lan.hosts as [NetnsHost, NetnsHost, NetnsHost, NetnsHost];
      const src = `${root}/src`;
      const FILES = 24;
      const SIZE = 1 << 20;
      const spec: Record<string, Uint8Array> = {};
      for (let i = 0; i < FILES; i++) {
        spec[`part${String(i).padStart(2, "0")}.bin`] = noise(SIZE, i);
      }
      writeTree(src, spec);
      const total = FILES * SIZE / BLOB_BLOCK;
      const sharer = await startShare(at(h0, `${root}/home0`), src, ["--no-watch"]);
      procs.push(sharer.proc);

      const clones = readers.map((host, i) =>
        pigeonAt(at(host, `${root}/home${i + 1}`), [
          "clone",
          sharer.link,
          `${root}/dst${i + 1}`,
          "--json",
          "--timeout",
          "30",
        ])
      );
      procs.push(...clones);
      const [victim, ...others] = clones as [PigeonProc, PigeonProc, PigeonProc];
      await victim.waitFor(
        () => jsonEvents(victim).filter((e) => e.event === "file").length >= 2 ? true : undefined,
        "two files",
        RUN_MS,
      );
      victim.kill("SIGKILL");
      assert.equal((await victim.exited(RUN_MS)).signal, "SIGKILL");
      const held = (await heldBlocks(`${root}/dst1`)).blobs;
      assert.ok(held < total, `killed mid-transfer (${held} of ${total} blocks held)`);

      for (const [i, other] of others.entries()) {
        const exit = await other.exited(RUN_MS);
        assert.equal(exit.code, 0, exit.stderr);
        assertSameTree(`${root}/dst${i + 2}`, src);
        assert.ok(connections(other).some(([, via]) => via === "lan"));
      }

      const resume = pigeonAt(at(readers[0]!, `${root}/home1`), [
        "pull",
        `${root}/dst1`,
        "--json",
        "--timeout",
        "30",
      ]);
      procs.push(resume);
      const exit = await resume.exited(RUN_MS);
      assert.equal(exit.code, 0, exit.stderr);
      const done = await waitJson(resume, "done");
      assert.equal(done.blocks, total - held, "only the missing blocks were downloaded");
      assertSameTree(`${root}/dst1`, src);
      console.log(
        `bridge: killed reader held ${held}/${total} blocks; pull received ${done.blocks}; ` +
          `its peers: ${JSON.stringify(connections(resume))}`,
      );
    } finally {
      for (const p of procs) await p.stop();
      await lan?.close();
      await removeDir(root);
    }
    assert.deepEqual(await leftoverNamespaces(), []);
  },
});
