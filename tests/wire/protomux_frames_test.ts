import assert from "node:assert/strict";
import {
  type BatchEntry,
  decodeMuxFrame,
  encodeMuxFrame,
  type MuxFrame,
} from "../../lib/wire/protomux_frames.ts";
import * as m from "../../lib/wire/messages.ts";
import { state } from "../../lib/encoding/compact.ts";
import { fromHex, toHex } from "../../lib/crypto/bytes.ts";
import { isPigeonError } from "../../lib/errors.ts";
import { fixture, plain } from "./_util.ts";

const wire = fixture<{ protomuxFrames: Record<string, { hex: string[] }> }>("wire-messages.json");
const capture = fixture<Record<string, unknown>>("replication-capture.json");

function roundTrip(hex: string): MuxFrame {
  const frame = decodeMuxFrame(fromHex(hex));
  assert.equal(toHex(encodeMuxFrame(frame)), hex);
  return frame;
}

const NAMES = Object.keys(m.MessageType);

function decodeMessage(type: number, payload: Uint8Array): unknown {
  const codec = m.HYPERCORE_MESSAGES[type]!;
  return plain(codec.decode(state(payload)));
}

/** The frame in the capture's `decoded` notation. */
function describe(frame: MuxFrame): unknown {
  switch (frame.kind) {
    case "open":
      return {
        control: "open",
        localId: frame.localId,
        protocol: frame.protocol,
        id: frame.id === null ? null : toHex(frame.id),
        handshake: plain(m.handshake.decode(state(frame.handshake))),
      };
    case "message":
      return {
        channel: frame.channel,
        messageType: frame.type,
        name: NAMES[frame.type],
        message: decodeMessage(frame.type, frame.payload),
      };
    case "batch":
      return {
        control: "batch",
        entries: frame.entries.map((e: BatchEntry) => {
          assert.equal(e.kind, "message");
          if (e.kind !== "message") return null;
          const raw = toHex(encodeMuxFrame(e)).slice(2); // drop the 1-byte channel id
          return { channel: e.channel, raw, ...(describe(e) as object) };
        }),
      };
    default:
      return { control: frame.kind };
  }
}

Deno.test("protomux_frames: the captured protomux frames decode and re-encode exactly", () => {
  const f = wire.protomuxFrames;
  const openA = roundTrip(f.openFromA!.hex[0]!);
  assert.equal(openA.kind, "open");
  if (openA.kind === "open") {
    assert.equal(openA.localId, 1);
    assert.equal(openA.protocol, "hypercore/alpha");
    assert.equal(toHex(openA.id!), "dd".repeat(32));
    assert.deepEqual(plain(m.handshake.decode(state(openA.handshake))), {
      seeks: true,
      capability: "aa".repeat(32),
    });
  }
  assert.deepEqual(roundTrip(f.singleMessage!.hex[0]!), {
    kind: "message",
    channel: 1,
    type: 0,
    payload: fromHex("0f000500"),
  });
  const batch = roundTrip(f.corkedBatch!.hex[0]!);
  assert.deepEqual(batch, {
    kind: "batch",
    entries: [
      { kind: "message", channel: 1, type: 0, payload: fromHex("0f000500") },
      { kind: "message", channel: 1, type: 1, payload: fromHex("0101000200") },
    ],
  });
  const second = roundTrip(f.openSecondChannel!.hex[0]!);
  assert.deepEqual(second, {
    kind: "open",
    localId: 2,
    protocol: "other",
    id: null,
    handshake: new Uint8Array(0),
  });
  assert.deepEqual(roundTrip(f.rejectFromB!.hex[0]!), { kind: "reject", remoteId: 2 });
  assert.deepEqual(roundTrip(f.batchWithMessageAndClose!.hex[0]!), {
    kind: "batch",
    entries: [
      { kind: "message", channel: 1, type: 1, payload: fromHex("0102000300") },
      { kind: "close", localId: 1 },
    ],
  });
});

Deno.test("protomux_frames: every plaintext frame of the replication captures round-trips", () => {
  let count = 0;
  for (const [name, scenario] of Object.entries(capture)) {
    if (!name.startsWith("scenario")) continue;
    for (const [key, frames] of Object.entries(scenario as Record<string, unknown>)) {
      if (!key.startsWith("frames")) continue;
      for (const f of frames as { hex: string; decoded: unknown }[]) {
        const frame = roundTrip(f.hex);
        assert.deepEqual(describe(frame), f.decoded, `${name} ${key} ${f.hex.slice(0, 40)}`);
        // Each message also re-encodes byte for byte from its decoded value.
        const messages = frame.kind === "batch" ? frame.entries : [frame];
        for (const e of messages) {
          if (e.kind !== "message") continue;
          const codec = m.HYPERCORE_MESSAGES[e.type]!;
          const value = codec.decode(state(e.payload));
          const size = state();
          (codec.preencode as (s: typeof size, v: unknown) => void)(size, value);
          const out = state(new Uint8Array(size.end));
          (codec.encode as (s: typeof out, v: unknown) => void)(out, value);
          assert.equal(toHex(out.buffer), toHex(e.payload));
        }
        count++;
      }
    }
  }
  assert.ok(count >= 50, `only ${count} frames`);
});

Deno.test("protomux_frames: nested batches and overrunning entries are rejected", () => {
  // 00 00 | channel 0 | len 2 | entry 00 00 (a batch inside a batch)
  assert.throws(
    () => decodeMuxFrame(fromHex("0000000200" + "00")),
    (e: unknown) => isPigeonError(e, "PROTOCOL_ERROR"),
  );
  // An entry claiming 9 bytes with 2 left.
  assert.throws(
    () => decodeMuxFrame(fromHex("000001090001")),
    (e: unknown) => isPigeonError(e, "DECODE_ERROR"),
  );
  // Truncated open.
  assert.throws(
    () => decodeMuxFrame(fromHex("0001010f6879")),
    (e: unknown) => isPigeonError(e, "DECODE_ERROR"),
  );
  // Unknown control types decode as such (and are ignored by the mux).
  assert.deepEqual(decodeMuxFrame(fromHex("0009aabb")), {
    kind: "control",
    type: 9,
    payload: fromHex("aabb"),
  });
});
