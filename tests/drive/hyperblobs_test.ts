import assert from "node:assert/strict";
import { isPigeonError } from "../../lib/errors.ts";
import { encode } from "../../lib/encoding/compact.ts";
import {
  type BlobId,
  DEFAULT_BLOCK_SIZE,
  Hyperblobs,
  MAX_APPEND_BATCH,
} from "../../lib/drive/hyperblobs.ts";
import {
  blockMapBlock,
  encodeBlockMap,
  MAX_MAP_ENTRIES_PER_BLOCK,
} from "../../lib/drive/block_map.ts";
import { MemoryLog } from "./memory_log.ts";
import { Random } from "./_random.ts";

const isDecodeError = (e: unknown) => isPigeonError(e, "DECODE_ERROR");

Deno.test("hyperblobs: put splits into 64 KiB blocks and ids count blocks and bytes", async () => {
  const log = new MemoryLog();
  const blobs = new Hyperblobs(log);
  const a = await blobs.put(new Uint8Array(10).fill(1));
  const big = new Uint8Array(DEFAULT_BLOCK_SIZE * 2 + 5).fill(2);
  const b = await blobs.put(big);
  const empty = await blobs.put(new Uint8Array(0));
  assert.deepEqual(a, { blockOffset: 0, byteOffset: 0, blockLength: 1, byteLength: 10 });
  assert.deepEqual(b, { blockOffset: 1, byteOffset: 10, blockLength: 3, byteLength: big.length });
  assert.deepEqual(empty, {
    blockOffset: 4,
    byteOffset: 10 + big.length,
    blockLength: 0,
    byteLength: 0,
  });
  assert.deepEqual(log.blocks.map((x) => x.length), [10, 65536, 65536, 5]);
  assert.deepEqual(await blobs.get(b), big);
  assert.deepEqual(await blobs.get(empty), new Uint8Array(0));
  // Key order of the id object matters for the drive's JSON.
  assert.deepEqual(Object.keys(a), ["blockOffset", "byteOffset", "blockLength", "byteLength"]);
});

Deno.test("hyperblobs: a writer stores one block per chunk, appending 16 at a time", async () => {
  const log = new MemoryLog();
  const blobs = new Hyperblobs(log, { blockSize: 8 });
  const w = blobs.createWriter();
  for (let i = 0; i < 40; i++) await w.write(Uint8Array.of(i, i));
  await w.write(new Uint8Array(20).fill(9)); // longer than the block size: split 8, 8, 4
  await w.write(new Uint8Array(0));
  const id = await w.end();
  assert.deepEqual(log.batches, [MAX_APPEND_BATCH, MAX_APPEND_BATCH, 11]);
  assert.deepEqual(id, { blockOffset: 0, byteOffset: 0, blockLength: 43, byteLength: 100 });
  await assert.rejects(w.write(Uint8Array.of(1)), (e: unknown) => isPigeonError(e, "CLOSED"));
});

for (const withSeek of [true, false]) {
  Deno.test(`hyperblobs: byte ranges equal slices of the content (seek: ${withSeek})`, async () => {
    const rng = new Random(withSeek ? 5 : 6);
    const log = new MemoryLog(withSeek);
    const blobs = new Hyperblobs(log, { blockSize: 7 });
    await blobs.put(rng.bytes(30)); // something before, so byteOffset > 0
    const content = rng.bytes(100);
    const w = blobs.createWriter();
    for (let i = 0; i < content.length;) {
      const n = 1 + rng.int(9); // uneven chunks: blocks of 1…7 bytes
      await w.write(content.subarray(i, Math.min(content.length, i + n)));
      i += n;
    }
    const id = await w.end();
    for (let q = 0; q < 300; q++) {
      const start = rng.int(110);
      const kind = rng.int(3);
      const n = rng.int(40);
      const range = kind === 0
        ? { start }
        : kind === 1
        ? { start, length: n }
        : { start, end: start + n };
      const stop = kind === 0 ? 100 : kind === 1 ? start + n : start + n + 1;
      const got = await blobs.get(id, range);
      assert.deepEqual(got, content.slice(start, Math.min(stop, 100)), JSON.stringify(range));
    }
    const reads = log.reads;
    await blobs.get(id, { start: 95 });
    const used = log.reads - reads;
    if (withSeek) assert.ok(used <= 2, `a tail read with seek read ${used} blocks`);
  });
}

Deno.test("hyperblobs: dedup reuses blocks within the blob and from the previous one", async () => {
  const log = new MemoryLog();
  const blobs = new Hyperblobs(log);
  const u = (s: string) => new TextEncoder().encode(s);
  const w1 = blobs.createWriter({ dedup: true });
  for (const c of ["A", "B", "A", "A"]) await w1.write(u(c));
  const id1 = await w1.end();
  assert.equal(id1.blockMap, true);
  assert.deepEqual((await blobs.getBlockMap(id1)).blocks.map((b) => b.index), [0, 1, 0, 0]);
  assert.equal(new TextDecoder().decode(await blobs.get(id1)), "ABAA");
  const w2 = blobs.createWriter({ dedup: true, previous: id1 });
  for (const c of ["B", "C", "A"]) await w2.write(u(c));
  const id2 = await w2.end();
  assert.deepEqual((await blobs.getBlockMap(id2)).blocks.map((b) => b.index), [1, 3, 0]);
  assert.equal(new TextDecoder().decode(await blobs.get(id2)), "BCA");
  assert.equal(await blobs.contentLength(id2), 3);
  // Dedup against a plain blob infers its map from its blocks.
  const plain = await blobs.put(u("C"));
  const w3 = blobs.createWriter({ dedup: true, previous: plain });
  await w3.write(u("C"));
  const id3 = await w3.end();
  assert.deepEqual((await blobs.getBlockMap(id3)).blocks, [{
    index: plain.blockOffset,
    byteLength: 1,
  }]);
});

Deno.test("hyperblobs: a block map larger than one block spans several map blocks", async () => {
  const log = new MemoryLog();
  const blobs = new Hyperblobs(log);
  const w = blobs.createWriter({ blockMap: true });
  const n = MAX_MAP_ENTRIES_PER_BLOCK + 3;
  for (let i = 0; i < n; i++) await w.write(Uint8Array.of(i & 0xff));
  const id = await w.end();
  assert.equal(id.blockOffset, n);
  assert.equal(id.blockLength, 2);
  const content = await blobs.get(id);
  assert.equal(content.length, n);
  assert.equal(content[n - 1], (n - 1) & 0xff);
  assert.deepEqual(
    await blobs.get(id, { start: n - 2 }),
    Uint8Array.of((n - 2) & 0xff, (n - 1) & 0xff),
  );
  assert.equal(encodeBlockMap([]).length, 1, "an empty map is still one block");
});

Deno.test("hyperblobs: concurrent writers never interleave their blocks", async () => {
  const log = new MemoryLog();
  const blobs = new Hyperblobs(log);
  const write = async (byte: number) => {
    const w = blobs.createWriter();
    for (let i = 0; i < 5; i++) await w.write(Uint8Array.of(byte, i));
    return w.end();
  };
  const ids = await Promise.all([write(1), write(2), write(3)]);
  for (const [k, id] of ids.entries()) {
    const content = await blobs.get(id);
    assert.deepEqual([...content.filter((_, i) => i % 2 === 0)], [
      k + 1,
      k + 1,
      k + 1,
      k + 1,
      k + 1,
    ]);
  }
});

Deno.test("hyperblobs: corrupt ids and maps fail with typed errors", async () => {
  const log = new MemoryLog();
  const blobs = new Hyperblobs(log);
  const id = await blobs.put(new Uint8Array(10));
  const lying: BlobId = { ...id, byteLength: 20 };
  await assert.rejects(blobs.get(lying), isDecodeError);
  await assert.rejects(
    blobs.get({ ...id, blockOffset: -1 }),
    (e: unknown) => isPigeonError(e, "BAD_ARGUMENT"),
  );
  await assert.rejects(
    blobs.get(id, { start: -1 }),
    (e: unknown) => isPigeonError(e, "BAD_ARGUMENT"),
  );
  // A map claiming a different block length than the block has.
  await log.append([encode(blockMapBlock, { version: 0, blocks: [{ index: 0, byteLength: 3 }] })]);
  const mapped: BlobId = {
    blockOffset: 1,
    byteOffset: 10,
    blockLength: 1,
    byteLength: 4,
    blockMap: true,
  };
  await assert.rejects(blobs.get(mapped), isDecodeError);
  // A map of an unknown version, or garbage.
  await log.append([Uint8Array.of(1, 0), Uint8Array.of(0, 5, 1)]);
  await assert.rejects(blobs.get({ ...mapped, blockOffset: 2, byteLength: 2 }), /version 1/);
  await assert.rejects(blobs.get({ ...mapped, blockOffset: 3, byteLength: 3 }), isDecodeError);
  await assert.rejects(blobs.getBlockMap({ ...mapped, blockLength: 65 }), isDecodeError);
});
