import assert from "node:assert/strict";
import { Core } from "../../lib/core/core.ts";
import { MemoryStorage } from "../../lib/core/storage.ts";
import type { Proof, ProofRequest } from "../../lib/core/proof.ts";
import { keyPair } from "../../lib/crypto/ed25519.ts";
import { toHex } from "../../lib/crypto/bytes.ts";
import { isPigeonError } from "../../lib/errors.ts";
import type { TreeNode } from "../../lib/tree/node.ts";
import { fixture, hex } from "../_helpers/fixtures.ts";

const text = new TextEncoder();
const SEED = new Uint8Array(32).fill(1);

function request(partial: Partial<ProofRequest>): ProofRequest {
  return {
    fork: 0,
    block: null,
    hash: null,
    seek: null,
    upgrade: null,
    manifest: false,
    ...partial,
  };
}

async function writerWith(blocks: Uint8Array[], compat = false): Promise<Core> {
  const core = await Core.open(new MemoryStorage(), { keyPair: keyPair(SEED), compat });
  if (blocks.length > 0) await core.append(blocks);
  return core;
}

function reader(writer: Core): Promise<Core> {
  return Core.open(new MemoryStorage(), { key: writer.key });
}

/** Brings `r` to the writer's length with an upgrade-only proof (and the manifest). */
function upgrade(r: Core, w: Core): void {
  const proof = w.proof(request({
    upgrade: { start: r.length, length: w.length - r.length },
    manifest: r.manifest === null,
  }));
  r.verify(proof);
}

const nodeJSON = (n: TreeNode) => ({ index: n.index, size: n.size, hash: toHex(n.hash) });

Deno.test("core: vector cores reproduce key, discovery key, tree hash and signature", async () => {
  const vectors = fixture<{
    cores: {
      length: number;
      mode: string;
      blocks: { value: string }[];
      key: string;
      discoveryKey: string;
      treeHash: string;
      byteLength: number;
      signatureAsStoredAndSentOnWire: string;
    }[];
  }>("merkle-and-keys.json");
  for (const v of vectors.cores) {
    const core = await writerWith(v.blocks.map((b) => hex(b.value)), v.mode === "compat");
    assert.equal(toHex(core.key), v.key);
    assert.equal(toHex(core.discoveryKey), v.discoveryKey);
    assert.equal(toHex(core.treeHash()), v.treeHash);
    assert.equal(toHex(core.signature!), v.signatureAsStoredAndSentOnWire);
    assert.equal(core.length, v.length);
    assert.equal(core.byteLength, v.byteLength);
    await core.close();
  }
});

Deno.test("core: append signs once per call; get returns every block", async () => {
  const core = await writerWith([]);
  assert.equal(core.signature, null);
  await core.append([text.encode("a")]);
  const first = core.signature;
  await core.append([text.encode("bb"), text.encode(""), text.encode("dddd")]);
  assert.notDeepEqual(core.signature, first);
  assert.equal(core.length, 4);
  assert.equal(core.byteLength, 7);
  assert.deepEqual(await core.get(1), text.encode("bb"));
  assert.deepEqual(await core.get(2), new Uint8Array(0));
  assert.deepEqual(await core.get(3), text.encode("dddd"));
  await assert.rejects(core.get(4), (e) => isPigeonError(e, "NOT_AVAILABLE"));
  await core.close();
});

Deno.test("proof: the reference proof samples are produced and verified identically", async () => {
  const { proofSamples } = fixture<{
    proofSamples: {
      samples: {
        name: string;
        readerLengthBefore: number;
        request: Omit<ProofRequest, "manifest">;
        data: {
          block: {
            index: number;
            value: string;
            nodes: { index: number; size: number; hash: string }[];
          } | null;
          hash: { index: number; nodes: { index: number; size: number; hash: string }[] } | null;
          upgrade: {
            start: number;
            length: number;
            nodes: { index: number; size: number; hash: string }[];
            additionalNodes: { index: number; size: number; hash: string }[];
            signature: string;
          } | null;
        };
      }[];
    };
  }>("replication-capture.json");
  const blocks = Array.from({ length: 10 }, (_, i) => text.encode(`block ${i}`));
  const w = await writerWith(blocks);
  const w5 = await writerWith(blocks.slice(0, 5));
  let checked = 0;
  for (const sample of proofSamples.samples) {
    if (sample.request.seek) {
      assert.throws(
        () => w.proof(request({ ...sample.request })),
        (e) => isPigeonError(e, "NOT_AVAILABLE"),
      );
      continue;
    }
    const proof = w.proof(request({ ...sample.request }));
    const d = sample.data;
    assert.deepEqual(
      proof.block &&
        { ...proof.block, value: toHex(proof.block.value), nodes: proof.block.nodes.map(nodeJSON) },
      d.block,
      sample.name,
    );
    assert.deepEqual(
      proof.hash && { ...proof.hash, nodes: proof.hash.nodes.map(nodeJSON) },
      d.hash,
      sample.name,
    );
    assert.deepEqual(
      proof.upgrade && {
        ...proof.upgrade,
        nodes: proof.upgrade.nodes.map(nodeJSON),
        additionalNodes: proof.upgrade.additionalNodes.map(nodeJSON),
        signature: toHex(proof.upgrade.signature!),
      },
      d.upgrade,
      sample.name,
    );
    // An honest reader in the sample's state accepts it.
    const r = await reader(w);
    if (sample.readerLengthBefore === 5) upgrade(r, w5);
    if (sample.readerLengthBefore === 10) upgrade(r, w);
    assert.equal(r.length, sample.readerLengthBefore);
    if (sample.request.block && !sample.request.upgrade) {
      assert.equal(r.missingNodes(sample.request.block.index), sample.request.block.nodes);
    }
    if (r.manifest === null) r.verify(w.proof(request({ manifest: true })));
    const update = r.verify(proof);
    assert.equal(r.length, 10, sample.name);
    if (sample.request.block) {
      assert.equal(update.block, sample.request.block.index);
      assert.deepEqual(await r.get(sample.request.block.index), blocks[sample.request.block.index]);
    }
    checked++;
    await r.close();
  }
  assert.equal(checked, 6);
  await w.close();
  await w5.close();
});

function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) {
    crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)));
  }
  return out;
}

function randomInt(n: number): number {
  return Math.floor(Math.random() * n);
}

Deno.test("proof: random cores, random blocks and upgrades verify into sparse replicas", async () => {
  for (let round = 0; round < 25; round++) {
    const length = round === 0 ? 0 : randomInt(301);
    const blocks = Array.from({ length }, () => randomBytes(randomInt(200)));
    const w = await writerWith([]);
    // Append in random batch sizes so interior roots differ from one big batch.
    for (let i = 0; i < length;) {
      const n = 1 + randomInt(40);
      await w.append(blocks.slice(i, i + n));
      i += n;
    }
    const r = await reader(w);
    if (length === 0) {
      assert.throws(
        () => w.proof(request({ upgrade: { start: 0, length: 1 } })),
        (e) => isPigeonError(e, "BAD_ARGUMENT"),
      );
      await r.close();
      await w.close();
      continue;
    }
    // Partial upgrade first, then random blocks with or without the final upgrade.
    const mid = 1 + randomInt(length);
    r.verify(w.proof(request({ upgrade: { start: 0, length: mid }, manifest: true })));
    assert.equal(r.length, length, "upgrade reaches the signer's full length via additionalNodes");
    for (let k = 0; k < 12; k++) {
      const index = randomInt(length);
      const nodes = r.missingNodes(index);
      const proof = w.proof(request({ block: { index, nodes } }));
      r.verify(proof);
      assert.ok(r.has(index));
      assert.deepEqual(await r.get(index), blocks[index]);
    }
    assert.equal(toHex(r.treeHash()), toHex(w.treeHash()));
    await r.close();
    await w.close();
  }
});

Deno.test("proof: block + upgrade from an older reader, in and below the new range", async () => {
  const blocks = Array.from({ length: 77 }, (_, i) => text.encode(`b${i}`));
  const w31 = await writerWith(blocks.slice(0, 31));
  const w = await writerWith(blocks);
  for (const index of [5, 40, 76, 30, 31, 0]) {
    const r = await reader(w);
    upgrade(r, w31);
    assert.equal(r.length, 31);
    const nodes = index < 31 ? r.missingNodes(index) : 0;
    r.verify(w.proof(request({ block: { index, nodes }, upgrade: { start: 31, length: 46 } })));
    assert.deepEqual(await r.get(index), blocks[index]);
    assert.equal(r.length, 77);
    assert.equal(toHex(r.treeHash()), toHex(w.treeHash()));
    await r.close();
  }
  await w31.close();
  await w.close();
});

function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const copy = bytes.slice();
  copy[bit >> 3]! ^= 1 << (bit & 7);
  return copy;
}

Deno.test("proof: every single-bit flip in a block, a proof node or the signature fails", async () => {
  const blocks = Array.from({ length: 23 }, (_, i) => randomBytes(8 + i));
  const w = await writerWith(blocks);
  const base = await reader(w);
  base.verify(w.proof(request({ manifest: true })));
  const proof = w.proof(
    request({ block: { index: 9, nodes: 0 }, upgrade: { start: 0, length: 23 } }),
  );
  const rejects = async (bad: Proof, what: string) => {
    const r = await reader(w);
    r.verify(w.proof(request({ manifest: true })));
    assert.throws(
      () => r.verify(bad),
      (e) => isPigeonError(e, "INVALID_PROOF") || isPigeonError(e, "INVALID_SIGNATURE"),
      what,
    );
    assert.equal(r.length, 0, `${what}: nothing committed`);
    assert.ok(!r.has(9), `${what}: block not stored`);
    await r.close();
  };
  const block = proof.block!;
  for (let bit = 0; bit < block.value.length * 8; bit++) {
    await rejects(
      { ...proof, block: { ...block, value: flipBit(block.value, bit) } },
      `value bit ${bit}`,
    );
  }
  const allNodes: ["block" | "upgrade", number][] = [
    ...block.nodes.map((_, i) => ["block", i] as ["block", number]),
    ...proof.upgrade!.nodes.map((_, i) => ["upgrade", i] as ["upgrade", number]),
  ];
  for (const [where, i] of allNodes) {
    for (let bit = 0; bit < 256; bit++) {
      const list = (where === "block" ? block.nodes : proof.upgrade!.nodes).slice();
      list[i] = { ...list[i]!, hash: flipBit(list[i]!.hash, bit) };
      const bad = where === "block"
        ? { ...proof, block: { ...block, nodes: list } }
        : { ...proof, upgrade: { ...proof.upgrade!, nodes: list } };
      await rejects(bad, `${where} node ${i} bit ${bit}`);
    }
    const list = (where === "block" ? block.nodes : proof.upgrade!.nodes).slice();
    list[i] = { ...list[i]!, size: list[i]!.size ^ 1 };
    await rejects(
      where === "block"
        ? { ...proof, block: { ...block, nodes: list } }
        : { ...proof, upgrade: { ...proof.upgrade!, nodes: list } },
      `${where} node ${i} size`,
    );
  }
  const signature = proof.upgrade!.signature!;
  for (let bit = 0; bit < signature.length * 8; bit++) {
    await rejects(
      { ...proof, upgrade: { ...proof.upgrade!, signature: flipBit(signature, bit) } },
      `signature bit ${bit}`,
    );
  }
  // The untouched proof still verifies.
  base.verify(proof);
  assert.deepEqual(await base.get(9), blocks[9]);
  await base.close();
  await w.close();
});

Deno.test("proof: a block proof without upgrade must connect to a trusted node", async () => {
  const blocks = Array.from({ length: 16 }, (_, i) => text.encode(`x${i}`));
  const w = await writerWith(blocks);
  const other = await Core.open(new MemoryStorage(), {
    keyPair: keyPair(new Uint8Array(32).fill(9)),
  });
  await other.append(blocks.map((b) => text.encode(`evil ${b}`)));
  const r = await reader(w);
  upgrade(r, w);
  // A proof from a different core of the same shape does not connect.
  const forged = other.proof(request({ block: { index: 3, nodes: r.missingNodes(3) } }));
  assert.throws(() => r.verify(forged), (e) => isPigeonError(e, "INVALID_PROOF"));
  assert.ok(!r.has(3));
  // An upgrade signed by another key fails the signature check.
  const r2 = await reader(w);
  r2.verify(w.proof(request({ manifest: true })));
  assert.throws(
    () => r2.verify(other.proof(request({ upgrade: { start: 0, length: 16 } }))),
    (e) => isPigeonError(e, "INVALID_SIGNATURE"),
  );
  // A stale upgrade (a replayed older proof) is accepted as harmless, not as a fork.
  const w8 = await writerWith(blocks.slice(0, 8));
  const stale = w8.proof(
    request({ block: { index: 2, nodes: 0 }, upgrade: { start: 0, length: 8 } }),
  );
  const unconnected = r.verify(stale);
  assert.equal(unconnected.upgraded, false);
  assert.equal(unconnected.block, -1, "a block only vouched for by a stale tree is not stored");
  assert.equal(r.length, 16);
  // Once the reader trusts node 7 (via block 0's proof), the replayed proof connects.
  r.verify(w.proof(request({ block: { index: 0, nodes: r.missingNodes(0) } })));
  const connected = r.verify(stale);
  assert.equal(connected.block, 2);
  assert.equal(r.length, 16);
  assert.deepEqual(await r.get(2), blocks[2]);
  for (const c of [w, other, r, r2, w8]) await c.close();
});

Deno.test("proof: compat cores replicate without a manifest", async () => {
  const blocks = Array.from({ length: 5 }, (_, i) => text.encode(`c${i}`));
  const w = await writerWith(blocks, true);
  assert.deepEqual(w.key, keyPair(SEED).publicKey);
  const r = await reader(w);
  r.verify(
    w.proof(
      request({ block: { index: 4, nodes: 0 }, upgrade: { start: 0, length: 5 }, manifest: true }),
    ),
  );
  assert.equal(r.compat, true);
  assert.equal(r.length, 5);
  assert.deepEqual(await r.get(4), blocks[4]);
  await r.close();
  await w.close();
});

Deno.test("proof: invalid requests are refused without crashing", async () => {
  const w = await writerWith(Array.from({ length: 10 }, (_, i) => text.encode(`${i}`)));
  const refuse = (req: ProofRequest, code: "BAD_ARGUMENT" | "NOT_AVAILABLE") =>
    assert.throws(() => w.proof(req), (e) => isPigeonError(e, code), JSON.stringify(req));
  refuse(request({ block: { index: 10, nodes: 0 } }), "NOT_AVAILABLE");
  refuse(request({ block: { index: 1e15, nodes: 0 } }), "NOT_AVAILABLE");
  refuse(request({ block: { index: 1, nodes: 40 } }), "BAD_ARGUMENT");
  refuse(request({ upgrade: { start: 5, length: 6 } }), "BAD_ARGUMENT");
  refuse(request({ upgrade: { start: 3, length: 0 } }), "BAD_ARGUMENT");
  refuse(request({ fork: 1, block: { index: 1, nodes: 0 } }), "NOT_AVAILABLE");
  refuse(request({ hash: { index: 61, nodes: 0 } }), "NOT_AVAILABLE");
  await w.close();
});

Deno.test("core: seek finds the block holding a byte offset", async () => {
  const sizes = [5, 0, 7, 1, 64, 3, 3, 10, 2];
  const w = await writerWith(sizes.map((n) => new Uint8Array(n)));
  let offset = 0;
  for (let i = 0; i < sizes.length; i++) {
    for (let k = 0; k < sizes[i]!; k++) {
      assert.deepEqual(await w.seek(offset + k), { index: i, offset: k }, `byte ${offset + k}`);
    }
    offset += sizes[i]!;
  }
  assert.deepEqual(await w.seek(offset), { index: sizes.length, offset: 0 });
  await assert.rejects(w.seek(-1), (e) => isPigeonError(e, "BAD_ARGUMENT"));
  await w.close();
});
