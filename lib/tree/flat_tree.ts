/**
 * Flat-tree arithmetic: an in-order numbering of the binary tree laid over a
 * log (SPEC a). Block i is node 2i; a node of depth d and offset o has index
 * (2o + 1)·2^d − 1.
 *
 * All functions use 53-bit-safe arithmetic (no 32-bit bit operations), so
 * indexes beyond 2^32 work.
 *
 * @module
 */

/** Number of trailing one bits of `index`: the node's depth (leaves are 0). */
export function depth(index: number): number {
  let d = 0;
  let i = index;
  while (i % 2 === 1) {
    d++;
    i = (i - 1) / 2;
  }
  return d;
}

/** Position of `index` among the nodes of its depth, left to right. */
export function offset(index: number, d: number = depth(index)): number {
  return Math.floor(index / 2 ** (d + 1));
}

/** The index of the node at `depth` and `offset`. */
export function indexOf(d: number, o: number): number {
  return (2 * o + 1) * 2 ** d - 1;
}

/** Parent of `index`. */
export function parent(index: number): number {
  const d = depth(index);
  return indexOf(d + 1, Math.floor(offset(index, d) / 2));
}

/** Sibling of `index` (the other child of its parent). */
export function sibling(index: number): number {
  const d = depth(index);
  const o = offset(index, d);
  return indexOf(d, o % 2 === 0 ? o + 1 : o - 1);
}

/** Left child of `index`, or -1 for a leaf. */
export function leftChild(index: number): number {
  const d = depth(index);
  return d === 0 ? -1 : index - 2 ** (d - 1);
}

/** Right child of `index`, or -1 for a leaf. */
export function rightChild(index: number): number {
  const d = depth(index);
  return d === 0 ? -1 : index + 2 ** (d - 1);
}

/** Leftmost leaf (tree index) under `index`. */
export function leftSpan(index: number): number {
  return index - (2 ** depth(index) - 1);
}

/** Rightmost leaf (tree index) under `index`. */
export function rightSpan(index: number): number {
  return index + (2 ** depth(index) - 1);
}

/** Number of nodes in the subtree rooted at `index`. */
export function count(index: number): number {
  return 2 ** (depth(index) + 1) - 1;
}

/** Number of leaves (blocks) under `index`. */
export function countLeaves(index: number): number {
  return 2 ** depth(index);
}

/** True iff node `n` contains tree index `x` (its span covers x). */
export function contains(n: number, x: number): boolean {
  return leftSpan(n) <= x && x <= rightSpan(n);
}

/**
 * The roots of a log whose head is `head` (= 2 · length), in ascending order.
 *
 * @example
 * ```ts
 * import { fullRoots } from "./flat_tree.ts";
 * const roots = fullRoots(2 * 13); // [7, 19, 24]
 * if (roots.join() !== "7,19,24") throw new Error("unexpected");
 * ```
 */
export function fullRoots(head: number): number[] {
  if (head % 2 !== 0) throw new RangeError(`Head must be even (2 × length), got ${head}`);
  const roots: number[] = [];
  let remaining = head / 2;
  let start = 0;
  while (remaining > 0) {
    let factor = 1;
    while (factor * 2 <= remaining) factor *= 2;
    roots.push(2 * start + factor - 1);
    start += factor;
    remaining -= factor;
  }
  return roots;
}
