// Reference secretstream through libsodium (sodium-native 5.1.0 from tests/interop).
// Reads one JSON job on stdin, writes one JSON result on stdout. All bytes are hex.
//   { op: "push", key, header, messages: [{ plaintext, tag, rekeyAfter? }] }
//     → { ciphertexts: [hex] }
//   { op: "pushState", state, messages: [{ plaintext, tag }] }  (state = raw 52-byte libsodium
//     state k || nonce || pad, e.g. with the counter set near its wrap)
//     → { ciphertexts: [hex], state }
//   { op: "pull", key, header, ciphertexts: [hex], rekeyAfter?: [index] }
//     → { messages: [{ plaintext, tag } | null] }   (null: rejected, stops there)
"use strict";
const path = require("node:path");
const sodium = require(path.join(__dirname, "../../interop/node_modules/sodium-native"));

const hex = (b) => Buffer.from(b).toString("hex");
const bytes = (h) => Buffer.from(h, "hex");

let input = "";
process.stdin.on("data", (d) => (input += d));
process.stdin.on("end", () => {
  const job = JSON.parse(input);
  const state = Buffer.alloc(sodium.crypto_secretstream_xchacha20poly1305_STATEBYTES);
  const key = job.key === undefined ? null : bytes(job.key);
  const header = job.header === undefined ? null : bytes(job.header);
  if (job.op === "pushState") {
    bytes(job.state).copy(state);
    const ciphertexts = job.messages.map((m) => {
      const pt = bytes(m.plaintext);
      const out = Buffer.alloc(pt.length + sodium.crypto_secretstream_xchacha20poly1305_ABYTES);
      sodium.crypto_secretstream_xchacha20poly1305_push(state, out, pt, null, m.tag);
      return hex(out);
    });
    process.stdout.write(JSON.stringify({ ciphertexts, state: hex(state) }));
  } else if (job.op === "push") {
    // init_push draws a random header. init_pull builds the same state from a given header
    // (libsodium uses one state layout for both directions), so it sets up a push with ours.
    sodium.crypto_secretstream_xchacha20poly1305_init_pull(state, header, key);
    const ciphertexts = job.messages.map((m) => {
      const pt = bytes(m.plaintext);
      const out = Buffer.alloc(pt.length + sodium.crypto_secretstream_xchacha20poly1305_ABYTES);
      sodium.crypto_secretstream_xchacha20poly1305_push(state, out, pt, null, m.tag);
      if (m.rekeyAfter) sodium.crypto_secretstream_xchacha20poly1305_rekey(state);
      return hex(out);
    });
    process.stdout.write(JSON.stringify({ ciphertexts }));
  } else {
    sodium.crypto_secretstream_xchacha20poly1305_init_pull(state, header, key);
    const messages = [];
    for (let i = 0; i < job.ciphertexts.length; i++) {
      const ct = bytes(job.ciphertexts[i]);
      const out = Buffer.alloc(ct.length - sodium.crypto_secretstream_xchacha20poly1305_ABYTES);
      const tag = Buffer.alloc(1);
      try {
        sodium.crypto_secretstream_xchacha20poly1305_pull(state, out, tag, ct, null);
      } catch {
        messages.push(null);
        break;
      }
      messages.push({ plaintext: hex(out), tag: tag[0] });
      if ((job.rekeyAfter || []).includes(i)) {
        sodium.crypto_secretstream_xchacha20poly1305_rekey(state);
      }
    }
    process.stdout.write(JSON.stringify({ messages }));
  }
});
