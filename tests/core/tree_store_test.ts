import assert from "node:assert/strict";
import { NODE_BYTES, TreeStore } from "../../lib/core/tree_store.ts";
import { MemoryFile, type RandomAccess } from "../../lib/core/storage.ts";
import * as ft from "../../lib/tree/flat_tree.ts";
import { leafNode, parentNode } from "../../lib/tree/merkle.ts";
import type { TreeNode } from "../../lib/tree/node.ts";

/** Every node and the roots of a log of `sizes.length` blocks with those sizes. */
function buildTree(sizes: number[]): { nodes: TreeNode[]; roots: TreeNode[] } {
  const nodes: TreeNode[] = [];
  const roots: TreeNode[] = [];
  sizes.forEach((size, i) => {
    let node = leafNode(i, new Uint8Array(size).fill(i & 0xff));
    nodes.push(node);
    while (roots.length > 0 && ft.sibling(node.index) === roots.at(-1)!.index) {
      node = parentNode(roots.pop()!, node, ft.parent(node.index));
      nodes.push(node);
    }
    roots.push(node);
  });
  return { nodes, roots };
}

/** A deterministic pseudo-random generator (xorshift32). */
function rng(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

Deno.test("tree_store: byteOffset is the sum of the sizes before each block, for any length", () => {
  const random = rng(7);
  for (let length = 1; length <= 70; length++) {
    const sizes = Array.from({ length }, () => Math.floor(random() * 5000));
    const { nodes, roots } = buildTree(sizes);
    const store = new TreeStore(new MemoryFile(), "test");
    store.put(nodes);
    let expected = 0;
    for (let i = 0; i < length; i++) {
      assert.equal(store.byteOffset(i, roots), expected, `block ${i} of ${length}`);
      expected += sizes[i]!;
    }
    assert.throws(() => store.byteOffset(length, roots), /beyond the tree/);
  }
});

Deno.test("tree_store: an absent node reads as null, then as the node once put", () => {
  const file = new MemoryFile();
  const store = new TreeStore(file, "test");
  const { nodes } = buildTree([10, 20, 30, 40]);
  // The file reaches past node 2, so probing it reads zeros from the file.
  store.put([nodes.find((n) => n.index === 6)!]);
  assert.equal(store.get(2), null);
  assert.equal(store.has(2), false);
  const leaf = nodes.find((n) => n.index === 2)!;
  store.put([leaf]);
  assert.deepEqual(store.get(2), leaf);
  // A fresh store over the same file sees what was written.
  assert.deepEqual(new TreeStore(file, "test").get(2), leaf);
  // Truncation forgets cached nodes at or above the cut.
  store.truncate(2);
  assert.equal(store.get(2), null);
  assert.equal(store.get(6), null);
  assert.equal(file.size(), 2 * NODE_BYTES);
});

Deno.test("tree_store: an exclusive store answers for unwritten nodes past the file without reading", () => {
  const { nodes } = buildTree([10, 20, 30, 40]);
  const file = new MemoryFile();
  new TreeStore(file, "setup").put([nodes.find((n) => n.index === 0)!]);
  let reads = 0;
  const counted: RandomAccess = {
    read: (offset, length) => {
      reads++;
      return file.read(offset, length);
    },
    write: (offset, bytes) => file.write(offset, bytes),
    size: () => file.size(),
    truncate: (size) => file.truncate(size),
    sync: () => file.sync(),
    close: () => file.close(),
  };
  const store = new TreeStore(counted, "test", { exclusive: true });
  assert.deepEqual(store.get(0), nodes.find((n) => n.index === 0), "node 0 was in the file");
  assert.equal(reads, 1);
  store.put([nodes.find((n) => n.index === 6)!]);
  assert.equal(store.get(2), null);
  assert.equal(store.get(4), null);
  assert.equal(reads, 1, "nodes past the opening size that were never written are not read");
  const leaf2 = nodes.find((n) => n.index === 2)!;
  store.put([leaf2]);
  assert.deepEqual(store.get(2), leaf2);
  store.truncate(2);
  assert.equal(store.get(2), null);
  assert.equal(store.get(6), null);
  store.put([leaf2]);
  assert.deepEqual(store.get(2), leaf2, "written again after the truncation");
  assert.deepEqual(new TreeStore(file, "reopened", { exclusive: true }).get(2), leaf2);
});
