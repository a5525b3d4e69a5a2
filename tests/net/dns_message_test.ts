/**
 * DNS message codec: fixed bytes from an independent encoder, RFC 1035's own
 * compression example, and malformed input that must fail with DECODE_ERROR.
 *
 * The `DNS_PACKET_*` vectors were made with the npm package dns-packet 5.6.1
 * (`dnsPacket.encode(...)`, which never compresses), and the compressed
 * `PIGEON_RESPONSE` was checked once by decoding it with `dnsPacket.decode`,
 * which gave back the same records.
 */

import assert from "node:assert/strict";
import { fromHex, toHex } from "../../lib/crypto/bytes.ts";
import { isPigeonError } from "../../lib/errors.ts";
import {
  decodeMessage,
  type DnsMessage,
  type DnsRecord,
  encodeMessage,
  joinLabels,
  MAX_MESSAGE_BYTES,
  nameEquals,
  nameLabels,
} from "../../lib/net/dns_message.ts";

/** dnsPacket.encode({type:"query", id:0, flags:0, questions:[{type:"PTR", name:"abc._pigeon._tcp.local", class:"IN"}]}) */
const DNS_PACKET_QUERY = "00000000000100000000000003616263075f706967656f6e045f746370056c6f63616c" +
  "00000c0001";

/** dnsPacket.encode of RESPONSE below (uncompressed). */
const DNS_PACKET_RESPONSE =
  "00008400000000010000000403616263075f706967656f6e045f746370056c6f63616c" +
  "00000c000100000078001b02693103616263075f706967656f6e045f746370056c6f63616c000269310361626307" +
  "5f706967656f6e045f746370056c6f63616c000021800100000078001000000000c249026931056c6f63616c0002" +
  "693103616263075f706967656f6e045f746370056c6f63616c000010800100001194000403763d31026931056c6f" +
  "63616c00000180010000007800040a4d0001026931056c6f63616c00001c8001000000780010fe80000000000000" +
  "0000000000010002";

/** encodeMessage(RESPONSE): the same records with compressed names. */
const PIGEON_RESPONSE = "00008400000000010000000403616263075f706967656f6e045f746370056c6f63616c" +
  "00000c0001000000780005026931c00cc02e0021800100000078000b00000000c249026931c01dc02e0010800100" +
  "001194000403763d31c045000180010000007800040a4d0001c045001c8001000000780010fe8000000000000000" +
  "00000000010002";

const utf8 = new TextEncoder();

const RESPONSE: DnsMessage = {
  id: 0,
  response: true,
  authoritative: true,
  truncated: false,
  opcode: 0,
  rcode: 0,
  questions: [],
  answers: [{
    type: "PTR",
    name: "abc._pigeon._tcp.local",
    class: 1,
    cacheFlush: false,
    ttl: 120,
    target: "i1.abc._pigeon._tcp.local",
  }],
  authorities: [],
  additionals: [
    {
      type: "SRV",
      name: "i1.abc._pigeon._tcp.local",
      class: 1,
      cacheFlush: true,
      ttl: 120,
      priority: 0,
      weight: 0,
      port: 49737,
      target: "i1.local",
    },
    {
      type: "TXT",
      name: "i1.abc._pigeon._tcp.local",
      class: 1,
      cacheFlush: true,
      ttl: 4500,
      strings: [utf8.encode("v=1")],
    },
    { type: "A", name: "i1.local", class: 1, cacheFlush: true, ttl: 120, address: "10.77.0.1" },
    {
      type: "AAAA",
      name: "i1.local",
      class: 1,
      cacheFlush: true,
      ttl: 120,
      address: "fe80:0:0:0:0:0:1:2",
    },
  ],
};

function assertDecodeError(bytes: Uint8Array, what: string): void {
  assert.throws(() => decodeMessage(bytes), (err: unknown) => {
    assert.ok(isPigeonError(err, "DECODE_ERROR"), `${what}: expected DECODE_ERROR, got ${err}`);
    return true;
  });
}

/** 12-byte header with the given counts. */
function header(qd: number, an: number, ns = 0, ar = 0, flags = 0): number[] {
  return [
    0,
    0,
    flags >> 8,
    flags & 0xff,
    qd >> 8,
    qd & 0xff,
    an >> 8,
    an & 0xff,
    ns >> 8,
    ns & 0xff,
    ar >> 8,
    ar & 0xff,
  ];
}

Deno.test("dns message: a PTR query encodes to dns-packet's bytes", () => {
  const bytes = encodeMessage({
    id: 0,
    response: false,
    authoritative: false,
    truncated: false,
    opcode: 0,
    rcode: 0,
    questions: [{ name: "abc._pigeon._tcp.local", type: 12, class: 1, unicastResponse: false }],
    answers: [],
    authorities: [],
    additionals: [],
  });
  assert.equal(toHex(bytes), DNS_PACKET_QUERY);
});

Deno.test("dns message: dns-packet's uncompressed response decodes to every record", () => {
  const m = decodeMessage(fromHex(DNS_PACKET_RESPONSE));
  assert.deepEqual(m, RESPONSE);
});

Deno.test("dns message: the encoder compresses names to the pinned bytes and decodes them back", () => {
  const bytes = encodeMessage(RESPONSE);
  assert.equal(toHex(bytes), PIGEON_RESPONSE);
  assert.ok(bytes.length < DNS_PACKET_RESPONSE.length / 2);
  assert.deepEqual(decodeMessage(bytes), RESPONSE);
});

Deno.test("dns message: RFC 1035 §4.1.4 compression example decodes (F.ISI.ARPA, FOO.F.ISI.ARPA, ARPA)", () => {
  // Three PTR questions laid out like the RFC's figure: the first name in full at 12,
  // "FOO" + pointer to 12, then a pointer to "ARPA" inside the first name (offset 12 + 2 + 4 = 18).
  const bytes = Uint8Array.from([
    ...header(3, 0),
    1,
    70,
    3,
    73,
    83,
    73,
    4,
    65,
    82,
    80,
    65,
    0,
    0,
    12,
    0,
    1, // F.ISI.ARPA at 12
    3,
    70,
    79,
    79,
    0xc0,
    12,
    0,
    12,
    0,
    1, // FOO + ptr 12
    0xc0,
    18,
    0,
    12,
    0x80,
    1, // ptr to ARPA, QU bit set
  ]);
  const m = decodeMessage(bytes);
  assert.deepEqual(m.questions.map((q) => q.name), ["F.ISI.ARPA", "FOO.F.ISI.ARPA", "ARPA"]);
  assert.deepEqual(m.questions.map((q) => q.unicastResponse), [false, false, true]);
  assert.deepEqual(m.questions.map((q) => q.class), [1, 1, 1]);
});

Deno.test("dns message: flags, TC, opcode, rcode and unknown record types round-trip as fixed bytes", () => {
  const bytes = encodeMessage({
    id: 0x1234,
    response: true,
    authoritative: false,
    truncated: true,
    opcode: 2,
    rcode: 3,
    questions: [],
    answers: [{
      type: "OTHER",
      code: 99,
      name: "x",
      class: 1,
      cacheFlush: false,
      ttl: 7,
      data: Uint8Array.of(1, 2),
    }],
    authorities: [],
    additionals: [],
  });
  assert.equal(
    toHex(bytes),
    "1234" + "9203" + "0000000100000000" + "017800" + "0063" + "0001" + "00000007" + "0002" +
      "0102",
  );
  const m = decodeMessage(bytes);
  assert.equal(m.truncated, true);
  assert.equal(m.opcode, 2);
  assert.equal(m.rcode, 3);
  const r = m.answers[0] as DnsRecord & { type: "OTHER" };
  assert.equal(r.code, 99);
  assert.deepEqual([...r.data], [1, 2]);
});

Deno.test("dns message: names compare case-insensitively and escape dots inside labels", () => {
  assert.ok(nameEquals("ABC._Pigeon._TCP.local", "abc._pigeon._tcp.LOCAL"));
  assert.ok(!nameEquals("abd._pigeon._tcp.local", "abc._pigeon._tcp.local"));
  assert.deepEqual(nameLabels("a\\.b.c"), ["a.b", "c"]);
  assert.equal(joinLabels(["a.b", "c\\"]), "a\\.b.c\\\\");
  // A label holding a dot decodes escaped, so it cannot pose as two labels.
  const bytes = Uint8Array.from([...header(1, 0), 3, 97, 46, 98, 0, 0, 12, 0, 1]);
  assert.equal(decodeMessage(bytes).questions[0]!.name, "a\\.b");
  assert.ok(!nameEquals(decodeMessage(bytes).questions[0]!.name, "a.b"));
});

Deno.test("dns message: every truncation of a valid response fails with DECODE_ERROR", () => {
  const full = fromHex(PIGEON_RESPONSE);
  for (let n = 0; n < full.length; n++) assertDecodeError(full.subarray(0, n), `truncated to ${n}`);
  const longer = new Uint8Array(full.length + 1);
  longer.set(full);
  assertDecodeError(longer, "one trailing byte");
});

Deno.test("dns message: compression loops and forward pointers are rejected", () => {
  // A name that is a pointer to itself.
  assertDecodeError(Uint8Array.from([...header(1, 0), 0xc0, 12, 0, 12, 0, 1]), "self pointer");
  // A pointer forward to a label that points back to the first pointer.
  assertDecodeError(
    Uint8Array.from([...header(1, 0), 0xc0, 14, 1, 97, 0xc0, 12, 0, 12, 0, 1]),
    "two-pointer loop",
  );
  // A pointer beyond the end of the message.
  assertDecodeError(
    Uint8Array.from([...header(1, 0), 0xff, 0xff, 0, 12, 0, 1]),
    "pointer past end",
  );
  // A reserved label type (0x40).
  assertDecodeError(Uint8Array.from([...header(1, 0), 0x41, 97, 0, 0, 12, 0, 1]), "label type 01");
});

Deno.test("dns message: names over 255 bytes are rejected, even when built from pointers", () => {
  // 60-byte labels chained backwards: each name is a label plus a pointer to the previous one.
  const body: number[] = [];
  let previous = -1;
  for (let i = 0; i < 6; i++) {
    const at = 12 + body.length;
    body.push(60, ...new Array(60).fill(97));
    if (previous < 0) body.push(0);
    else body.push(0xc0 | (previous >> 8), previous & 0xff);
    body.push(0, 12, 0, 1);
    previous = at;
  }
  const bytes = Uint8Array.from([...header(6, 0), ...body]);
  assertDecodeError(bytes, "name of 6 × 61 bytes");
  // The first 4 of the chain (4 × 61 + 1 = 245 bytes) are fine.
  const four = decodeMessage(Uint8Array.from([...header(4, 0), ...body.slice(0, 66 + 3 * 67)]));
  assert.equal(four.questions[3]!.name.length, 4 * 61 - 1);
});

Deno.test("dns message: huge counts fail fast without allocating", () => {
  const bytes = Uint8Array.from([...header(0xffff, 0xffff, 0xffff, 0xffff), 0, 0, 12, 0, 1]);
  const start = performance.now();
  assertDecodeError(bytes, "counts 0xffff");
  assertDecodeError(
    Uint8Array.from([...header(0, 200), ...new Array(100).fill(0)]),
    "200 records in 100 bytes",
  );
  assert.ok(performance.now() - start < 50);
  assertDecodeError(new Uint8Array(MAX_MESSAGE_BYTES + 1), "over 9000 bytes");
});

Deno.test("dns message: record data must match its type's length", () => {
  const a = (
    len: number,
  ) => [...header(0, 1), 1, 120, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0, len, ...new Array(len).fill(1)];
  assertDecodeError(Uint8Array.from(a(3)), "A of 3 bytes");
  assertDecodeError(Uint8Array.from(a(5)), "A of 5 bytes");
  assert.equal(
    (decodeMessage(Uint8Array.from(a(4))).answers[0] as { address: string }).address,
    "1.1.1.1",
  );
  // rdlength past the end.
  assertDecodeError(
    Uint8Array.from([...header(0, 1), 0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 9, 1, 2, 3, 4]),
    "rdlength 9",
  );
  // SRV whose target name runs past its rdlength.
  assertDecodeError(
    Uint8Array.from([
      ...header(0, 1),
      0,
      0,
      33,
      0,
      1,
      0,
      0,
      0,
      1,
      0,
      8,
      0,
      0,
      0,
      0,
      0,
      80,
      2,
      97,
      0,
      0,
    ]),
    "SRV name past rdlength",
  );
  // TXT string running past its rdlength.
  assertDecodeError(
    Uint8Array.from([...header(0, 1), 0, 0, 16, 0, 1, 0, 0, 0, 1, 0, 2, 5, 97, 0, 0, 0, 0]),
    "TXT",
  );
});

Deno.test("dns message: 20000 random mutations only ever decode or throw DECODE_ERROR", () => {
  const valid = fromHex(PIGEON_RESPONSE);
  let seed = 12345;
  const rand = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  let decoded = 0;
  for (let i = 0; i < 20000; i++) {
    const bytes = valid.slice(0, rand(valid.length + 1));
    for (let k = rand(4) + 1; k > 0 && bytes.length > 0; k--) bytes[rand(bytes.length)] = rand(256);
    try {
      decodeMessage(bytes);
      decoded++;
    } catch (err) {
      assert.ok(isPigeonError(err, "DECODE_ERROR"), `mutation ${i} threw ${err}`);
    }
  }
  assert.ok(decoded > 0, "some mutations still decode");
});

Deno.test("dns message: the encoder refuses bad labels, names and values", () => {
  const q = (name: string) =>
    encodeMessage({
      id: 0,
      response: false,
      authoritative: false,
      truncated: false,
      opcode: 0,
      rcode: 0,
      questions: [{ name, type: 12, class: 1, unicastResponse: false }],
      answers: [],
      authorities: [],
      additionals: [],
    });
  assert.throws(
    () => q("a".repeat(64) + ".local"),
    (e: unknown) => isPigeonError(e, "BAD_ARGUMENT"),
  );
  assert.throws(() => q("a..local"), (e: unknown) => isPigeonError(e, "BAD_ARGUMENT"));
  assert.throws(
    () => q(Array(5).fill("a".repeat(63)).join(".")),
    (e: unknown) => isPigeonError(e, "BAD_ARGUMENT"),
  );
  assert.equal(q("local.").length, q("local").length);
});
