/**
 * The folder index file: its byte layout, decoding bounds, and that a
 * missing or corrupt file reads as "no index" (it is a cache).
 */
import assert from "node:assert/strict";
import {
  decodeIndex,
  encodeIndex,
  type FolderIndexState,
  readIndexFile,
  writeIndexFile,
} from "../../lib/drive/folder_index.ts";
import { toHex } from "../../lib/crypto/bytes.ts";

function sample(): FolderIndexState {
  return {
    version: 7,
    blobsLength: 3,
    blobsByteLength: 70_005,
    scanTime: 1_700_000_000_000,
    entries: new Map([
      ["/a", {
        kind: "file",
        path: "/a",
        executable: true,
        size: 5,
        mtimeMs: 1000,
        ino: 42,
        blob: { blockOffset: 0, byteOffset: 0, blockLength: 1, byteLength: 5 },
      }],
      ["/l", { kind: "symlink", path: "/l", target: "a" }],
    ]),
  };
}

Deno.test("folder index: encodes to the documented layout", () => {
  const bytes = encodeIndex(sample());
  // PGIX, format 1, version 7, blobsLength 3, blobsByteLength 70005 (fe 75 11 01 00),
  // scanTime (ff + u64le), count 2
  const head = "50474958" + "01" + "07" + "03" + "fe75110100" + "ff" +
    "0068e5cf8b010000" + "02";
  assert.equal(toHex(bytes.subarray(0, head.length / 2)), head);
  const rest = toHex(bytes.subarray(head.length / 2));
  // "/a", flags 2 (exec), size 5, mtime 1000 (fd e803), ino 42, blockOffset 0, blockLength 1, byteOffset 0
  assert.equal(
    rest,
    "022f61" + "02" + "05" + "fde803" + "2a" + "00" + "01" + "00" + "022f6c" + "01" + "0161",
  );
});

Deno.test("folder index: decodes what it encodes", () => {
  const back = decodeIndex(encodeIndex(sample()));
  assert.deepEqual(back, sample());
});

Deno.test("folder index: bad magic, unknown format and truncation are DECODE_ERROR", () => {
  const bytes = encodeIndex(sample());
  const bad = bytes.slice();
  bad[0] = 0;
  assert.throws(() => decodeIndex(bad), { code: "DECODE_ERROR" });
  const future = bytes.slice();
  future[4] = 9;
  assert.throws(() => decodeIndex(future), { code: "DECODE_ERROR" });
  for (const n of [3, 10, bytes.byteLength - 1]) {
    assert.throws(() => decodeIndex(bytes.subarray(0, n)), { code: "DECODE_ERROR" }, `cut at ${n}`);
  }
});

Deno.test("folder index: files are written atomically; missing or corrupt ones read as null", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assert.equal(readIndexFile(`${dir}/index`), null);
    writeIndexFile(`${dir}/index`, sample());
    assert.deepEqual(readIndexFile(`${dir}/index`), sample());
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["index"], "no temp file left");
    await Deno.writeFile(`${dir}/index`, new Uint8Array([1, 2, 3]));
    assert.equal(readIndexFile(`${dir}/index`), null);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
