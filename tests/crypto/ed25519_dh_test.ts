import assert from "node:assert/strict";
import { Point } from "@noble/ed25519";
import { dhScalar, ed25519Dh } from "../../lib/crypto/ed25519_dh.ts";
import { keyPair } from "../../lib/crypto/ed25519.ts";
import { fromHex, toHex } from "../../lib/crypto/bytes.ts";
import { isPigeonError } from "../../lib/errors.ts";

interface Key {
  seed: string;
  publicKey: string;
  secretKey: string;
  dhScalar: string;
}
const vectors = JSON.parse(
  Deno.readTextFileSync(new URL("../fixtures/noise-handshake.json", import.meta.url)),
) as { keys: Record<string, Key>; dh: { ee: string; es: string; se: string } };
const k = vectors.keys;

function secret(name: string): Uint8Array {
  return fromHex(k[name]!.secretKey);
}
function pub(name: string): Uint8Array {
  return fromHex(k[name]!.publicKey);
}

Deno.test("ed25519_dh: clamped scalars match the vector for all four keys", () => {
  for (const [name, key] of Object.entries(k)) {
    assert.equal(toHex(dhScalar(fromHex(key.secretKey))), key.dhScalar, name);
    // The seed alone gives the same scalar.
    assert.equal(toHex(dhScalar(fromHex(key.seed))), key.dhScalar, name);
    assert.equal(toHex(keyPair(fromHex(key.seed)).secretKey), key.secretKey, name);
  }
});

Deno.test("ed25519_dh: ee, es and se match the vector from both sides", () => {
  const { ee, es, se } = vectors.dh;
  assert.equal(toHex(ed25519Dh(pub("responderEphemeral"), secret("initiatorEphemeral"))), ee);
  assert.equal(toHex(ed25519Dh(pub("initiatorEphemeral"), secret("responderEphemeral"))), ee);
  assert.equal(toHex(ed25519Dh(pub("responderStatic"), secret("initiatorEphemeral"))), es);
  assert.equal(toHex(ed25519Dh(pub("initiatorEphemeral"), secret("responderStatic"))), es);
  assert.equal(toHex(ed25519Dh(pub("responderEphemeral"), secret("initiatorStatic"))), se);
  assert.equal(toHex(ed25519Dh(pub("initiatorStatic"), secret("responderEphemeral"))), se);
});

Deno.test("ed25519_dh: random key pairs agree", () => {
  for (let i = 0; i < 5; i++) {
    const a = keyPair();
    const b = keyPair();
    assert.deepEqual(ed25519Dh(b.publicKey, a.secretKey), ed25519Dh(a.publicKey, b.secretKey));
  }
});

const SMALL_ORDER = [
  "0100000000000000000000000000000000000000000000000000000000000000", // identity
  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // order 2
  "0000000000000000000000000000000000000000000000000000000000000000", // order 4
  "0000000000000000000000000000000000000000000000000000000000000080", // order 4, sign bit
  "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05", // order 8
  "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a", // order 8
];

function assertRejects(point: Uint8Array, what: string): void {
  assert.throws(
    () => ed25519Dh(point, secret("initiatorStatic")),
    (err: unknown) => isPigeonError(err, "PROTOCOL_ERROR"),
    what,
  );
}

Deno.test("ed25519_dh: rejects small-order points like libsodium", () => {
  for (const hex of SMALL_ORDER) assertRejects(fromHex(hex), hex);
});

Deno.test("ed25519_dh: rejects points outside the prime-order subgroup", () => {
  const torsion = Point.fromHex(SMALL_ORDER[4]!);
  const mixed = Point.fromBytes(pub("responderStatic")).add(torsion).toBytes();
  // Sanity: the point is on the curve, so only the subgroup check can reject it.
  assert.doesNotThrow(() => Point.fromBytes(mixed));
  assertRejects(mixed, "P + T8");
});

Deno.test("ed25519_dh: rejects non-canonical and off-curve encodings and wrong sizes", () => {
  // y = p (2^255 - 19) is the non-canonical encoding of y = 0.
  assertRejects(
    fromHex("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
    "y = p",
  );
  // y = p + 3 encodes y = 3 non-canonically (3 is a valid y).
  assertRejects(
    fromHex("f0ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"),
    "y = p + 3",
  );
  const offCurve = new Uint8Array(32);
  offCurve[0] = 2; // y = 2 has no x on the curve
  assertRejects(offCurve, "y = 2");
  assertRejects(new Uint8Array(31), "31 bytes");
});

Deno.test("ed25519_dh: bad secret key length is a BAD_ARGUMENT", () => {
  assert.throws(
    () => ed25519Dh(pub("responderStatic"), new Uint8Array(10)),
    (err: unknown) => isPigeonError(err, "BAD_ARGUMENT"),
  );
});
