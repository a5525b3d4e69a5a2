/**
 * Replays the operations of `tests/fixtures/hyperdrive.json` (made by
 * hyperdrive 13.3.4 on corestore 7) through Hyperbee, Hyperblobs and the entry
 * codec on in-memory logs, and checks every block byte for byte.
 */

import assert from "node:assert/strict";
import { fixture, hex } from "../_helpers/fixtures.ts";
import { toHex } from "../../lib/crypto/bytes.ts";
import { blake2b } from "../../lib/crypto/blake2b.ts";
import { Hyperbee } from "../../lib/drive/hyperbee.ts";
import { type BlobId, Hyperblobs } from "../../lib/drive/hyperblobs.ts";
import {
  decodeEntry,
  decodeEntryKey,
  encodeEntry,
  type Entry,
  entryKey,
  folderRange,
  type JsonValue,
} from "../../lib/drive/entry.ts";
import { decodeBlockMap } from "../../lib/drive/block_map.ts";
import type { Log } from "../../lib/drive/log.ts";
import { MemoryLog } from "./memory_log.ts";
import { Core } from "../../lib/core/core.ts";
import { MemoryStorage } from "../../lib/core/storage.ts";
import { decode } from "../../lib/encoding/compact.ts";
import { manifestEncoding } from "../../lib/core/manifest.ts";
import { keyPair } from "../../lib/crypto/ed25519.ts";
import { contentManifest } from "../../lib/drive/blobs_key.ts";

interface Vector {
  corestore: { dbSeed: string };
  db: {
    key: string;
    manifest: string;
    length: number;
    blocks: { seq: number; hex: string; kind: string }[];
  };
  blobs: {
    key: string;
    length: number;
    byteLength: number;
    blocks: { index: number; byteLength: number; hexPrefix: string; blake2b256: string }[];
  };
  blockMapExample: { mapBlockIndex: number; mapBlockHex: string; entryValue: unknown };
  listedEntries: { seq: number; key: string; value: unknown }[];
}

const vector = fixture<Vector>("hyperdrive.json");
const utf8 = (s: string) => new TextEncoder().encode(s);

/** The few drive operations the vector uses, written the way hyperdrive does. */
class MiniDrive<L extends Log> {
  readonly dbLog: L;
  readonly blobsLog: L;
  readonly db: Hyperbee;
  readonly blobs: Hyperblobs;

  constructor(dbLog: L, blobsLog: L) {
    this.dbLog = dbLog;
    this.blobsLog = blobsLog;
    this.db = new Hyperbee(dbLog, { metadata: { contentFeed: null, userData: null } });
    this.blobs = new Hyperblobs(blobsLog);
  }

  async put(
    name: string,
    data: Uint8Array,
    opts: { executable?: boolean; metadata?: JsonValue } = {},
  ): Promise<void> {
    const blob = await this.blobs.put(data);
    await this.#write(name, {
      executable: opts.executable ?? false,
      linkname: null,
      blob,
      metadata: opts.metadata ?? null,
    });
  }

  symlink(name: string, target: string): Promise<void> {
    return this.#write(name, { executable: false, linkname: target, blob: null, metadata: null });
  }

  del(name: string): Promise<void> {
    return this.db.del(entryKey(name));
  }

  async entry(name: string): Promise<Entry | null> {
    const node = await this.db.get(entryKey(name));
    return node === null ? null : decodeEntry(node.value!);
  }

  async putDedup(name: string, chunks: string[]): Promise<BlobId> {
    const previous = (await this.entry(name))?.blob ?? null;
    const writer = this.blobs.createWriter({ dedup: true, previous });
    for (const c of chunks) await writer.write(utf8(c));
    const blob = await writer.end();
    await this.#write(name, { executable: false, linkname: null, blob, metadata: null });
    return blob;
  }

  #write(name: string, entry: Entry): Promise<void> {
    return this.db.put(entryKey(name), encodeEntry(entry));
  }
}

async function replay<L extends Log>(d: MiniDrive<L>): Promise<MiniDrive<L>> {
  await d.put("/hello.txt", utf8("hello world"));
  await d.put("/dir/run.sh", utf8("#!/bin/sh\necho hi\n"), { executable: true });
  await d.put("/big.bin", new Uint8Array(70000).fill(0x61));
  await d.put("/empty", new Uint8Array(0));
  await d.symlink("/link", "/hello.txt");
  await d.put("/meta.txt", utf8("m"), { metadata: { foo: "bar", n: 1 } });
  await d.put("dir\\..\\norm.txt", utf8("n"));
  await d.del("/empty");
  await d.putDedup("/dedup.txt", ["same-chunk", "other", "same-chunk"]);
  for (let i = 0; i < 10; i++) await d.put("/f" + i, utf8("x" + i));
  return d;
}

Deno.test("hyperdrive vector: every db (hyperbee) block is byte-identical", async () => {
  const d = await replay(new MiniDrive(new MemoryLog(), new MemoryLog()));
  assert.equal(d.dbLog.length, vector.db.length);
  for (const b of vector.db.blocks) {
    assert.equal(toHex(d.dbLog.blocks[b.seq]!), b.hex, `db block ${b.seq} (${b.kind})`);
  }
});

Deno.test("hyperdrive vector: every blobs block matches length, prefix and hash", async () => {
  const d = await replay(new MiniDrive(new MemoryLog(), new MemoryLog()));
  assert.equal(d.blobsLog.length, vector.blobs.length);
  assert.equal(d.blobsLog.byteLength, vector.blobs.byteLength);
  for (const b of vector.blobs.blocks) {
    const block = d.blobsLog.blocks[b.index]!;
    assert.equal(block.byteLength, b.byteLength, `blobs block ${b.index} length`);
    assert.equal(toHex(block.subarray(0, 32)), b.hexPrefix);
    assert.equal(toHex(blake2b([block], 32)), b.blake2b256, `blobs block ${b.index} hash`);
  }
});

Deno.test("hyperdrive vector: the dedup blob's block map and content read back", async () => {
  const d = await replay(new MiniDrive(new MemoryLog(), new MemoryLog()));
  const ex = vector.blockMapExample;
  assert.equal(toHex(d.blobsLog.blocks[ex.mapBlockIndex]!), ex.mapBlockHex);
  const entry = await d.entry("/dedup.txt");
  assert.deepEqual(entry, ex.entryValue);
  const map = decodeBlockMap([hex(ex.mapBlockHex)]);
  assert.deepEqual(map.blocks.map((b) => b.index), [6, 7, 6]);
  const content = await d.blobs.get(entry!.blob!);
  assert.equal(new TextDecoder().decode(content), "same-chunkothersame-chunk");
  assert.equal(await d.blobs.contentLength(entry!.blob!), 25);
  const middle = await d.blobs.get(entry!.blob!, { start: 8, length: 9 });
  assert.equal(new TextDecoder().decode(middle), "nkothersa");
});

Deno.test("hyperdrive vector: listing '/' gives the captured entries in order", async () => {
  const d = await replay(new MiniDrive(new MemoryLog(), new MemoryLog()));
  const listed = [];
  for await (const e of d.db.range(folderRange("/"))) {
    listed.push({ seq: e.seq, key: decodeEntryKey(e.key), value: decodeEntry(e.value!) });
  }
  assert.deepEqual(listed, vector.listedEntries);
  assert.equal(await d.entry("/empty"), null);
  const big = await d.entry("/big.bin");
  const bytes = await d.blobs.get(big!.blob!);
  assert.equal(bytes.byteLength, 70000);
  assert.ok(bytes.every((b) => b === 0x61));
});

Deno.test("hyperdrive vector: on real cores the keys and every block match", async () => {
  const pair = keyPair(hex(vector.corestore.dbSeed));
  const db = await Core.open(new MemoryStorage(), { keyPair: pair });
  const manifest = contentManifest(decode(manifestEncoding, hex(vector.db.manifest)), db.key)!;
  const blobs = await Core.open(new MemoryStorage(), { keyPair: pair, manifest });
  try {
    assert.equal(toHex(db.key), vector.db.key);
    assert.equal(toHex(blobs.key), vector.blobs.key);
    await replay(new MiniDrive(db, blobs));
    assert.equal(db.length, vector.db.length);
    for (const b of vector.db.blocks) assert.equal(toHex(await db.get(b.seq)), b.hex);
    assert.equal(blobs.byteLength, vector.blobs.byteLength);
    for (const b of vector.blobs.blocks) {
      assert.equal(toHex(blake2b([await blobs.get(b.index)], 32)), b.blake2b256);
    }
  } finally {
    await db.close();
    await blobs.close();
  }
});
