import assert from "node:assert/strict";
import * as m from "../../lib/wire/messages.ts";
import { type Codec, decode, encode, state } from "../../lib/encoding/compact.ts";
import { fromHex, toHex } from "../../lib/crypto/bytes.ts";
import { isPigeonError } from "../../lib/errors.ts";
import { fixture, plain, typed } from "./_util.ts";

interface Sample {
  name: string;
  messageType?: number | "open";
  message?: unknown;
  encoded: string;
  decoded?: unknown;
}
const vectors = fixture<{ hypercoreMessages: Sample[] }>("wire-messages.json");

function codecOf(type: number | "open"): Codec<unknown> {
  return (type === "open" ? m.handshake : m.HYPERCORE_MESSAGES[type]!) as Codec<unknown>;
}

Deno.test("messages: every sample encodes to the exact bytes and decodes back", () => {
  let checked = 0;
  for (const sample of vectors.hypercoreMessages) {
    if (sample.messageType === undefined) continue; // multiSignature: a core codec
    const codec = codecOf(sample.messageType);
    const value = typed(sample.message);
    assert.equal(toHex(encode(codec, value)), sample.encoded, sample.name);
    assert.deepEqual(plain(decode(codec, fromHex(sample.encoded))), sample.decoded, sample.name);
    checked++;
  }
  assert.equal(checked, 20);
});

Deno.test("messages: the index table follows SPEC f.2", () => {
  const names = Object.keys(m.MessageType);
  assert.deepEqual(names, [
    "sync",
    "request",
    "cancel",
    "data",
    "noData",
    "want",
    "unwant",
    "bitfield",
    "range",
    "extension",
  ]);
  assert.equal(m.HYPERCORE_MESSAGES.length, 10);
  assert.equal(m.HYPERCORE_MESSAGES[m.MessageType.data], m.data);
  assert.equal(m.HYPERCORE_MESSAGES[m.MessageType.extension], m.extension);
});

Deno.test("messages: optional trailing fields may be absent, extra trailing bytes are ignored", () => {
  // noData without its flags byte (older peers).
  assert.deepEqual(m.noData.decode(state(fromHex("05"))), { request: 5, reason: 0 });
  // want with an extra field appended by a newer peer.
  assert.deepEqual(m.want.decode(state(fromHex("0002" + "0107"))), {
    start: 0,
    length: 2,
    any: true,
  });
  // range length one is implied by flag 2; a length is then not read.
  assert.deepEqual(m.range.decode(state(fromHex("0309"))), { drop: true, start: 9, length: 1 });
  // bool-like flags: bits other than the known ones do not matter.
  assert.equal(m.handshake.decode(state(fromHex("03" + "cc".repeat(32)))).seeks, true);
  assert.equal(m.handshake.decode(state(fromHex("02" + "cc".repeat(32)))).seeks, false);
});

Deno.test("messages: truncated messages are DECODE_ERRORs", () => {
  const samples = vectors.hypercoreMessages.filter((s) => s.messageType !== undefined);
  for (const sample of samples) {
    const bytes = fromHex(sample.encoded);
    const codec = codecOf(sample.messageType!);
    // Every strict prefix that cuts into a mandatory field must fail.
    for (let cut = 0; cut < bytes.length; cut++) {
      try {
        codec.decode(state(bytes.subarray(0, cut)));
      } catch (err) {
        assert.ok(isPigeonError(err, "DECODE_ERROR"), `${sample.name} at ${cut}: ${err}`);
      }
    }
  }
  assert.throws(
    () => m.sync.decode(state(fromHex("0f00"))),
    (e: unknown) => isPigeonError(e, "DECODE_ERROR"),
  );
  assert.throws(
    () => m.request.decode(state(fromHex("0101"))),
    (e: unknown) => isPigeonError(e, "DECODE_ERROR"),
  );
  // A data block whose value length overruns the message.
  assert.throws(
    () => m.data.decode(state(fromHex("01010002ff"))),
    (e: unknown) => isPigeonError(e, "DECODE_ERROR"),
  );
});

Deno.test("messages: request priority and flags follow the reference rules", () => {
  const base = {
    id: 1,
    fork: 0,
    block: null,
    hash: null,
    seek: null,
    upgrade: null,
    manifest: false,
    priority: 0,
  };
  assert.equal(toHex(encode(m.request, base)), "000100");
  assert.equal(toHex(encode(m.request, { ...base, priority: 1 })), "20010001");
  assert.equal(toHex(encode(m.request, { ...base, manifest: true })), "100100");
  assert.equal(
    toHex(encode(m.range, { drop: false, start: 9, length: 1 })),
    "0209",
  );
});
