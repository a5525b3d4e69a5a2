/**
 * Merkle hashing of a core (SPEC b). All hashes are unkeyed BLAKE2b-256.
 *
 * | node   | hashed bytes                                                    |
 * |--------|-----------------------------------------------------------------|
 * | leaf   | 0x00, u64le(len(data)), data                                    |
 * | parent | 0x01, u64le(left.size + right.size), left.hash, right.hash      |
 * | tree   | 0x02, then per root (ascending index): hash, u64le(index), u64le(size) |
 *
 * These are the hot path of appending and verifying; leaves and parents go to
 * the dedicated kernel entries `hashLeaf` / `hashParent` of `lib/crypto/blake2b.ts`
 * (the same bytes as the table, without building the prefix).
 *
 * @module
 */

import { blake2b, hashLeaf, hashParent } from "../crypto/blake2b.ts";
import { writeU64le } from "../crypto/bytes.ts";
import type { TreeNode } from "./node.ts";

const ROOT_TYPE = 2;

/** BLAKE2b-256 of a leaf holding `data` (one kernel call on the WASM path). */
export function leafHash(data: Uint8Array): Uint8Array {
  return hashLeaf(data);
}

/** The leaf node of block `blockIndex` holding `data`. */
export function leafNode(blockIndex: number, data: Uint8Array): TreeNode {
  return { index: 2 * blockIndex, size: data.byteLength, hash: leafHash(data) };
}

/** BLAKE2b-256 of a parent over `left` and `right` whose sizes sum to `size`. */
export function parentHash(left: Uint8Array, right: Uint8Array, size: number): Uint8Array {
  return hashParent(left, right, size);
}

/** The parent node of two siblings (in either order). */
export function parentNode(a: TreeNode, b: TreeNode, parentIndex: number): TreeNode {
  const [left, right] = a.index < b.index ? [a, b] : [b, a];
  const size = left.size + right.size;
  return { index: parentIndex, size, hash: parentHash(left.hash, right.hash, size) };
}

/** The tree hash over `roots` (ascending index order), which signatures cover. */
export function treeHash(roots: readonly TreeNode[]): Uint8Array {
  const input = new Uint8Array(1 + roots.length * 48);
  input[0] = ROOT_TYPE;
  let at = 1;
  for (const root of roots) {
    input.set(root.hash, at);
    writeU64le(input, at + 32, root.index);
    writeU64le(input, at + 40, root.size);
    at += 48;
  }
  return blake2b([input], 32);
}
