import assert from "node:assert/strict";
import { Core } from "../../lib/core/core.ts";
import { MemoryStorage } from "../../lib/core/storage.ts";
import { keyPair } from "../../lib/crypto/ed25519.ts";
import { toHex } from "../../lib/crypto/bytes.ts";
import { runNode } from "../interop/_harness.ts";

function randomBlocks(count: number, maxSize: number): Uint8Array[] {
  return Array.from({ length: count }, () => {
    const out = new Uint8Array(Math.floor(Math.random() * maxSize));
    crypto.getRandomValues(out.subarray(0, Math.min(out.length, 65536)));
    return out;
  });
}

for (const compat of [false, true]) {
  Deno.test(`interop: pigeon and hypercore 11.37.1 agree on key, tree hash and signature (${compat ? "compat" : "manifest v1"})`, async () => {
    const seed = crypto.getRandomValues(new Uint8Array(32));
    const blocks = randomBlocks(37, 3000);
    blocks.push(new Uint8Array(0), new Uint8Array(70000).fill(3));
    const batches = [blocks.slice(0, 1), blocks.slice(1, 20), blocks.slice(20)];
    const out = await runNode("core_write.js", [], {
      stdin: JSON.stringify({
        seed: toHex(seed),
        compat,
        batches: batches.map((b) => b.map(toHex)),
      }),
    });
    const ref = out.lines[0]!;

    const core = await Core.open(new MemoryStorage(), { keyPair: keyPair(seed), compat });
    for (const batch of batches) await core.append(batch);
    assert.equal(toHex(core.key), ref.key);
    assert.equal(toHex(core.discoveryKey), ref.discoveryKey);
    assert.equal(core.length, ref.length);
    assert.equal(core.byteLength, ref.byteLength);
    assert.equal(toHex(core.treeHash()), ref.treeHash);
    assert.equal(toHex(core.signature!), ref.signature);
    await core.close();
  });
}
