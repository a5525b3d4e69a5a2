import assert from "node:assert/strict";
import { NoiseHandshake, SymmetricState } from "../../lib/wire/noise.ts";
import { ed25519Dh } from "../../lib/crypto/ed25519_dh.ts";
import { type KeyPair, keyPair } from "../../lib/crypto/ed25519.ts";
import { fromHex, toHex } from "../../lib/crypto/bytes.ts";
import { isPigeonError } from "../../lib/errors.ts";

interface TraceStep {
  who: "initiator" | "responder";
  op: string;
  input?: string;
  plaintext?: string;
  ciphertext?: string;
  remoteKey?: string;
  dh?: string;
  ck?: string;
  k?: string;
  h?: string;
}
interface Vectors {
  protocolName: string;
  initial_h_and_ck: string;
  h_after_empty_prologue: string;
  keys: Record<string, { publicKey: string; secretKey: string }>;
  messages: {
    msg1_initiator: string;
    msg2_responder: string;
    msg3_initiator: string;
    framedOnWire: Record<string, string>;
  };
  trace: TraceStep[];
  result: Record<string, string>;
}
const v = JSON.parse(
  Deno.readTextFileSync(new URL("../fixtures/noise-handshake.json", import.meta.url)),
) as Vectors;

function kp(name: string): KeyPair {
  const key = v.keys[name]!;
  return { publicKey: fromHex(key.publicKey), secretKey: fromHex(key.secretKey) };
}

function vectorPair(): [NoiseHandshake, NoiseHandshake] {
  return [
    new NoiseHandshake(true, kp("initiatorStatic"), {
      ephemeralKeyPair: kp("initiatorEphemeral"),
    }),
    new NoiseHandshake(false, kp("responderStatic"), {
      ephemeralKeyPair: kp("responderEphemeral"),
    }),
  ];
}

Deno.test("noise: initial h and h after the empty prologue match the vector", () => {
  const s = new SymmetricState(v.protocolName);
  const initial = v.initial_h_and_ck.split(" ")[0]!;
  assert.equal(toHex(s.hash), initial);
  assert.equal(toHex(s.chainingKey), initial);
  s.mixHash(new Uint8Array(0));
  assert.equal(toHex(s.hash), v.h_after_empty_prologue);
  const [i] = vectorPair();
  assert.equal(toHex(i.hash), v.h_after_empty_prologue);
});

Deno.test("noise: replaying the per-step trace reproduces every h, ck, k and DH", () => {
  const states = { initiator: new SymmetricState(), responder: new SymmetricState() };
  const secrets = {
    initiator: { e: kp("initiatorEphemeral"), s: kp("initiatorStatic") },
    responder: { e: kp("responderEphemeral"), s: kp("responderStatic") },
  };
  let checked = 0;
  for (const step of v.trace) {
    const s = states[step.who];
    if (step.op === "mixHash") {
      s.mixHash(fromHex(step.input!));
    } else if (step.op === "encryptAndHash") {
      assert.equal(toHex(s.encryptAndHash(fromHex(step.plaintext!))), step.ciphertext);
    } else if (step.op === "decryptAndHash") {
      assert.equal(toHex(s.decryptAndHash(fromHex(step.ciphertext!))), step.plaintext);
    } else if (step.op === "mixKey(DH)") {
      // Which local key the DH uses: the one whose DH with remoteKey gives the traced value.
      const remote = fromHex(step.remoteKey!);
      const own = secrets[step.who];
      const candidates = [own.e, own.s].map((pair) => ed25519Dh(remote, pair.secretKey));
      const dh = candidates.find((c) => toHex(c) === step.dh);
      assert.ok(dh, `no local key gives the traced DH at step ${checked}`);
      s.mixKey(dh);
      assert.equal(toHex(s.chainingKey), step.ck);
      assert.equal(toHex(s.cipherKey!), step.k!.slice(0, 64));
    } else {
      assert.fail(`unknown op ${step.op}`);
    }
    if (step.h !== undefined) assert.equal(toHex(s.hash), step.h);
    checked++;
  }
  assert.equal(checked, v.trace.length);
  const [k1, k2] = states.initiator.split();
  assert.equal(toHex(k1), v.result.initiatorTx);
  assert.equal(toHex(k2), v.result.initiatorRx);
});

Deno.test("noise: XX handshake matches the captured vector", () => {
  const [i, r] = vectorPair();
  assert.equal(i.sending, true);
  assert.equal(r.sending, false);
  const m1 = i.send();
  assert.equal(toHex(m1), v.messages.msg1_initiator);
  assert.equal(r.recv(m1).byteLength, 0);
  const m2 = r.send();
  assert.equal(toHex(m2), v.messages.msg2_responder);
  assert.equal(i.recv(m2).byteLength, 0);
  const m3 = i.send();
  assert.equal(toHex(m3), v.messages.msg3_initiator);
  assert.equal(i.complete, true);
  assert.equal(r.complete, false);
  assert.equal(r.recv(m3).byteLength, 0);
  assert.equal(r.complete, true);
  assert.deepEqual([m1.length, m2.length, m3.length], [32, 96, 64]);

  const ir = i.result!;
  const rr = r.result!;
  assert.equal(toHex(ir.handshakeHash), v.result.handshakeHash);
  assert.equal(toHex(rr.handshakeHash), v.result.handshakeHash);
  assert.equal(toHex(ir.tx), v.result.initiatorTx);
  assert.equal(toHex(ir.rx), v.result.initiatorRx);
  assert.equal(toHex(rr.tx), v.result.responderTx);
  assert.equal(toHex(rr.rx), v.result.responderRx);
  assert.equal(toHex(ir.remotePublicKey), v.keys.responderStatic!.publicKey);
  assert.equal(toHex(rr.remotePublicKey), v.keys.initiatorStatic!.publicKey);
});

Deno.test("noise: random handshakes agree and carry payloads", () => {
  const a = new NoiseHandshake(true, keyPair());
  const b = new NoiseHandshake(false, keyPair());
  const p = (s: string) => new TextEncoder().encode(s);
  assert.equal(new TextDecoder().decode(b.recv(a.send(p("one")))), "one");
  assert.equal(new TextDecoder().decode(a.recv(b.send(p("two")))), "two");
  assert.equal(new TextDecoder().decode(b.recv(a.send(p("three")))), "three");
  assert.deepEqual(a.result!.tx, b.result!.rx);
  assert.deepEqual(a.result!.rx, b.result!.tx);
  assert.deepEqual(a.result!.handshakeHash, b.result!.handshakeHash);
  assert.deepEqual(a.result!.remotePublicKey, b.keyPair.publicKey);
});

function assertProtocolError(fn: () => unknown, what: string): void {
  assert.throws(fn, (err: unknown) => isPigeonError(err, "PROTOCOL_ERROR"), what);
}

Deno.test("noise: a flipped bit in message 2 or 3 fails with PROTOCOL_ERROR", () => {
  for (let byte = 0; byte < 96; byte += 19) {
    const [i, r] = vectorPair();
    r.recv(i.send());
    const m2 = r.send();
    m2[byte]! ^= 1;
    assertProtocolError(() => i.recv(m2), `msg2 byte ${byte}`);
  }
  const [i, r] = vectorPair();
  r.recv(i.send());
  i.recv(r.send());
  const m3 = i.send();
  m3[63]! ^= 0x80;
  assertProtocolError(() => r.recv(m3), "msg3 tag");
});

Deno.test("noise: truncated messages and invalid ephemeral keys fail with PROTOCOL_ERROR", () => {
  const [, r] = vectorPair();
  assertProtocolError(() => r.recv(new Uint8Array(31)), "short msg1");
  const [i2, r2] = vectorPair();
  r2.recv(i2.send());
  assertProtocolError(() => i2.recv(r2.send().subarray(0, 60)), "short msg2");
  // An identity point as ephemeral key is accepted by recv but rejected by the DH.
  const r3 = new NoiseHandshake(false, keyPair());
  const identity = new Uint8Array(32);
  identity[0] = 1;
  r3.recv(identity);
  assertProtocolError(() => r3.send(), "small-order ephemeral");
});

Deno.test("noise: calling out of turn is a BAD_ARGUMENT", () => {
  const [i, r] = vectorPair();
  assert.throws(() => r.send(), (e: unknown) => isPigeonError(e, "BAD_ARGUMENT"));
  assert.throws(() => i.recv(new Uint8Array(32)), (e: unknown) => isPigeonError(e, "BAD_ARGUMENT"));
});
