import assert from "node:assert/strict";
import { fixture, hex } from "../_helpers/fixtures.ts";
import { toHex } from "../../lib/crypto/bytes.ts";
import { isPigeonError } from "../../lib/errors.ts";
import { decode, encode } from "../../lib/encoding/compact.ts";
import {
  defaultManifest,
  type Manifest,
  manifestEncoding,
  manifestHash,
} from "../../lib/core/manifest.ts";
import { blobsKey, contentManifest } from "../../lib/drive/blobs_key.ts";
import { decodeHeader } from "../../lib/drive/hyperbee_codec.ts";
import { Random } from "./_random.ts";

interface DriveVector {
  corestore: { dbPublicKey: string };
  db: { key: string; manifest: string; blocks: { hex: string }[] };
  blobs: { namespace: string; manifest: string; key: string };
}

const v = fixture<DriveVector>("hyperdrive.json");

Deno.test("blobs key: the vector drive's content manifest and key are re-derived", () => {
  const dbManifest = decode(manifestEncoding, hex(v.db.manifest));
  assert.deepEqual(dbManifest, defaultManifest(hex(v.corestore.dbPublicKey)));
  const content = contentManifest(dbManifest, hex(v.db.key))!;
  assert.equal(toHex(content.signers[0]!.namespace), v.blobs.namespace);
  assert.equal(toHex(encode(manifestEncoding, content)), v.blobs.manifest);
  // The db key defaults to the db manifest's hash.
  assert.deepEqual(contentManifest(dbManifest), content);
  const header = decodeHeader(hex(v.db.blocks[0]!.hex));
  const key = blobsKey({ dbKey: hex(v.db.key), manifest: dbManifest, header });
  assert.equal(toHex(key!), v.blobs.key);
});

Deno.test("blobs key: a header contentFeed wins; compat and v0 drives without one have none", () => {
  const dbManifest = decode(manifestEncoding, hex(v.db.manifest));
  const feed = new Uint8Array(40).fill(3);
  const header = { protocol: "hyperbee", metadata: { contentFeed: feed, userData: null } };
  assert.deepEqual(
    blobsKey({ dbKey: hex(v.db.key), manifest: dbManifest, header }),
    feed.subarray(0, 32),
  );
  const none = { protocol: "hyperbee", metadata: null };
  assert.equal(
    blobsKey({ dbKey: hex(v.db.key), manifest: dbManifest, header: none, compat: true }),
    null,
  );
  assert.equal(
    blobsKey({ dbKey: hex(v.db.key), manifest: { ...dbManifest, version: 0 }, header: null }),
    null,
  );
  assert.equal(blobsKey({ dbKey: hex(v.db.key), manifest: null, header: null }), null);
  const short = {
    protocol: "hyperbee",
    metadata: { contentFeed: new Uint8Array(0), userData: null },
  };
  assert.throws(
    () => blobsKey({ dbKey: hex(v.db.key), manifest: dbManifest, header: short }),
    (e: unknown) => isPigeonError(e, "DECODE_ERROR"),
  );
});

const REFERENCE = new URL("../interop/node_modules/hyperdrive/package.json", import.meta.url);
let installed = true;
try {
  Deno.statSync(REFERENCE);
} catch {
  installed = false;
  console.log("skipping blobs key interop: run `deno task setup` to install tests/interop");
}

Deno.test({
  name: "blobs key: multi-signer, patchable and v2 manifests match Hyperdrive.getContentKey",
  ignore: !installed,
  async fn() {
    const rng = new Random(31);
    const manifests: Manifest[] = [];
    for (let i = 0; i < 12; i++) {
      const signers = Array.from({ length: 1 + rng.int(3) }, () => ({
        signature: "ed25519" as const,
        namespace: rng.bytes(32),
        publicKey: rng.bytes(32),
      }));
      const v2 = i % 3 === 2;
      manifests.push({
        version: v2 ? 2 : 1,
        hash: "blake2b",
        allowPatch: rng.int(2) === 1,
        quorum: 1 + rng.int(signers.length),
        signers,
        prologue: null,
        linked: v2 ? [rng.bytes(32)] : null,
        userData: v2 ? rng.bytes(5) : null,
      });
    }
    const input = manifests.map((m) => ({
      version: m.version,
      allowPatch: m.allowPatch,
      quorum: m.quorum,
      signers: m.signers.map((s) => ({
        namespace: toHex(s.namespace),
        publicKey: toHex(s.publicKey),
      })),
      linked: m.linked && m.linked.map(toHex),
      userData: m.userData && toHex(m.userData),
    }));
    const child = new Deno.Command("node", {
      args: [new URL("./reference_content_key.cjs", import.meta.url).pathname],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(30_000),
    }).spawn();
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(JSON.stringify(input)));
    await w.close();
    const out = await child.output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const { keys } = JSON.parse(new TextDecoder().decode(out.stdout)) as { keys: string[] };
    assert.equal(keys.length, manifests.length);
    for (let i = 0; i < manifests.length; i++) {
      const m = manifests[i]!;
      const ours = blobsKey({ dbKey: manifestHash(m), manifest: m, header: null });
      assert.equal(toHex(ours!), keys[i], `manifest ${i}`);
    }
  },
});
