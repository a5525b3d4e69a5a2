import assert from "node:assert/strict";
import {
  MAX_VARINT_BYTES,
  Reader,
  varintLength,
  WIRE_BYTES,
  WIRE_VARINT,
  Writer,
  writeVarint,
} from "../../lib/encoding/protobuf.ts";
import { isPigeonError } from "../../lib/errors.ts";
import { fromHex, toHex } from "../../lib/crypto/bytes.ts";

const VARINTS: [number, string][] = [
  [0, "00"],
  [1, "01"],
  [127, "7f"],
  [128, "8001"],
  [150, "9601"],
  [300, "ac02"],
  [16383, "ff7f"],
  [16384, "808001"],
  [2 ** 31, "8080808008"],
  [2 ** 32, "8080808010"],
  [2 ** 53 - 1, "ffffffffffffff0f"],
];

function encodeVarint(n: number): Uint8Array {
  const out = new Uint8Array(varintLength(n));
  assert.equal(writeVarint(out, 0, n), out.length);
  return out;
}

function assertDecodeError(fn: () => unknown, message?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isPigeonError(err, "DECODE_ERROR"), `expected DECODE_ERROR, got ${err}`);
    if (message) assert.match((err as Error).message, message);
    return true;
  });
}

Deno.test("protobuf: varints encode as LEB128 with known bytes", () => {
  for (const [n, hex] of VARINTS) {
    assert.equal(toHex(encodeVarint(n)), hex, `encode ${n}`);
    assert.equal(new Reader(fromHex(hex)).varint(), n, `decode ${hex}`);
    assert.equal(varintLength(n), hex.length / 2);
  }
});

Deno.test("protobuf: varint encoder rejects negative, fractional and unsafe numbers", () => {
  for (const bad of [-1, 1.5, 2 ** 53, NaN, Infinity]) {
    assert.throws(() => varintLength(bad), (e: unknown) => isPigeonError(e, "BAD_ARGUMENT"));
  }
});

Deno.test("protobuf: varint decoder rejects truncation, overlong and too-large values", () => {
  assertDecodeError(() => new Reader(fromHex("80")).varint(), /end of message/);
  assertDecodeError(() => new Reader(fromHex("ffff")).varint(), /end of message/);
  assertDecodeError(() => new Reader(new Uint8Array(MAX_VARINT_BYTES + 1).fill(0x80)).varint());
  assertDecodeError(() => new Reader(fromHex("80808080808080808001")).varint(), /2\^53/);
  // 2^53 exactly: one past the largest safe integer.
  assertDecodeError(() => new Reader(fromHex("8080808080808010")).varint(), /2\^53/);
  // Non-minimal encodings are accepted, as protobuf parsers do.
  assert.equal(new Reader(fromHex("8000")).varint(), 0);
});

Deno.test("protobuf: tags give field numbers and wire types; bad ones are rejected", () => {
  const r = new Reader(fromHex("0a0268691001"));
  assert.deepEqual(r.next(), { field: 1, wireType: WIRE_BYTES });
  assert.equal(r.string(), "hi");
  assert.deepEqual(r.next(), { field: 2, wireType: WIRE_VARINT });
  assert.equal(r.varint(), 1);
  assert.equal(r.next(), null);
  assertDecodeError(() => new Reader(fromHex("0000")).next(), /Field number 0/);
  for (const wt of [3, 4, 6, 7]) {
    assertDecodeError(() => new Reader(Uint8Array.of(8 | wt)).next(), /wire type/);
  }
});

Deno.test("protobuf: length-delimited fields are bounds-checked", () => {
  assertDecodeError(() => new Reader(fromHex("0a05616263")).skip(WIRE_BYTES));
  const r = new Reader(fromHex("0a05616263"));
  r.next();
  assertDecodeError(() => r.bytes(), /runs past the end/);
  assertDecodeError(() => new Reader(fromHex("01c3")).string(), /UTF-8/);
  assertDecodeError(() => new Reader(fromHex("0102")).skip(1), /fixed field/);
  assertDecodeError(() => new Reader(new Uint8Array(3), 2, 5));
});

Deno.test("protobuf: skip passes over every supported wire type", () => {
  const bytes = fromHex(
    "08ac02" + "11" + "0102030405060708" + "1a0161" + "25" + "01020304" + "2801",
  );
  const r = new Reader(bytes);
  const seen: number[] = [];
  for (let tag = r.next(); tag !== null; tag = r.next()) {
    seen.push(tag.field);
    if (tag.field === 5) assert.equal(r.varint(), 1);
    else r.skip(tag.wireType);
  }
  assert.deepEqual(seen, [1, 2, 3, 4, 5]);
  assert.ok(r.done);
});

Deno.test("protobuf: packed varints are written packed, read packed or unpacked", () => {
  const packed = new Writer().packedVarints(1, [3, 270, 86942]).finish();
  assert.equal(toHex(packed), "0a06038e029ea705");
  const out: number[] = [];
  const r = new Reader(packed);
  r.repeatedVarint(r.next()!.wireType, out);
  assert.deepEqual(out, [3, 270, 86942]);
  // Unpacked: one value per tag.
  const unpacked = new Reader(fromHex("0803088e02"));
  const out2: number[] = [];
  for (let t = unpacked.next(); t !== null; t = unpacked.next()) {
    unpacked.repeatedVarint(t.wireType, out2);
  }
  assert.deepEqual(out2, [3, 270]);
  // An empty list writes nothing at all.
  assert.equal(new Writer().packedVarints(1, []).finish().length, 0);
  // A truncated packed body fails.
  const bad = new Reader(fromHex("0a0280"));
  assertDecodeError(() => bad.repeatedVarint(bad.next()!.wireType, []));
});

Deno.test("protobuf: writer lays out fields in order with length prefixes", () => {
  const big = new Uint8Array(200).fill(7);
  const bytes = new Writer().string(1, "hyperbee").bytes(2, new Uint8Array(0)).bytes(3, big)
    .varint(15, 1).varint(16, 2).finish();
  assert.equal(toHex(bytes.subarray(0, 12)), "0a0868797065726265651200");
  assert.equal(toHex(bytes.subarray(12, 15)), "1ac801");
  assert.equal(toHex(bytes.subarray(215)), "7801" + "800102");
  assert.throws(() => new Writer().varint(0, 1), (e: unknown) => isPigeonError(e, "BAD_ARGUMENT"));
});
