import assert from "node:assert/strict";
import { isPigeonError } from "../../lib/errors.ts";
import {
  decodeKey,
  encodeKey,
  hexDecode,
  hexEncode,
  KEY_BYTES,
  Z32_ALPHABET,
  Z32_KEY_CHARS,
  z32Decode,
  z32Encode,
} from "../../lib/encoding/id.ts";

interface CoreVector {
  key: string;
  idZ32: string;
}
interface KeysFixture {
  idEncodingExample: { key: string; z32: string; alphabet: string };
  cores: CoreVector[];
}

const fixture: KeysFixture = JSON.parse(
  await Deno.readTextFile(new URL("../fixtures/merkle-and-keys.json", import.meta.url)),
);

function assertInvalidLink(fn: () => unknown, mentions: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(isPigeonError(err, "INVALID_LINK"), `expected INVALID_LINK, got ${err}`);
    assert.ok(err.message.includes(mentions), `message ${err.message} should mention ${mentions}`);
    assert.ok(!err.message.includes("\n"), "message is one line");
    return true;
  });
}

function randomKey(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(KEY_BYTES));
}

Deno.test("id: the alphabet is the one in the vectors", () => {
  assert.equal(Z32_ALPHABET, fixture.idEncodingExample.alphabet);
});

Deno.test("id: encodeKey matches idEncodingExample", () => {
  const { key, z32 } = fixture.idEncodingExample;
  assert.equal(encodeKey(hexDecode(key)), z32);
  assert.equal(hexEncode(decodeKey(z32)), key);
});

Deno.test("id: every core id in merkle-and-keys.json encodes and decodes", () => {
  assert.ok(fixture.cores.length > 0);
  for (const core of fixture.cores) {
    assert.equal(encodeKey(hexDecode(core.key)), core.idZ32);
    assert.equal(hexEncode(decodeKey(core.idZ32)), core.key);
    assert.equal(hexEncode(decodeKey(core.key)), core.key);
    assert.equal(hexEncode(decodeKey(core.key.toUpperCase())), core.key);
    assert.equal(hexEncode(decodeKey("hyper://" + core.idZ32)), core.key);
    assert.equal(hexEncode(decodeKey("pear://" + core.idZ32 + "/some/app")), core.key);
    assert.equal(hexEncode(decodeKey("hyper://" + core.key + "+7/x")), core.key);
  }
});

Deno.test("id: z-base-32 of short inputs follows the bit order of SPEC c.7", () => {
  // 0xf0 = 11110 000(00): "6" is 30, "y" is 0.
  assert.equal(z32Encode(new Uint8Array([0xf0])), "6y");
  assert.equal(z32Encode(new Uint8Array([])), "");
  // 5 bytes = 40 bits = 8 characters, no padding; 0x00..: all "y".
  assert.equal(z32Encode(new Uint8Array(5)), "yyyyyyyy");
  assert.equal(z32Encode(new Uint8Array(5).fill(0xff)), "99999999");
  assert.deepEqual(z32Decode("6y"), new Uint8Array([0xf0]));
});

Deno.test("id: random keys and byte strings round trip", () => {
  for (let i = 0; i < 500; i++) {
    const key = randomKey();
    const id = encodeKey(key);
    assert.equal(id.length, Z32_KEY_CHARS);
    assert.deepEqual(decodeKey(id), key);
    assert.deepEqual(decodeKey(hexEncode(key)), key);
    const bytes = crypto.getRandomValues(new Uint8Array(i % 70));
    assert.deepEqual(z32Decode(z32Encode(bytes)), bytes);
    assert.deepEqual(hexDecode(hexEncode(bytes)), bytes);
  }
});

Deno.test("id: decodeKey copies a 32-byte buffer and rejects other lengths", () => {
  const key = randomKey();
  const copy = decodeKey(key);
  assert.deepEqual(copy, key);
  assert.notEqual(copy, key);
  assertInvalidLink(() => decodeKey(new Uint8Array(31)), "31");
});

Deno.test("id: decodeKey rejects what is not a key, naming the input", () => {
  const id = fixture.idEncodingExample.z32;
  assertInvalidLink(() => decodeKey(""), "got 0 characters");
  assertInvalidLink(() => decodeKey(id.slice(1)), id.slice(1));
  assertInvalidLink(() => decodeKey(id + "y"), "got 53 characters");
  // "l", "v", "0" and "2" are not in the alphabet.
  assertInvalidLink(() => decodeKey("l" + id.slice(1)), '"l" at 0 is not z-base-32');
  assertInvalidLink(() => decodeKey(id.slice(0, 51) + "0"), "at 51");
  // Uppercase z32 is not z32 (the reference decoder is case sensitive too).
  assertInvalidLink(() => decodeKey(id.toUpperCase()), "is not z-base-32");
  // The last character carries 1 data bit and 4 padding bits that must be zero
  // (stricter than the reference, which ignores them: one key, one id).
  assertInvalidLink(() => decodeKey(id.slice(0, 51) + "n"), "padding bits");
  assertInvalidLink(() => decodeKey("g".repeat(64)), '"g" at 0 is not hex');
  assertInvalidLink(() => decodeKey("hyper://"), "got 0 characters");
  assertInvalidLink(() => decodeKey("x".repeat(5000)), "5000 characters");
});

Deno.test("id: z32Decode and hexDecode reject impossible lengths", () => {
  assertInvalidLink(() => z32Decode("y"), "cannot have 1 characters");
  assertInvalidLink(() => z32Decode("yyy"), "cannot have 3 characters");
  assertInvalidLink(() => hexDecode("abc"), "odd length 3");
  assert.throws(
    () => encodeKey(new Uint8Array(33)),
    (err: unknown) => isPigeonError(err, "BAD_ARGUMENT"),
  );
});

const ID_ENCODING = new URL("../interop/node_modules/hypercore-id-encoding/", import.meta.url);
const haveIdEncoding = await Deno.stat(ID_ENCODING).then(() => true, () => false);
if (!haveIdEncoding) {
  console.log(
    "id_test: skipping the reference check: run `deno task setup` to install tests/interop",
  );
}

Deno.test({
  name: "id: agrees with the real hypercore-id-encoding on random keys",
  ignore: !haveIdEncoding,
  async fn() {
    const keys = Array.from({ length: 200 }, randomKey);
    const script = `
      const ids = require(process.argv[1]);
      const keys = JSON.parse(require("fs").readFileSync(0, "utf8"));
      const out = keys.map((k) => ids.encode(Buffer.from(k, "hex")));
      const back = keys.map((k) => ids.decode(ids.encode(Buffer.from(k, "hex"))).toString("hex"));
      console.log(JSON.stringify({ out, back }));`;
    const child = new Deno.Command("node", {
      args: ["-e", script, ID_ENCODING.pathname],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(JSON.stringify(keys.map(hexEncode))));
    await writer.close();
    const result = await child.output();
    assert.equal(result.code, 0, new TextDecoder().decode(result.stderr));
    const theirs: { out: string[]; back: string[] } = JSON.parse(
      new TextDecoder().decode(result.stdout),
    );
    assert.deepEqual(theirs.out, keys.map(encodeKey));
    assert.deepEqual(theirs.back, keys.map(hexEncode));
  },
});
