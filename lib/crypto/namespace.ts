/**
 * Namespace constants: `ns(name, i) = B2b256(B2b256(utf8(name)) || byte(i))`
 * (SPEC constants table). Every constant pigeon uses is listed here by name and
 * pinned to its hex value by `tests/crypto/namespace_test.ts`.
 *
 * @module
 */

import { blake2b } from "./blake2b.ts";

/** `ns(name, index)` as hypercore-crypto's `namespace()` computes it. */
export function namespace(name: string, index: number): Uint8Array {
  const root = blake2b([new TextEncoder().encode(name)], 32);
  return blake2b([root, Uint8Array.of(index)], 32);
}

/** Tree signatures: ns("hypercore", 0). */
export const TREE: Uint8Array = namespace("hypercore", 0);
/** Capability of the secret-stream initiator: ns("hypercore", 1). */
export const REPLICATE_INITIATOR: Uint8Array = namespace("hypercore", 1);
/** Capability of the secret-stream responder: ns("hypercore", 2). */
export const REPLICATE_RESPONDER: Uint8Array = namespace("hypercore", 2);
/** Manifest hashing: ns("hypercore", 3). */
export const MANIFEST: Uint8Array = namespace("hypercore", 3);
/** Default signer namespace: ns("hypercore", 4). */
export const DEFAULT_NAMESPACE: Uint8Array = namespace("hypercore", 4);
/** Block encryption: ns("hypercore", 5). */
export const DEFAULT_ENCRYPTION: Uint8Array = namespace("hypercore", 5);
/** Stream id of the initiator: ns("hyperswarm/secret-stream", 0). */
export const NS_INITIATOR: Uint8Array = namespace("hyperswarm/secret-stream", 0);
/** Stream id of the responder: ns("hyperswarm/secret-stream", 1). */
export const NS_RESPONDER: Uint8Array = namespace("hyperswarm/secret-stream", 1);
/** UDP send keys: ns("hyperswarm/secret-stream", 2). */
export const NS_SEND: Uint8Array = namespace("hyperswarm/secret-stream", 2);
/** Blobs core namespace: ns("hyperdrive", 0). */
export const BLOBS: Uint8Array = namespace("hyperdrive", 0);
/** Corestore seed namespace: ns("corestore", 0). */
export const CORESTORE_NS: Uint8Array = namespace("corestore", 0);
