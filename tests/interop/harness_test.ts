/**
 * Checks the Node reference harness itself: its output must equal the protocol vectors, and
 * two real hypercores must replicate through serve.js / fetch.js over loopback TCP.
 *
 * @module
 */

import assert from "node:assert/strict";
import { fixture } from "../_helpers/fixtures.ts";
import { type NodeEvent, runNode, spawnNode } from "./_harness.ts";

interface VectorCore {
  length: number;
  mode: string;
  blocks: { value: string }[];
  byteLength: number;
  treeHash: string;
  manifestEncoded: string;
  key: string;
  discoveryKey: string;
  idZ32: string;
  signatureAsStoredAndSentOnWire: string;
}
interface MerkleVectors {
  keyPair: { seed: string };
  cores: VectorCore[];
}

const vectors = fixture<MerkleVectors>("merkle-and-keys.json");

function vectorCore(length: number, compat: boolean): VectorCore {
  const c = vectors.cores.find((c) => c.length === length && (c.mode === "compat") === compat);
  assert.ok(c, `vector core of length ${length}`);
  return c;
}

async function coreWrite(request: unknown): Promise<NodeEvent> {
  const out = await runNode("core_write.js", [], {
    stdin: JSON.stringify(request),
  });
  assert.equal(out.code, 0, out.stderr);
  assert.equal(out.lines.length, 1);
  return out.lines[0]!;
}

for (const compat of [false, true]) {
  Deno.test(`harness: core_write.js reproduces the 5-block ${compat ? "compat" : "manifest-v1"} vector core`, async () => {
    const v = vectorCore(5, compat);
    const got = await coreWrite({
      seed: vectors.keyPair.seed,
      compat,
      blocks: v.blocks.map((b) => b.value),
    });
    assert.deepEqual(got, {
      key: v.key,
      discoveryKey: v.discoveryKey,
      id: v.idZ32,
      length: v.length,
      byteLength: v.byteLength,
      treeHash: v.treeHash,
      signature: v.signatureAsStoredAndSentOnWire,
      manifest: compat ? null : v.manifestEncoded,
      fork: 0,
    });
  });
}

Deno.test("harness: core_write.js signs the same 8-block core whether appended at once or in batches", async () => {
  const v = vectorCore(8, false);
  const blocks = v.blocks.map((b) => b.value);
  const got = await coreWrite({
    seed: vectors.keyPair.seed,
    compat: false,
    batches: [blocks.slice(0, 3), blocks.slice(3)],
  });
  assert.equal(got.treeHash, v.treeHash);
  assert.equal(got.signature, v.signatureAsStoredAndSentOnWire);
});

Deno.test("harness: core_write.js rejects a request without blocks", async () => {
  const out = await runNode("core_write.js", [], {
    stdin: JSON.stringify({ seed: vectors.keyPair.seed }),
  });
  assert.equal(out.code, 1);
  assert.match(out.stderr, /exactly one of "blocks" or "batches"/);
});

interface DriveVectors {
  corestore: { primaryKey: string };
  db: { key: string; blocks: { hex: string }[] };
  blobs: { key: string; blocks: { blake2b256: string }[] };
}

Deno.test("harness: drive_write.js writes the db blocks of the hyperdrive vector", async () => {
  const v = fixture<DriveVectors>("hyperdrive.json");
  const text = (
    path: string,
    utf8: string,
    extra: Record<string, unknown> = {},
  ) => ({
    op: "put",
    path,
    utf8,
    ...extra,
  });
  const utf8Hex = (s: string) =>
    Array.from(
      new TextEncoder().encode(s),
      (b) => b.toString(16).padStart(2, "0"),
    ).join("");
  // The operations of shared/protocol/oracle/hyperdrive-layout.js, in order.
  const first = [
    text("/hello.txt", "hello world"),
    text("/dir/run.sh", "#!/bin/sh\necho hi\n", { executable: true }),
    { op: "put", path: "/big.bin", hex: "61".repeat(70000) },
    { op: "put", path: "/empty", hex: "" },
    { op: "symlink", path: "/link", target: "/hello.txt" },
    text("/meta.txt", "m", { metadata: { foo: "bar", n: 1 } }),
    text("dir\\..\\norm.txt", "n"),
    { op: "del", path: "/empty" },
    {
      op: "put",
      path: "/dedup.txt",
      chunks: ["same-chunk", "other", "same-chunk"].map(utf8Hex),
      dedup: true,
    },
  ];
  const second = Array.from({ length: 10 }, (_, i) => text(`/f${i}`, `x${i}`));
  const out = await runNode("drive_write.js", [], {
    stdin: JSON.stringify({
      seed: v.corestore.primaryKey,
      versions: [first, second],
    }),
  });
  assert.equal(out.code, 0, out.stderr);
  const got = out.lines[0] as {
    db: { key: string; blocks: string[] };
    blobs: { key: string; blocks: string[] };
    versions: { version: number }[];
  };
  assert.equal(got.db.key, v.db.key);
  assert.equal(got.blobs.key, v.blobs.key);
  assert.deepEqual(got.db.blocks, v.db.blocks.map((b) => b.hex));
  assert.equal(got.blobs.blocks.length, v.blobs.blocks.length);
  assert.deepEqual(got.versions.map((x) => x.version), [10, 20]);
});

Deno.test("harness: serve.js and fetch.js move a 40-block core between two Node processes", async () => {
  const seed = "02".repeat(32);
  const server = spawnNode("serve.js", [
    "--seed",
    seed,
    "--count",
    "40",
    "--size",
    "1000",
    "--data-seed",
    "harness",
  ]);
  try {
    const listening = await server.waitForEvent("listening");
    assert.equal(listening.length, 40);
    assert.equal(listening.byteLength, 40_000);
    const peer = `127.0.0.1:${listening.port}`;

    // Every block: the bytes must be the documented AES-256-CTR stream.
    const all = await runNode("fetch.js", [
      "--peer",
      peer,
      "--key",
      String(listening.key),
      "--all",
    ], {
      timeoutMs: 30_000,
    });
    assert.equal(all.code, 0, all.stderr);
    const blocks = all.lines.filter((e) => e.event === "block");
    assert.deepEqual(
      blocks.map((b) => b.index),
      Array.from({ length: 40 }, (_, i) => i),
    );
    const expected = await dataStream("harness", 40_000);
    const hex = (u: Uint8Array) => Array.from(u, (b) => b.toString(16).padStart(2, "0")).join("");
    for (const b of blocks) {
      const i = b.index as number;
      assert.equal(
        b.hex,
        hex(expected.subarray(i * 1000, (i + 1) * 1000)),
        `block ${i}`,
      );
    }
    assert.deepEqual(all.lines.at(-1)?.event, "done");
    assert.equal(all.lines.at(-1)?.byteLength, 40_000);

    // A sparse fetch returns just the blocks asked for, in the order asked.
    const some = await runNode("fetch.js", [
      "--peer",
      peer,
      "--key",
      String(listening.key),
      "--blocks",
      "39,0,17",
    ], { timeoutMs: 30_000 });
    assert.equal(some.code, 0, some.stderr);
    assert.deepEqual(
      some.lines.filter((e) => e.event === "block").map((b) => b.index),
      [39, 0, 17],
    );
    assert.equal(
      some.lines.find((e) => e.index === 17)?.hex,
      hex(expected.subarray(17_000, 18_000)),
    );
  } finally {
    await server.stop();
  }
});

Deno.test("harness: fetch.js exits 3 when the block never comes", async () => {
  const server = spawnNode("serve.js", [
    "--seed",
    "03".repeat(32),
    "--count",
    "2",
    "--size",
    "10",
    "--data-seed",
    "x",
  ]);
  try {
    const { port, key } = await server.waitForEvent("listening");
    const out = await runNode("fetch.js", [
      "--peer",
      `127.0.0.1:${port}`,
      "--key",
      String(key),
      "--blocks",
      "5",
      "--timeout-ms",
      "1500",
    ], { timeoutMs: 20_000 });
    assert.equal(out.code, 3);
    assert.match(out.stderr, /timeout/);
  } finally {
    await server.stop();
  }
});

/** The harness data generator: AES-256-CTR keystream, key = SHA-256(seed), zero counter. */
async function dataStream(seed: string, n: number): Promise<Uint8Array> {
  const keyBytes = await crypto.subtle.digest(
    "SHA-256",
    new TextEncoder().encode(seed),
  );
  const key = await crypto.subtle.importKey("raw", keyBytes, "AES-CTR", false, [
    "encrypt",
  ]);
  const out = await crypto.subtle.encrypt(
    { name: "AES-CTR", counter: new Uint8Array(16), length: 128 },
    key,
    new Uint8Array(n),
  );
  return new Uint8Array(out);
}

const SMALL_DRIVE = {
  seed: "09".repeat(32),
  versions: [
    [
      { op: "put", path: "/a.txt", utf8: "alpha" },
      { op: "put", path: "/bin/run", utf8: "#!/bin/sh\n", executable: true },
      { op: "symlink", path: "/ln", target: "/a.txt" },
    ],
    [{ op: "put", path: "/b.txt", utf8: "beta" }, { op: "del", path: "/a.txt" }],
  ],
};
const SMALL_DRIVE_FILES = [
  { path: "/b.txt", executable: false, linkname: null, hex: "62657461" },
  { path: "/bin/run", executable: true, linkname: null, hex: "23212f62696e2f73680a" },
  { path: "/ln", executable: false, linkname: "/a.txt", hex: undefined },
];

function summarize(files: NodeEvent[]) {
  return files.map((f) => ({
    path: f.path,
    executable: f.executable,
    linkname: f.linkname,
    hex: f.hex,
  }));
}

Deno.test("harness: drive_read.js reads back the blocks drive_write.js wrote", async () => {
  const written = await runNode("drive_write.js", [], { stdin: JSON.stringify(SMALL_DRIVE) });
  assert.equal(written.code, 0, written.stderr);
  const w = written.lines[0] as {
    db: { key: string; blocks: string[] };
    blobs: { key: string; blocks: string[] };
    versions: { db: unknown; blobs: unknown }[];
  };
  const read = await runNode("drive_read.js", [], {
    stdin: JSON.stringify({ seed: SMALL_DRIVE.seed, db: w.db.blocks, blobs: w.blobs.blocks }),
  });
  assert.equal(read.code, 0, read.stderr);
  const r = read.lines[0] as NodeEvent & { files: NodeEvent[] };
  assert.equal(r.key, w.db.key);
  assert.equal(r.contentKey, w.blobs.key);
  // Same seed and same blocks: the reference signs exactly what it signed when writing.
  assert.deepEqual(r.db, w.versions.at(-1)?.db);
  assert.deepEqual(r.blobs, w.versions.at(-1)?.blobs);
  assert.deepEqual(summarize(r.files), SMALL_DRIVE_FILES);
});

Deno.test("harness: drive_serve.js and drive_clone.js move a drive between two Node processes", async () => {
  const spec = await Deno.makeTempFile({ suffix: ".json" });
  await Deno.writeTextFile(spec, JSON.stringify(SMALL_DRIVE));
  const server = spawnNode("drive_serve.js", ["--seed", SMALL_DRIVE.seed, "--spec", spec]);
  try {
    const listening = await server.waitForEvent("listening");
    assert.equal(listening.version, 6); // header + 5 operations
    const clone = await runNode("drive_clone.js", [
      "--peer",
      `127.0.0.1:${listening.port}`,
      "--key",
      String(listening.key),
    ], { timeoutMs: 30_000 });
    assert.equal(clone.code, 0, clone.stderr);
    assert.deepEqual(summarize(clone.lines.filter((e) => e.event === "file")), SMALL_DRIVE_FILES);
    const done = clone.lines.at(-1);
    assert.equal(done?.event, "done");
    assert.equal(done?.files, 3);
  } finally {
    await server.stop();
    await Deno.remove(spec);
  }
});
