"use strict";
// core_write.js — append blocks with the real hypercore and print what it signed.
//
// stdin:  { "seed": hex32, "compat": bool, "blocks": [hex, …] }
//     or  { "seed": hex32, "compat": bool, "batches": [[hex, …], …] }   (one append() per batch)
// stdout: one line { key, discoveryKey, id, length, byteLength, treeHash, signature,
//                    manifest, fork }
// The key pair is hypercore-crypto.keyPair(seed) (libsodium crypto_sign_seed_keypair).
// Storage is a fresh folder under os.tmpdir(), removed on exit.
const { req, emit, hex, fromHex, run, readStdinJson, tmpDir, deadline } = require("./_common");

const Hypercore = req("hypercore");
const crypto = req("hypercore-crypto");

/** Generous: appending is local; this only guards against a hang. */
const TIMEOUT_MS = 60_000;

run(async () => {
  const cancel = deadline(TIMEOUT_MS, "core_write");
  const input = await readStdinJson();
  const seed = fromHex(input.seed, "seed");
  if (seed.length !== 32) throw new Error("seed must be 32 bytes");
  if (Array.isArray(input.blocks) === Array.isArray(input.batches)) {
    throw new Error('Give exactly one of "blocks" or "batches"');
  }
  const batches = input.batches || [input.blocks];

  const core = new Hypercore(tmpDir("core-write"), {
    keyPair: crypto.keyPair(seed),
    // v11 defaults to a manifest-v1 key even with a keyPair; compat (key = public key) is opt-in.
    compat: input.compat ? true : undefined,
  });
  await core.ready();
  for (const batch of batches) {
    if (!Array.isArray(batch)) {
      throw new Error("Each batch must be an array of hex strings");
    }
    await core.append(batch.map((b, i) => fromHex(b, "block " + i)));
  }

  // state.signature is the upgrade signature as stored and sent on the wire: the 68-byte
  // multisig container for manifest v1, the raw 64-byte Ed25519 signature for compat.
  const state = core.core.state;
  emit({
    key: hex(core.key),
    discoveryKey: hex(core.discoveryKey),
    id: core.id,
    length: core.length,
    byteLength: core.byteLength,
    treeHash: hex(await core.treeHash()),
    signature: hex(state.signature),
    manifest: input.compat ? null : hex(core.getManifest({ raw: true })),
    fork: core.fork,
  });
  await core.close();
  cancel();
});
