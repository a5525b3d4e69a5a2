import assert from "node:assert/strict";
import { decode, encode } from "../../lib/encoding/compact.ts";
import { toHex } from "../../lib/crypto/bytes.ts";
import { keyPair } from "../../lib/crypto/ed25519.ts";
import * as ns from "../../lib/crypto/namespace.ts";
import { leafNode, parentNode, treeHash } from "../../lib/tree/merkle.ts";
import { depth, fullRoots, leftChild, rightChild } from "../../lib/tree/flat_tree.ts";
import type { TreeNode } from "../../lib/tree/node.ts";
import { compatTreeSignable, discoveryKey, treeSignable } from "../../lib/core/caps.ts";
import {
  compatManifest,
  coreKey,
  defaultManifest,
  type Manifest,
  manifestEncoding,
  manifestHash,
} from "../../lib/core/manifest.ts";
import { multiSignatureEncoding, Verifier } from "../../lib/core/verifier.ts";
import { fixture, hex } from "../_helpers/fixtures.ts";

interface CoreVector {
  length: number;
  mode: string;
  blocks: { value: string; leafHash: string }[];
  treeNodes: { index: number; size: number; hash: string }[];
  roots: { index: number; size: number; hash: string }[];
  byteLength: number;
  treeHash: string;
  fork: number;
  manifestEncoded?: string;
  manifestHash?: string;
  key: string;
  discoveryKey: string;
  signable: string;
  ed25519Signature: string;
  signatureAsStoredAndSentOnWire: string;
}

const vectors = fixture<{
  keyPair: { seed: string; publicKey: string; secretKey: string };
  cores: CoreVector[];
  manifestSamples: {
    name: string;
    manifestJSON: Record<string, unknown>;
    encoded: string;
    manifestHash: string;
  }[];
  discoveryKeyExample: { key: string; discoveryKey: string };
}>("merkle-and-keys.json");

Deno.test("namespaces: every constant is pinned to the reference value", () => {
  const { namespaces } = fixture<{
    namespaces: Record<string, { name: string; i: number; value: string }[]>;
  }>("constants.json");
  const ours: Record<string, Uint8Array> = {
    TREE: ns.TREE,
    REPLICATE_INITIATOR: ns.REPLICATE_INITIATOR,
    REPLICATE_RESPONDER: ns.REPLICATE_RESPONDER,
    MANIFEST: ns.MANIFEST,
    DEFAULT_NAMESPACE: ns.DEFAULT_NAMESPACE,
    DEFAULT_ENCRYPTION: ns.DEFAULT_ENCRYPTION,
    NS_INITIATOR: ns.NS_INITIATOR,
    NS_RESPONDER: ns.NS_RESPONDER,
    NS_SEND: ns.NS_SEND,
    BLOBS: ns.BLOBS,
    NS: ns.CORESTORE_NS,
  };
  let checked = 0;
  for (const [name, list] of Object.entries(namespaces)) {
    for (const entry of list) {
      const mine = ours[entry.name];
      assert.ok(mine, `missing constant ${entry.name}`);
      assert.equal(toHex(mine), entry.value, entry.name);
      const fullName = name === "secretStream" ? "hyperswarm/secret-stream" : name;
      assert.equal(toHex(ns.namespace(fullName, entry.i)), entry.value);
      checked++;
    }
  }
  assert.equal(checked, Object.keys(ours).length);
});

Deno.test("key pair: seed gives the reference public and secret key", () => {
  const pair = keyPair(hex(vectors.keyPair.seed));
  assert.equal(toHex(pair.publicKey), vectors.keyPair.publicKey);
  assert.equal(toHex(pair.secretKey), vectors.keyPair.secretKey);
});

Deno.test("merkle: every node, root and tree hash of the vector cores is reproduced", () => {
  assert.equal(vectors.cores.length, 12);
  for (const core of vectors.cores) {
    const nodes = new Map<number, TreeNode>();
    core.blocks.forEach((b, i) => {
      const leaf = leafNode(i, hex(b.value));
      assert.equal(toHex(leaf.hash), b.leafHash);
      nodes.set(leaf.index, leaf);
    });
    // Build parents bottom-up in index order, as an appender would.
    const parents = core.treeNodes.filter((n) => n.index % 2 === 1);
    parents.sort((a, b) => depth(a.index) - depth(b.index));
    for (const expected of parents) {
      const left = nodes.get(leftChild(expected.index))!;
      const right = nodes.get(rightChild(expected.index))!;
      nodes.set(expected.index, parentNode(left, right, expected.index));
    }
    for (const expected of core.treeNodes) {
      const mine = nodes.get(expected.index)!;
      assert.equal(toHex(mine.hash), expected.hash, `node ${expected.index}`);
      assert.equal(mine.size, expected.size);
    }
    const roots = fullRoots(2 * core.length).map((i) => nodes.get(i)!);
    assert.deepEqual(roots.map((r) => r.index), core.roots.map((r) => r.index));
    assert.equal(toHex(treeHash(roots)), core.treeHash, `tree hash length ${core.length}`);
  }
  assert.equal(
    toHex(treeHash([])),
    "bb30a42c1e62f0afda5f0a4e8a562f7a13a24cea00ee81917b86b89e801314aa",
  );
});

Deno.test("keys: manifest, key, discovery key, signable and signature match for both modes", () => {
  const pair = keyPair(hex(vectors.keyPair.seed));
  for (const core of vectors.cores) {
    const compat = core.mode === "compat";
    const manifest = compat ? compatManifest(pair.publicKey) : defaultManifest(pair.publicKey);
    const key = coreKey(manifest, compat);
    assert.equal(toHex(key), core.key, `${core.mode} ${core.length}`);
    assert.equal(toHex(discoveryKey(key)), core.discoveryKey);
    if (!compat) {
      assert.equal(toHex(encode(manifestEncoding, manifest)), core.manifestEncoded);
      assert.equal(toHex(manifestHash(manifest)), core.manifestHash);
    }
    const tree = hex(core.treeHash);
    const signable = compat
      ? compatTreeSignable(tree, core.length, core.fork)
      : treeSignable(key, tree, core.length, core.fork);
    assert.equal(toHex(signable), core.signable);
    const verifier = new Verifier(manifest, compat);
    const container = verifier.sign(pair, tree, core.length, core.fork);
    assert.equal(toHex(container), core.signatureAsStoredAndSentOnWire);
    assert.ok(verifier.verify(container, tree, core.length, core.fork));
    assert.ok(!verifier.verify(container, tree, core.length + 1, core.fork));
    assert.ok(!verifier.verify(container, tree, core.length, core.fork + 1));
  }
});

Deno.test("keys: discovery key example", () => {
  const ex = vectors.discoveryKeyExample;
  assert.equal(toHex(discoveryKey(hex(ex.key))), ex.discoveryKey);
});

function manifestFromJSON(json: Record<string, unknown>): Manifest {
  const signers = (json.signers as { namespace: string; publicKey: string }[]).map((s) => ({
    signature: "ed25519" as const,
    namespace: hex(s.namespace),
    publicKey: hex(s.publicKey),
  }));
  const prologue = json.prologue as { hash: string; length: number } | null;
  return {
    version: json.version as number,
    hash: "blake2b",
    allowPatch: json.allowPatch as boolean,
    quorum: json.quorum as number,
    signers,
    prologue: prologue ? { hash: hex(prologue.hash), length: prologue.length } : null,
    linked: json.linked ? (json.linked as string[]).map(hex) : null,
    userData: json.userData ? hex(json.userData as string) : null,
  };
}

Deno.test("manifest: every sample (v0 types 0/1/2, v1, prologue, v2) encodes, decodes and hashes", () => {
  assert.equal(vectors.manifestSamples.length, 7);
  for (const sample of vectors.manifestSamples) {
    const manifest = manifestFromJSON(sample.manifestJSON);
    assert.equal(toHex(encode(manifestEncoding, manifest)), sample.encoded, sample.name);
    assert.deepEqual(decode(manifestEncoding, hex(sample.encoded)), manifest, sample.name);
    assert.equal(toHex(manifestHash(manifest)), sample.manifestHash, sample.name);
  }
});

Deno.test("manifest: unknown versions, hash and signature types are rejected", () => {
  for (const bad of ["04", "0100010101", "01000001010100"]) {
    assert.throws(() => decode(manifestEncoding, hex(bad)));
  }
});

Deno.test("signature container: wire vector decodes to one signer proof", () => {
  const { hypercoreMessages } = fixture<{
    hypercoreMessages: { name: string; encoded: string }[];
  }>("wire-messages.json");
  const sample = hypercoreMessages.find((m) => /multisig|container/i.test(m.name));
  assert.ok(sample, "multisig container sample present");
  const container = decode(multiSignatureEncoding, hex(sample.encoded));
  assert.equal(container.proofs.length, 1);
  assert.equal(toHex(encode(multiSignatureEncoding, container)), sample.encoded);
});

Deno.test("verifier: a flipped bit anywhere in the container fails verification", () => {
  const pair = keyPair(hex(vectors.keyPair.seed));
  const core = vectors.cores[2]!;
  const verifier = new Verifier(defaultManifest(pair.publicKey), false);
  const container = hex(core.signatureAsStoredAndSentOnWire);
  const tree = hex(core.treeHash);
  for (let bit = 0; bit < container.length * 8; bit++) {
    const copy = container.slice();
    copy[bit >> 3]! ^= 1 << (bit & 7);
    assert.ok(!verifier.verify(copy, tree, core.length, core.fork), `bit ${bit}`);
  }
});
