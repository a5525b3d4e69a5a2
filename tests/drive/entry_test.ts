import assert from "node:assert/strict";
import { fixture } from "../_helpers/fixtures.ts";
import { toHex } from "../../lib/crypto/bytes.ts";
import { isPigeonError } from "../../lib/errors.ts";
import {
  decodeEntry,
  decodeEntryKey,
  encodeEntry,
  type Entry,
  entryKey,
  folderRange,
  MAX_PATH_BYTES,
  normalizeFolder,
  normalizePath,
} from "../../lib/drive/entry.ts";
import { compareBytes } from "../../lib/drive/hyperbee_tree.ts";

const utf8 = (s: string) => new TextEncoder().encode(s);
const isBadArgument = (e: unknown) => isPigeonError(e, "BAD_ARGUMENT");
const isDecodeError = (e: unknown) => isPigeonError(e, "DECODE_ERROR");

const NORMALISED: [string, string][] = [
  ["/hello.txt", "/hello.txt"],
  ["hello.txt", "/hello.txt"],
  ["dir\\..\\norm.txt", "/norm.txt"],
  ["/a/./b//c/", "/a/b/c"],
  ["\\a\\b", "/a/b"],
  ["/a/b/../../c", "/c"],
  ["./x", "/x"],
  ["/a/..b", "/a/..b"],
  ["/a/.../b", "/a/.../b"],
  ["/ünï/日本語.txt", "/ünï/日本語.txt"],
  ["/emoji/😀", "/emoji/😀"],
  ["/a:b", "/a:b"],
  ["/c:/x", "/c:/x"],
  ["/ space /x ", "/ space /x "],
];

const REJECTED: [string, RegExp][] = [
  ["/", /root/],
  ["", /root/],
  ["/a/..", /root/],
  ["..", /above the root/],
  ["/../etc/passwd", /above the root/],
  ["a/../../b", /above the root/],
  ["/a\0b", /NUL/],
  ["/bad\ud800", /surrogate/],
  ["/bad\udc00x", /surrogate/],
  ["c:\\windows\\x", /drive letter/],
  ["http://host/x", /drive letter or URL/],
  ["/" + "a".repeat(MAX_PATH_BYTES), /longer than/],
];

Deno.test("entry: paths normalise as hyperdrive does", () => {
  for (const [input, want] of NORMALISED) assert.equal(normalizePath(input), want, input);
  // NFC and NFD spellings stay distinct keys, as in hyperdrive.
  assert.notEqual(normalizePath("/caf\u00e9"), normalizePath("/cafe\u0301"));
});

Deno.test("entry: paths that cannot be normalised safely are rejected", () => {
  for (const [input, why] of REJECTED) {
    assert.throws(() => normalizePath(input), (e: unknown) => {
      assert.ok(isBadArgument(e), `${JSON.stringify(input)}: ${e}`);
      assert.match((e as Error).message, why);
      return true;
    });
  }
  assert.equal(normalizeFolder("/"), "");
  assert.equal(normalizeFolder("a/b/"), "/a/b");
  assert.throws(() => normalizeFolder(".."), isBadArgument);
});

Deno.test("entry: keys are files\\0 + UTF-8 path and decode back", () => {
  assert.equal(toHex(entryKey("hello.txt")), "66696c657300" + toHex(utf8("/hello.txt")));
  assert.equal(decodeEntryKey(entryKey("/日本/x")), "/日本/x");
  assert.throws(() => decodeEntryKey(utf8("filez\0/x")), isDecodeError);
  assert.throws(() => decodeEntryKey(Uint8Array.of(...utf8("files"), 0, 0xff)), isDecodeError);
});

Deno.test("entry: a folder range holds exactly the paths under the folder", () => {
  const paths = ["/dir", "/dir/a", "/dir/sub/b", "/dir.txt", "/dir0", "/dira", "/di", "/x"];
  const inRange = (folder: string) => {
    const { gt, lt } = folderRange(folder);
    return paths.filter((p) => {
      const k = entryKey(p);
      return compareBytes(k, gt) > 0 && compareBytes(k, lt) < 0;
    });
  };
  assert.deepEqual(inRange("/dir"), ["/dir/a", "/dir/sub/b"]);
  assert.deepEqual(inRange("dir/"), ["/dir/a", "/dir/sub/b"]);
  assert.deepEqual(inRange("/"), paths);
});

Deno.test("entry: values encode in hyperdrive's key order, as captured", () => {
  const vector = fixture<{ db: { blocks: { decoded: { valueUtf8?: string | null } }[] } }>(
    "hyperdrive.json",
  );
  let checked = 0;
  for (const b of vector.db.blocks) {
    const text = b.decoded.valueUtf8;
    if (!text) continue;
    const entry = decodeEntry(utf8(text));
    assert.equal(new TextDecoder().decode(encodeEntry(entry)), text);
    checked++;
  }
  assert.equal(checked, 18);
  // Whatever order the caller's object has, the bytes come out in the fixed order.
  const shuffled = {
    metadata: { z: 1, a: [true, null] },
    blob: { byteLength: 2, blockLength: 1, byteOffset: 9, blockOffset: 3 },
    linkname: null,
    executable: true,
  } as Entry;
  assert.equal(
    new TextDecoder().decode(encodeEntry(shuffled)),
    '{"executable":true,"linkname":null,"blob":{"blockOffset":3,"byteOffset":9,' +
      '"blockLength":1,"byteLength":2},"metadata":{"z":1,"a":[true,null]}}',
  );
});

Deno.test("entry: malformed values fail with DECODE_ERROR; missing fields take defaults", () => {
  for (
    const bad of [
      "",
      "nul",
      "[]",
      "1",
      '{"executable":"yes"}',
      '{"linkname":3}',
      '{"blob":[]}',
      '{"blob":{"blockOffset":-1,"byteOffset":0,"blockLength":0,"byteLength":0}}',
      '{"blob":{"blockOffset":1.5,"byteOffset":0,"blockLength":0,"byteLength":0}}',
    ]
  ) {
    assert.throws(() => decodeEntry(utf8(bad)), isDecodeError, bad);
  }
  assert.throws(() => decodeEntry(Uint8Array.of(0x7b, 0xff, 0x7d)), isDecodeError);
  assert.deepEqual(decodeEntry(utf8("{}")), {
    executable: false,
    linkname: null,
    blob: null,
    metadata: null,
  });
});

const REFERENCE = new URL("../interop/node_modules/hyperdrive/package.json", import.meta.url);
let installed = true;
try {
  Deno.statSync(REFERENCE);
} catch {
  installed = false;
  console.log("skipping path interop: run `deno task setup` to install tests/interop");
}

Deno.test({
  name: "entry: accepted paths equal Hyperdrive.normalizePath; its failures are ours too",
  ignore: !installed,
  async fn() {
    const inputs = [...NORMALISED.map(([i]) => i), ...REJECTED.map(([i]) => i)];
    const child = new Deno.Command("node", {
      args: [new URL("./reference_paths.cjs", import.meta.url).pathname],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(30_000),
    }).spawn();
    const w = child.stdin.getWriter();
    await w.write(utf8(JSON.stringify(inputs)));
    await w.close();
    const out = await child.output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const { paths } = JSON.parse(new TextDecoder().decode(out.stdout)) as {
      paths: (string | { error: string })[];
    };
    const stricter: string[] = [];
    inputs.forEach((input, i) => {
      const ref = paths[i]!;
      let ours: string | null = null;
      try {
        ours = normalizePath(input);
      } catch (e) {
        assert.ok(isBadArgument(e));
      }
      if (typeof ref !== "string") assert.equal(ours, null, `hyperdrive rejects ${input}`);
      else if (ours !== null) assert.equal(ours, ref, input);
      else stricter.push(input);
    });
    // Where pigeon is stricter than hyperdrive, and only there.
    assert.deepEqual(stricter.map((s) => s.slice(0, 20)), [
      "/a\0b",
      "/bad\ud800",
      "/bad\udc00x",
      "c:\\windows\\x",
      "http://host/x",
      "/" + "a".repeat(19),
    ]);
  },
});
