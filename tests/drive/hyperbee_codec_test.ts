import assert from "node:assert/strict";
import { fixture } from "../_helpers/fixtures.ts";
import { fromHex, toHex } from "../../lib/crypto/bytes.ts";
import { isPigeonError } from "../../lib/errors.ts";
import {
  decodeHeader,
  decodeNode,
  decodeYoloIndex,
  encodeHeader,
  encodeNode,
  encodeYoloIndex,
} from "../../lib/drive/hyperbee_codec.ts";
import { decodeBlockMap } from "../../lib/drive/block_map.ts";
import { decodeEntry } from "../../lib/drive/entry.ts";
import { Random } from "./_random.ts";

interface DbBlock {
  seq: number;
  hex: string;
  decoded: {
    key: string;
    value: string | null;
    index: string;
    indexDecoded: { keys: number[]; children: { seq: number; offset: number }[] }[];
  };
}

const db = fixture<{ db: { blocks: DbBlock[] } }>("hyperdrive.json").db;

Deno.test("hyperbee codec: hyperdrive's header decodes and re-encodes to the same 12 bytes", () => {
  const bytes = fromHex(db.blocks[0]!.hex);
  const header = decodeHeader(bytes);
  assert.deepEqual(header, {
    protocol: "hyperbee",
    metadata: { contentFeed: null, userData: null },
  });
  assert.equal(toHex(encodeHeader(header)), "0a0868797065726265651200");
  // Without metadata the field is left out entirely.
  assert.equal(
    toHex(encodeHeader({ protocol: "hyperbee", metadata: null })),
    "0a086879706572626565",
  );
  const full = {
    protocol: "x",
    metadata: { contentFeed: new Uint8Array(32).fill(1), userData: Uint8Array.of(9) },
  };
  assert.deepEqual(decodeHeader(encodeHeader(full)), full);
});

Deno.test("hyperbee codec: every captured node block decodes to the captured fields", () => {
  for (const b of db.blocks.slice(1)) {
    const node = decodeNode(fromHex(b.hex));
    assert.equal(toHex(node.key), b.decoded.key);
    assert.equal(node.value === null ? null : toHex(node.value), b.decoded.value);
    assert.equal(toHex(node.index), b.decoded.index);
    const index = decodeYoloIndex(node.index);
    const want = b.decoded.indexDecoded.map((l) => ({
      keys: l.keys,
      children: l.children.flatMap((c) => [c.seq, c.offset]),
    }));
    assert.deepEqual(index.levels, want, `block ${b.seq}`);
    assert.equal(toHex(encodeYoloIndex(index)), b.decoded.index);
    assert.equal(toHex(encodeNode(node)), b.hex);
  }
});

Deno.test("hyperbee codec: required fields and odd child lists are decode errors", () => {
  const isDecode = (e: unknown) => isPigeonError(e, "DECODE_ERROR");
  assert.throws(() => decodeHeader(fromHex("1200")), isDecode); // no protocol
  assert.throws(() => decodeNode(fromHex("12016b")), isDecode); // no index
  assert.throws(() => decodeNode(fromHex("0a00")), isDecode); // no key
  assert.throws(() => decodeNode(fromHex("0801120161")), isDecode); // index as varint
  assert.throws(() => decodeYoloIndex(fromHex("0a0312010b")), isDecode); // one child entry
  // Unknown fields are skipped.
  assert.deepEqual(decodeNode(fromHex("0a00120161" + "2001")).key, Uint8Array.of(0x61));
});

Deno.test("hyperbee codec: random garbage fails with DECODE_ERROR or decodes, never hangs", () => {
  const rng = new Random(0x5eed);
  const decoders: [string, (b: Uint8Array) => unknown][] = [
    ["header", decodeHeader],
    ["node", decodeNode],
    ["yolo index", decodeYoloIndex],
    ["block map", (b) => decodeBlockMap([b])],
    ["entry", decodeEntry],
  ];
  const started = performance.now();
  let failures = 0;
  for (let i = 0; i < 4000; i++) {
    // Mix pure noise with mutated valid blocks, which get further into the decoders.
    const base = fromHex(db.blocks[1 + rng.int(db.blocks.length - 1)]!.hex);
    const bytes = rng.int(2) === 0 ? rng.bytes(rng.int(64)) : mutate(base, rng);
    for (const [name, decode] of decoders) {
      try {
        decode(bytes);
      } catch (err) {
        failures++;
        assert.ok(isPigeonError(err, "DECODE_ERROR"), `${name} threw ${err} for ${toHex(bytes)}`);
      }
    }
  }
  assert.ok(failures > 1000, `only ${failures} inputs failed; the fuzz is not exercising errors`);
  assert.ok(performance.now() - started < 10_000, "decoding garbage took too long");
});

function mutate(bytes: Uint8Array, rng: Random): Uint8Array {
  const out = bytes.slice(0, Math.max(1, bytes.length - rng.int(4)));
  for (let n = rng.int(3) + 1; n > 0; n--) out[rng.int(out.length)] = rng.u32() & 0xff;
  return out;
}
