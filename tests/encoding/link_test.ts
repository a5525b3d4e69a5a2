import assert from "node:assert/strict";
import { isPigeonError } from "../../lib/errors.ts";
import { hexDecode, hexEncode, KEY_BYTES } from "../../lib/encoding/id.ts";
import { formatLink, type Link, parseLink, parseLinkOrKey } from "../../lib/encoding/link.ts";

const fixture: { idEncodingExample: { key: string; z32: string } } = JSON.parse(
  await Deno.readTextFile(new URL("../fixtures/merkle-and-keys.json", import.meta.url)),
);
const { z32: ID, key: HEX } = fixture.idEncodingExample;
const KEY = hexDecode(HEX);

function plain(link: Link): { key: string; version: number | null; path: string | null } {
  return { key: hexEncode(link.key), version: link.version, path: link.path };
}

function assertInvalidLink(input: string, mentions: string): void {
  assert.throws(() => parseLink(input), (err: unknown) => {
    assert.ok(isPigeonError(err, "INVALID_LINK"), `expected INVALID_LINK for ${input}, got ${err}`);
    assert.ok(
      err.message.includes(mentions),
      `message ${JSON.stringify(err.message)} should mention ${mentions}`,
    );
    assert.ok(!err.message.includes("\n"), "message is one line");
    return true;
  });
}

Deno.test("link: parses key, version and path", () => {
  assert.deepEqual(plain(parseLink(`hyper://${ID}`)), { key: HEX, version: null, path: null });
  assert.deepEqual(plain(parseLink(`hyper://${ID}+0`)), { key: HEX, version: 0, path: null });
  assert.deepEqual(plain(parseLink(`hyper://${HEX}+12/`)), { key: HEX, version: 12, path: "/" });
  assert.deepEqual(plain(parseLink(`HYPER://${ID}/a/b.txt`)), {
    key: HEX,
    version: null,
    path: "/a/b.txt",
  });
  assert.deepEqual(plain(parseLink(`hyper://${ID}+9007199254740991/dir/`)), {
    key: HEX,
    version: Number.MAX_SAFE_INTEGER,
    path: "/dir/",
  });
});

Deno.test("link: decodes %-escapes and keeps raw spaces and unicode", () => {
  assert.equal(parseLink(`hyper://${ID}/a%20b/%C3%A9t%C3%A9.txt`).path, "/a b/été.txt");
  assert.equal(parseLink(`hyper://${ID}/my file é.txt`).path, "/my file é.txt");
  assert.equal(parseLink(`hyper://${ID}/100%25+more`).path, "/100%+more");
});

Deno.test("link: formatLink writes the canonical z32 form", () => {
  assert.equal(formatLink({ key: KEY }), `hyper://${ID}`);
  assert.equal(formatLink({ key: KEY, version: 3 }), `hyper://${ID}+3`);
  assert.equal(formatLink({ key: KEY, version: null, path: "/" }), `hyper://${ID}/`);
  assert.equal(
    formatLink({ key: KEY, path: "/a b/été?#%.txt" }),
    `hyper://${ID}/a%20b/%C3%A9t%C3%A9%3F%23%25.txt`,
  );
  assert.equal(formatLink({ key: KEY, path: "/x+y@z:(1).txt" }), `hyper://${ID}/x+y@z:(1).txt`);
  // hex in, z32 out
  assert.equal(formatLink(parseLink(`hyper://${HEX}+5/f`)), `hyper://${ID}+5/f`);
});

Deno.test("link: random links round trip through format and parse", () => {
  const alphabet = ["a", "Z", "0", " ", "%", "é", "+", "?", "#", "~", "😀", ".", "-", "_"];
  for (let i = 0; i < 300; i++) {
    const key = crypto.getRandomValues(new Uint8Array(KEY_BYTES));
    const version = i % 3 === 0 ? null : Math.floor(Math.random() * 1e9);
    let path: string | null = null;
    if (i % 4 !== 0) {
      const segments = Array.from({ length: 1 + (i % 4) }, (_, j) => {
        let s = "";
        for (let k = 0; k < 1 + ((i + j) % 6); k++) {
          s += alphabet[Math.floor(Math.random() * alphabet.length)];
        }
        return s === "." || s === ".." ? s + "x" : s;
      });
      path = "/" + segments.join("/");
    }
    const text = formatLink({ key, version, path });
    const back = parseLink(text);
    assert.deepEqual(back.key, key);
    assert.equal(back.version, version);
    assert.equal(back.path, path);
    assert.equal(formatLink(back), text);
  }
});

Deno.test("link: parseLinkOrKey takes a bare key or a link", () => {
  assert.deepEqual(plain(parseLinkOrKey(ID)), { key: HEX, version: null, path: null });
  assert.deepEqual(plain(parseLinkOrKey(HEX)), { key: HEX, version: null, path: null });
  assert.deepEqual(plain(parseLinkOrKey(`hyper://${ID}+2/x`)), {
    key: HEX,
    version: 2,
    path: "/x",
  });
  assert.throws(() => parseLinkOrKey("nope"), (err: unknown) => isPigeonError(err, "INVALID_LINK"));
  assert.throws(
    () => parseLinkOrKey(`http://${ID}`),
    (err: unknown) => isPigeonError(err, "INVALID_LINK"),
  );
});

Deno.test("link: rejects malformed links with INVALID_LINK naming the problem", () => {
  assertInvalidLink(ID, "does not start with hyper://");
  assertInvalidLink(`pear://${ID}`, "does not start with hyper://");
  assertInvalidLink("hyper://", "its key has 0 characters");
  assertInvalidLink(`hyper://${ID}x`, "its key has 53 characters");
  assertInvalidLink(`hyper://${ID.slice(0, 51)}0`, "its key is not valid");
  assertInvalidLink(`hyper://${ID}+`, 'its version ""');
  assertInvalidLink(`hyper://${ID}+01`, "leading zeros");
  assertInvalidLink(`hyper://${ID}+-1`, 'its version "-1"');
  assertInvalidLink(`hyper://${ID}+1.5`, 'its version "1.5"');
  assertInvalidLink(`hyper://${ID}+1+2`, 'its version "1+2"');
  assertInvalidLink(`hyper://${ID}+9007199254740992`, "too large");
  assertInvalidLink(`hyper://${ID}/a?b=1`, '"?"');
  assertInvalidLink(`hyper://${ID}/a#frag`, '"#"');
  assertInvalidLink(`hyper://${ID}/a\\b`, '"\\\\"');
  assertInvalidLink(`hyper://${ID}/a\nb`, "U+000A");
  assertInvalidLink(`hyper://${ID}/a%00b`, "U+0000");
  assertInvalidLink(`hyper://${ID}/a%2`, "% not followed by two hex digits");
  assertInvalidLink(`hyper://${ID}/a%zz`, "% not followed by two hex digits");
  assertInvalidLink(`hyper://${ID}/a%FF`, "not UTF-8");
  assertInvalidLink(`hyper://${ID}/a%2Fb`, "escaped /");
  assertInvalidLink(`hyper://${ID}//a`, "empty segment");
  assertInvalidLink(`hyper://${ID}/a/../b`, '".." segment');
  assertInvalidLink(`hyper://${ID}/./b`, '"." segment');
  assertInvalidLink(`hyper://${ID}/%2E%2E/b`, '".." segment');
  assertInvalidLink(`hyper://${ID}/${"a".repeat(9000)}`, "at most 8192");
});

Deno.test("link: formatLink refuses what parseLink would refuse", () => {
  const bad = (parts: Parameters<typeof formatLink>[0]) =>
    assert.throws(() => formatLink(parts), (err: unknown) => isPigeonError(err, "BAD_ARGUMENT"));
  bad({ key: new Uint8Array(31) });
  bad({ key: KEY, version: -1 });
  bad({ key: KEY, version: 1.5 });
  bad({ key: KEY, path: "relative" });
  bad({ key: KEY, path: "/a/../b" });
  bad({ key: KEY, path: "/a//b" });
  bad({ key: KEY, path: "/a\u0000b" });
});
