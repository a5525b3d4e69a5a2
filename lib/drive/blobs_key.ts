/**
 * Finding a drive's blobs (content) core from its db core (SPEC g.3).
 *
 * 1. A db header with `metadata.contentFeed` names the blobs key directly
 *    (its first 32 bytes; legacy and compat drives).
 * 2. Otherwise, for a db manifest of version ≥ 1, the blobs core has the
 *    "content manifest": the same version, allowPatch, quorum and signer keys,
 *    no prologue, and each signer's namespace replaced by
 *    `B2b256(BLOBS ‖ dbKey ‖ signer.namespace)`. Its key is that manifest's
 *    hash, and the drive writer signs it with the db key pair.
 *
 * @module
 */

import { PigeonError } from "../errors.ts";
import { blake2b } from "../crypto/blake2b.ts";
import { BLOBS } from "../crypto/namespace.ts";
import { type Manifest, manifestHash } from "../core/manifest.ts";
import type { Header } from "./hyperbee_codec.ts";

/** Bytes of a core key. */
export const KEY_BYTES = 32;

/**
 * The content manifest of a db core, or null for a version-0 manifest (such
 * drives name their blobs core in the header).
 *
 * @param dbManifest the db core's manifest
 * @param dbKey the db core's key (default: the manifest's hash)
 */
export function contentManifest(dbManifest: Manifest, dbKey?: Uint8Array): Manifest | null {
  if (dbManifest.version < 1) return null;
  const key = dbKey ?? manifestHash(dbManifest);
  return {
    version: dbManifest.version,
    hash: "blake2b",
    allowPatch: dbManifest.allowPatch,
    quorum: dbManifest.quorum,
    signers: dbManifest.signers.map((s) => ({
      ...s,
      namespace: blake2b([BLOBS, key, s.namespace], 32),
    })),
    prologue: null,
    linked: null,
    userData: null,
  };
}

/** What {@link blobsKey} looks at. */
export interface BlobsKeyInput {
  /** The db core's key. */
  dbKey: Uint8Array;
  /** The db core's manifest, if known. */
  manifest: Manifest | null;
  /** The db header (block 0), if present. */
  header: Header | null;
  /** True when the db core is a compat core (key = public key). */
  compat?: boolean;
}

/**
 * The blobs core key of a drive, or null when it cannot be known (compat or
 * version-0 db core whose header names no content feed).
 *
 * @throws {PigeonError} `DECODE_ERROR` when the header's contentFeed is
 *   shorter than a key (hyperdrive refuses such a drive too, even if empty).
 */
export function blobsKey(input: BlobsKeyInput): Uint8Array | null {
  const feed = input.header?.metadata?.contentFeed ?? null;
  if (feed !== null) {
    if (feed.byteLength < KEY_BYTES) {
      throw new PigeonError(
        "DECODE_ERROR",
        `Header contentFeed has ${feed.byteLength} bytes, a key has ${KEY_BYTES}`,
      );
    }
    return feed.slice(0, KEY_BYTES);
  }
  if (input.compat === true || input.manifest === null) return null;
  const manifest = contentManifest(input.manifest, input.dbKey);
  return manifest === null ? null : manifestHash(manifest);
}
