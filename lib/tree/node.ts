/**
 * A Merkle tree node and its wire codec (SPEC b, f.2).
 *
 * | field | bytes   |
 * |-------|---------|
 * | index | uint    |
 * | size  | uint    |
 * | hash  | fixed32 |
 *
 * (Inside the tree hash the order is hash, index, size instead: see `merkle.ts`.)
 *
 * @module
 */

import { type Codec, fixed32, uint } from "../encoding/compact.ts";

/** A node of a core's Merkle tree: a flat-tree index, the bytes under it, its hash. */
export interface TreeNode {
  /** Flat-tree index; block i is node 2i. */
  index: number;
  /** Total byte length of the blocks under this node. */
  size: number;
  /** 32-byte BLAKE2b-256 hash. */
  hash: Uint8Array;
}

/** Wire codec of a {@link TreeNode}: index, size, hash. */
export const treeNode: Codec<TreeNode> = {
  preencode(s, node) {
    uint.preencode(s, node.index);
    uint.preencode(s, node.size);
    fixed32.preencode(s, node.hash);
  },
  encode(s, node) {
    uint.encode(s, node.index);
    uint.encode(s, node.size);
    fixed32.encode(s, node.hash);
  },
  decode(s) {
    const index = uint.decode(s);
    const size = uint.decode(s);
    const hash = fixed32.decode(s);
    return { index, size, hash };
  },
};
