import assert from "node:assert/strict";
import * as ft from "../../lib/tree/flat_tree.ts";
import { fixture } from "../_helpers/fixtures.ts";

interface NodeVector {
  index: number;
  depth: number;
  offset: number;
  parent: number;
  sibling: number;
  leftChild: number;
  rightChild: number;
  leftSpan: number;
  rightSpan: number;
  count: number;
  countLeaves: number;
}

const vectors = fixture<{
  nodes: NodeVector[];
  fullRoots: { length: number; head: number; fullRoots: number[] }[];
  indexFromDepthOffset: { depth: number; offset: number; index: number }[];
}>("flat-tree.json");

Deno.test("flat-tree: every node relation matches the reference, including 2^50", () => {
  assert.ok(vectors.nodes.length > 60);
  for (const n of vectors.nodes) {
    const i = n.index;
    assert.equal(ft.depth(i), n.depth, `depth(${i})`);
    assert.equal(ft.offset(i), n.offset, `offset(${i})`);
    assert.equal(ft.parent(i), n.parent, `parent(${i})`);
    assert.equal(ft.sibling(i), n.sibling, `sibling(${i})`);
    assert.equal(ft.leftChild(i), n.leftChild, `leftChild(${i})`);
    assert.equal(ft.rightChild(i), n.rightChild, `rightChild(${i})`);
    assert.equal(ft.leftSpan(i), n.leftSpan, `leftSpan(${i})`);
    assert.equal(ft.rightSpan(i), n.rightSpan, `rightSpan(${i})`);
    assert.equal(ft.count(i), n.count, `count(${i})`);
    assert.equal(ft.countLeaves(i), n.countLeaves, `countLeaves(${i})`);
  }
});

Deno.test("flat-tree: fullRoots matches the reference for every length, beyond 2^32", () => {
  for (const r of vectors.fullRoots) {
    assert.deepEqual(ft.fullRoots(r.head), r.fullRoots, `length ${r.length}`);
  }
  for (const v of vectors.indexFromDepthOffset) {
    assert.equal(ft.indexOf(v.depth, v.offset), v.index);
  }
});

Deno.test("flat-tree: fullRoots rejects an odd head", () => {
  assert.throws(() => ft.fullRoots(3), RangeError);
});
