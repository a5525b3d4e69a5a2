import assert from "node:assert/strict";
import { fromHex, toHex } from "../../lib/crypto/bytes.ts";
import type { CryptoPath } from "../../lib/crypto/backend.ts";
import {
  ReferenceSecretstreamState,
  SECRETSTREAM_ABYTES,
  SECRETSTREAM_HEADER_BYTES,
  SecretstreamPull,
  SecretstreamPush,
  TAG_FINAL,
  TAG_MESSAGE,
  TAG_PUSH,
  TAG_REKEY,
} from "../../lib/crypto/secretstream.ts";
import {
  Kernels,
  NATIVE_PULL_MIN_BYTES,
  SS_STATE_BYTES,
  wasmKernels,
} from "../../lib/crypto/kernels/kernels.ts";
import { isPigeonError } from "../../lib/errors.ts";

const fixtures = new URL("../fixtures/", import.meta.url);
const noise = JSON.parse(Deno.readTextFileSync(new URL("noise-handshake.json", fixtures)));
const capture = JSON.parse(Deno.readTextFileSync(new URL("secret-stream.json", fixtures)));
const crosscheck = JSON.parse(Deno.readTextFileSync(new URL("noble-crosscheck.json", fixtures)));
const REF_SCRIPT = new URL("./node/secretstream_ref.js", import.meta.url);
const SODIUM_DIR = new URL("../interop/node_modules/sodium-native/", import.meta.url);

const PATHS: CryptoPath[] = ["ts", "wasm"];

interface RefMessage {
  plaintext: string;
  tag: number;
  rekeyAfter?: boolean;
}

/** Runs the libsodium reference (Node + sodium-native) on one job. */
async function sodiumRef<T>(job: unknown): Promise<T> {
  try {
    Deno.statSync(SODIUM_DIR);
  } catch {
    throw new Error("sodium-native is missing: run `deno task setup` (npm ci in tests/interop)");
  }
  const child = new Deno.Command("node", {
    args: [REF_SCRIPT.pathname],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(JSON.stringify(job)));
  await writer.close();
  const out = await child.output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return JSON.parse(new TextDecoder().decode(out.stdout)) as T;
}

function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, i + 65536));
  return out;
}

for (const path of PATHS) {
  Deno.test(`secretstream[${path}]: push matches the libsodium vectors in noise-handshake.json`, () => {
    const ex = noise.secretstreamExample;
    const tx = new SecretstreamPush(fromHex(ex.key), fromHex(ex.header), { path });
    assert.equal(tx.path, path);
    for (const m of ex.messages) {
      assert.equal(toHex(tx.push(fromHex(m.plaintext))), m.ciphertext);
    }
    const rx = new SecretstreamPull(fromHex(ex.key), fromHex(ex.header), { path });
    assert.equal(rx.path, path);
    for (const m of ex.messages) {
      assert.equal(toHex(rx.pull(fromHex(m.ciphertext))), m.plaintext);
      assert.equal(rx.lastTag, TAG_MESSAGE);
    }
  });

  Deno.test(`secretstream[${path}]: decrypts the captured secret-stream session`, () => {
    const dirs = [
      {
        frames: capture.rawInitiatorToResponder as string[],
        key: capture.secretstreamKeys.initiatorTx as string,
        plaintexts: capture.receivedByApp.byResponder as string[],
      },
      {
        frames: capture.rawResponderToInitiator as string[],
        key: capture.secretstreamKeys.responderTx as string,
        plaintexts: capture.receivedByApp.byInitiator as string[],
      },
    ];
    for (const d of dirs) {
      const headerAt = d.frames.findIndex((f) => f.startsWith("380000"));
      assert.ok(headerAt >= 0, "header frame present");
      const header = fromHex(d.frames[headerAt]!).subarray(3 + 32);
      assert.equal(header.length, SECRETSTREAM_HEADER_BYTES);
      const rx = new SecretstreamPull(fromHex(d.key), header, { path });
      const got: string[] = [];
      for (const frame of d.frames.slice(headerAt + 1)) {
        got.push(toHex(rx.pull(fromHex(frame).subarray(3)))); // the keep-alive is empty
      }
      assert.deepEqual(got, d.plaintexts);
    }
  });

  Deno.test(`secretstream[${path}]: tampered ciphertext throws PROTOCOL_ERROR and keeps state`, () => {
    const key = randomBytes(32);
    const tx = new SecretstreamPush(key, undefined, { path });
    const rx = new SecretstreamPull(key, tx.header, { path });
    const c1 = tx.push(new TextEncoder().encode("first"));
    for (const at of [0, 1, c1.length - 1]) {
      const bad = c1.slice();
      bad[at]! ^= 1;
      assert.throws(() => rx.pull(bad), (e) => isPigeonError(e, "PROTOCOL_ERROR"));
    }
    assert.throws(() => rx.pull(new Uint8Array(16)), (e) => isPigeonError(e, "PROTOCOL_ERROR"));
    assert.equal(new TextDecoder().decode(rx.pull(c1)), "first");
    const c2 = tx.push(new TextEncoder().encode("second"));
    assert.equal(new TextDecoder().decode(rx.pull(c2)), "second");
    assert.throws(() => rx.pull(c2), (e) => isPigeonError(e, "PROTOCOL_ERROR"), "replay fails");
  });

  Deno.test(`secretstream[${path}]: agrees with libsodium on all tags, rekeys and lengths`, async () => {
    const key = randomBytes(32);
    const header = randomBytes(SECRETSTREAM_HEADER_BYTES);
    const lengths = [0, 1, 15, 16, 17, 47, 48, 49, 63, 64, 65, 127, 128, 129, 255, 1000, 65536];
    const tags = [TAG_MESSAGE, TAG_PUSH, TAG_REKEY, TAG_MESSAGE, TAG_FINAL, TAG_MESSAGE];
    const messages: RefMessage[] = lengths.map((n, i) => ({
      plaintext: toHex(randomBytes(n)),
      tag: tags[i % tags.length]!,
      ...(i === 7 ? { rekeyAfter: true } : {}),
    }));
    const ref = await sodiumRef<{ ciphertexts: string[] }>({
      op: "push",
      key: toHex(key),
      header: toHex(header),
      messages,
    });
    const tx = new SecretstreamPush(key, header, { path });
    const rx = new SecretstreamPull(key, header, { path });
    messages.forEach((m, i) => {
      const c = tx.push(fromHex(m.plaintext), m.tag);
      assert.equal(c.length, m.plaintext.length / 2 + SECRETSTREAM_ABYTES);
      assert.equal(toHex(c), ref.ciphertexts[i], `message ${i} (tag ${m.tag})`);
      if (m.rekeyAfter) tx.rekey();
      assert.equal(toHex(rx.pull(c)), m.plaintext);
      assert.equal(rx.lastTag, m.tag);
      if (m.rekeyAfter) rx.rekey();
    });
  });

  Deno.test(`secretstream[${path}]: libsodium pulls what we push (1 MiB and a REKEY)`, async () => {
    const key = randomBytes(32);
    const tx = new SecretstreamPush(key, undefined, { path });
    const plain = [randomBytes(1 << 20), randomBytes(33), randomBytes(300)];
    const cts = [tx.push(plain[0]!, TAG_REKEY), tx.push(plain[1]!), tx.push(plain[2]!, TAG_FINAL)];
    const ref = await sodiumRef<{ messages: ({ plaintext: string; tag: number } | null)[] }>({
      op: "pull",
      key: toHex(key),
      header: toHex(tx.header),
      ciphertexts: cts.map(toHex),
    });
    assert.deepEqual(
      ref.messages,
      plain.map((p, i) => ({ plaintext: toHex(p), tag: [TAG_REKEY, TAG_MESSAGE, TAG_FINAL][i] })),
    );
  });
}

Deno.test("secretstream: the noble cross-check recorded every secretstream check as passed", () => {
  const names = (crosscheck.results as { name: string; ok: boolean }[])
    .filter((r) => r.name.startsWith("secretstream"));
  assert.equal(names.length, 6);
  assert.ok(names.every((r) => r.ok));
});

Deno.test("secretstream: a random header is 24 bytes and differs between streams", () => {
  const key = new Uint8Array(32);
  const a = new SecretstreamPush(key).header;
  const b = new SecretstreamPush(key).header;
  assert.equal(a.length, SECRETSTREAM_HEADER_BYTES);
  assert.notEqual(toHex(a), toHex(b));
});

Deno.test("secretstream: bad key, header and tag are BAD_ARGUMENT", () => {
  const bad = (e: unknown) => isPigeonError(e, "BAD_ARGUMENT");
  assert.throws(() => new SecretstreamPush(new Uint8Array(31)), bad);
  assert.throws(() => new SecretstreamPull(new Uint8Array(32), new Uint8Array(23)), bad);
  assert.throws(() => new SecretstreamPush(new Uint8Array(32)).push(new Uint8Array(1), 256), bad);
});

Deno.test("secretstream: wasm and ts agree at every length 0..300, 64 KiB, 1 MiB and past 1 MiB", () => {
  const key = randomBytes(32);
  const header = randomBytes(SECRETSTREAM_HEADER_BYTES);
  const ts = new SecretstreamPush(key, header, { path: "ts" });
  const wasm = new SecretstreamPush(key, header, { path: "wasm" });
  const rxTs = new SecretstreamPull(key, header, { path: "ts" });
  const rxWasm = new SecretstreamPull(key, header, { path: "wasm" });
  const lengths = [...Array.from({ length: 301 }, (_, i) => i), 65536, 1 << 20, (1 << 20) + 77];
  for (const n of lengths) {
    const m = randomBytes(n);
    const tag = n % 7 === 0 ? TAG_REKEY : TAG_MESSAGE;
    const a = ts.push(m, tag);
    const b = wasm.push(m, tag);
    assert.equal(toHex(b), toHex(a), `length ${n}`);
    assert.equal(toHex(rxWasm.pull(a)), toHex(m));
    assert.equal(toHex(rxTs.pull(b)), toHex(m));
    assert.equal(rxWasm.lastTag, tag);
  }
});

Deno.test("secretstream[wasm]: the counter wrap rekeys like libsodium", async () => {
  const kernels = wasmKernels();
  const state = new Uint8Array(SS_STATE_BYTES);
  kernels.secretstreamInit(randomBytes(32), randomBytes(SECRETSTREAM_HEADER_BYTES), state);
  state.set([0xfe, 0xff, 0xff, 0xff], 32); // two messages before the u32 counter wraps
  const messages = [randomBytes(10), randomBytes(100), randomBytes(1000)];
  const sodiumState = new Uint8Array(52);
  sodiumState.set(state);
  const ref = await sodiumRef<{ ciphertexts: string[]; state: string }>({
    op: "pushState",
    state: toHex(sodiumState),
    messages: messages.map((m) => ({ plaintext: toHex(m), tag: TAG_MESSAGE })),
  });
  const got = messages.map((m) => toHex(kernels.secretstreamPush(state, m, TAG_MESSAGE)));
  assert.deepEqual(got, ref.ciphertexts);
  assert.equal(toHex(state), ref.state.slice(0, SS_STATE_BYTES * 2));
  assert.equal(toHex(state.subarray(32, 36)), "02000000", "counter restarted at 1, then +1");
});

Deno.test("secretstream[wasm]: native and kernel ChaCha20 pulls agree with the reference", () => {
  const native = new Kernels(undefined, { nativeChaCha: true });
  const kernel = new Kernels(undefined, { nativeChaCha: false });
  assert.equal(native.nativeChaCha, true, "Deno ships node:crypto chacha20");
  assert.equal(kernel.nativeChaCha, false);
  const key = randomBytes(32);
  const header = randomBytes(SECRETSTREAM_HEADER_BYTES);
  const ref = new ReferenceSecretstreamState(key, header);
  const states = [native, kernel].map((k) => {
    const s = new Uint8Array(SS_STATE_BYTES);
    k.secretstreamInit(key, header, s);
    return s;
  });
  const sizes = [0, 100, NATIVE_PULL_MIN_BYTES - 1, NATIVE_PULL_MIN_BYTES, 65536, (1 << 20) + 77];
  for (const n of sizes) {
    const m = randomBytes(n);
    const c = new Uint8Array(n + SECRETSTREAM_ABYTES);
    ref.push(m, n === 65536 ? TAG_REKEY : TAG_MESSAGE, c, 0);
    [native, kernel].forEach((k, i) => {
      const bad = c.slice();
      bad[Math.max(1, bad.length - 20)]! ^= 0x80; // a body byte, or a MAC byte when empty
      const before = toHex(states[i]!);
      assert.equal(k.secretstreamPull(states[i]!, bad), null, `tampered ${n}`);
      assert.equal(toHex(states[i]!), before, "state unchanged after a failed MAC");
      const got = k.secretstreamPull(states[i]!, c);
      assert.ok(got !== null);
      assert.equal(toHex(got.message), toHex(m), `length ${n}`);
    });
    assert.equal(toHex(states[0]!), toHex(states[1]!));
  }
});

for (const path of PATHS) {
  Deno.test(`secretstream[${path}]: pushInto writes the same bytes at an offset`, () => {
    const key = randomBytes(32);
    const header = randomBytes(SECRETSTREAM_HEADER_BYTES);
    const a = new SecretstreamPush(key, header, { path });
    const b = new SecretstreamPush(key, header, { path });
    for (const n of [0, 5, 300, 65536]) {
      const m = randomBytes(n);
      const frame = new Uint8Array(3 + n + SECRETSTREAM_ABYTES + 2).fill(0xee);
      assert.equal(b.pushInto(m, frame, 3, TAG_PUSH), n + SECRETSTREAM_ABYTES);
      assert.equal(toHex(frame.subarray(3, 3 + n + 17)), toHex(a.push(m, TAG_PUSH)));
      assert.equal(toHex(frame.subarray(0, 3)), "eeeeee");
      assert.equal(toHex(frame.subarray(3 + n + 17)), "eeee");
    }
    assert.throws(
      () => b.pushInto(new Uint8Array(10), new Uint8Array(26), 0),
      (e) => isPigeonError(e, "BAD_ARGUMENT"),
    );
  });
}
