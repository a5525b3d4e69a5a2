"use strict";
// Prints hyperdrive 13.3.4's content (blobs) key for each db manifest given on
// stdin: [{version, allowPatch, quorum, signers: [{namespace, publicKey}],
// linked: [hex]|null, userData: hex|null}] -> {"keys": [hex|null, …]}.
const { req, hex, fromHex, run, readStdinJson, deadline } = require("../interop/_common.js");

const Hyperdrive = req("hyperdrive");

run(async () => {
  deadline(30_000, "reference_content_key");
  const manifests = await readStdinJson();
  const keys = manifests.map((m) => {
    const manifest = {
      version: m.version,
      hash: "blake2b",
      allowPatch: m.allowPatch,
      quorum: m.quorum,
      signers: m.signers.map((s) => ({
        signature: "ed25519",
        namespace: fromHex(s.namespace, "namespace"),
        publicKey: fromHex(s.publicKey, "publicKey"),
      })),
      prologue: null,
      linked: m.linked ? m.linked.map((k) => fromHex(k, "linked")) : null,
      userData: m.userData ? fromHex(m.userData, "userData") : null,
    };
    return hex(Hyperdrive.getContentKey(manifest));
  });
  process.stdout.write(JSON.stringify({ keys }) + "\n", () => process.exit(0));
});
