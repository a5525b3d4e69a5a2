import assert from "node:assert/strict";
import * as c from "../../lib/encoding/compact.ts";
import { toHex } from "../../lib/crypto/bytes.ts";
import { isPigeonError } from "../../lib/errors.ts";
import { fixture, hex } from "../_helpers/fixtures.ts";

interface Sample {
  type: string;
  value: unknown;
  encoded: string;
}

const codecs: Record<string, c.Codec<unknown>> = {
  "uint": c.uint as c.Codec<unknown>,
  "int (zigzag over uint)": c.int as c.Codec<unknown>,
  "uint8": c.uint8 as c.Codec<unknown>,
  "uint16 (LE)": c.uint16 as c.Codec<unknown>,
  "uint32 (LE)": c.uint32 as c.Codec<unknown>,
  "uint64 (fixed 8 bytes LE)": c.uint64 as c.Codec<unknown>,
  "bool": c.bool as c.Codec<unknown>,
  "buffer": c.buffer as c.Codec<unknown>,
  "optionalBuffer": c.optionalBuffer as c.Codec<unknown>,
  "optionalBuffer (null)": c.optionalBuffer as c.Codec<unknown>,
  "string (utf8)": c.string as c.Codec<unknown>,
  "fixed32": c.fixed32 as c.Codec<unknown>,
  "array(uint)": c.array(c.uint) as c.Codec<unknown>,
  "uint32array": c.uint32array as c.Codec<unknown>,
  "raw": c.raw as c.Codec<unknown>,
};

const BYTE_TYPES = new Set(["buffer", "optionalBuffer", "fixed32", "raw"]);

function toValue(s: Sample): unknown {
  if (BYTE_TYPES.has(s.type)) return hex(s.value as string);
  if (s.type === "uint32array") return Uint32Array.from(s.value as number[]);
  return s.value;
}

Deno.test("compact: every vector sample encodes to the captured bytes and decodes back", () => {
  const { samples } = fixture<{ samples: Sample[] }>("compact-encoding.json");
  assert.ok(samples.length > 40);
  for (const s of samples) {
    const codec = codecs[s.type];
    assert.ok(codec, `no codec for ${s.type}`);
    const value = toValue(s);
    assert.equal(toHex(c.encode(codec, value)), s.encoded, `${s.type} ${JSON.stringify(s.value)}`);
    assert.deepEqual(c.decode(codec, hex(s.encoded)), value, `${s.type} decode`);
  }
});

Deno.test("compact: uint accepts non-minimal forms like the reference", () => {
  assert.equal(c.decode(c.uint, hex("fd0500")), 5);
  assert.equal(c.decode(c.uint, hex("fe05000000")), 5);
});

Deno.test("compact: truncated input throws DECODE_ERROR, never reads past the end", () => {
  for (
    const [codec, bytes] of [
      [c.uint, "fd05"],
      [c.uint, "ff0102"],
      [c.buffer, "05aabb"],
      [c.string, "03ff"],
      [c.fixed32, "00"],
      [c.uint32array, "02010000"],
      [c.array(c.uint), "0301"],
    ] as const
  ) {
    assert.throws(
      () => c.decode(codec as c.Codec<unknown>, hex(bytes)),
      (e) => isPigeonError(e, "DECODE_ERROR"),
      `${bytes}`,
    );
  }
});

Deno.test("compact: oversize values and bad inputs are rejected", () => {
  assert.throws(() => c.decode(c.uint, hex("ffffffffffffffff00")), (e) => isPigeonError(e));
  assert.throws(() => c.encode(c.uint, -1), (e) => isPigeonError(e, "BAD_ARGUMENT"));
  assert.throws(() => c.encode(c.uint, 1.5), (e) => isPigeonError(e, "BAD_ARGUMENT"));
  assert.throws(() => c.decode(c.array(c.uint), hex("fe00002000")), (e) => isPigeonError(e));
  assert.throws(() => c.decode(c.string, hex("02c328")), (e) => isPigeonError(e, "DECODE_ERROR"));
  assert.throws(() => c.decode(c.uint, hex("0500")), (e) => isPigeonError(e, "DECODE_ERROR"));
});

Deno.test("compact: bool decodes only 0x01 as true", () => {
  assert.equal(c.decode(c.bool, hex("01")), true);
  assert.equal(c.decode(c.bool, hex("02")), false);
});

Deno.test("compact: string preencode size matches encoded UTF-8 for surrogates", () => {
  for (const s of ["", "a", "é", "☃", "😀", "\ud800", "a\udc00b"]) {
    const bytes = c.encode(c.string, s);
    assert.equal(c.decode(c.uint, bytes.subarray(0, 1)), bytes.length - 1, JSON.stringify(s));
  }
});
