/**
 * The byte strings a core signs and the capabilities peers prove (SPEC c.5,
 * c.6, f.1). Every layout is spelled out here, with its size as a constant.
 *
 * | signable          | bytes                                                         |
 * |-------------------|---------------------------------------------------------------|
 * | manifest v ≥ 1    | TREE(32), manifestHash(32), treeHash(32), u64le length, u64le fork = 112 |
 * | manifest v0       | TREE(32), signer namespace(32), treeHash(32), u64le length, u64le fork = 112 |
 * | compat            | TREE(32), treeHash(32), u64le length, u64le fork = 80         |
 *
 * @module
 */

import { blake2b } from "../crypto/blake2b.ts";
import { writeU64le } from "../crypto/bytes.ts";
import { REPLICATE_INITIATOR, REPLICATE_RESPONDER, TREE } from "../crypto/namespace.ts";

/** Size of a manifest-bound tree signable. */
export const TREE_SIGNABLE_BYTES = 112;
/** Size of a compat tree signable. */
export const COMPAT_TREE_SIGNABLE_BYTES = 80;

const DISCOVERY_MESSAGE = new TextEncoder().encode("hypercore");

/** The 112-byte signable binding `namespaceOrManifestHash`, tree hash, length and fork. */
export function treeSignable(
  namespaceOrManifestHash: Uint8Array,
  treeHash: Uint8Array,
  length: number,
  fork: number,
): Uint8Array {
  const out = new Uint8Array(TREE_SIGNABLE_BYTES);
  out.set(TREE, 0);
  out.set(namespaceOrManifestHash, 32);
  out.set(treeHash, 64);
  writeU64le(out, 96, length);
  writeU64le(out, 104, fork);
  return out;
}

/** The 80-byte signable of a compat core. */
export function compatTreeSignable(treeHash: Uint8Array, length: number, fork: number): Uint8Array {
  const out = new Uint8Array(COMPAT_TREE_SIGNABLE_BYTES);
  out.set(TREE, 0);
  out.set(treeHash, 32);
  writeU64le(out, 64, length);
  writeU64le(out, 72, fork);
  return out;
}

/** `B2b256("hypercore", key = coreKey)`: the only name of a core that travels in the clear. */
export function discoveryKey(key: Uint8Array): Uint8Array {
  return blake2b([DISCOVERY_MESSAGE], 32, key);
}

/**
 * The capability a side of a secret-stream sends for a core (SPEC f.1):
 * `B2b256(REPLICATE_<role> || key, key = handshakeHash)`.
 */
export function capability(
  isInitiator: boolean,
  handshakeHash: Uint8Array,
  key: Uint8Array,
): Uint8Array {
  const role = isInitiator ? REPLICATE_INITIATOR : REPLICATE_RESPONDER;
  return blake2b([role, key], 32, handshakeHash);
}
