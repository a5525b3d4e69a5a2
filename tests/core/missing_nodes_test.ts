import assert from "node:assert/strict";
import { missingNodes } from "../../lib/core/proof.ts";
import * as ft from "../../lib/tree/flat_tree.ts";
import type { TreeNode } from "../../lib/tree/node.ts";

/** The definition, spelled with the flat-tree helpers (SPEC f.5.4). */
function reference(has: (index: number) => boolean, index: number, length: number): number {
  if (index >= length) return 0;
  let count = 0;
  for (let x = 2 * index; !has(x); x = ft.parent(x)) {
    count++;
    if (ft.rightSpan(ft.parent(x)) >= 2 * length) break;
  }
  return count;
}

Deno.test("missingNodes: counts absent ancestors like the flat-tree definition", () => {
  let seed = 12345;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const node = { index: 0, size: 0, hash: new Uint8Array(32) } as TreeNode;
  for (let length = 1; length <= 100; length++) {
    for (const density of [0, 0.2, 0.7]) {
      const present = new Set<number>();
      for (let i = 0; i < 4 * length; i++) if (random() < density) present.add(i);
      const source = { get: (i: number) => (present.has(i) ? node : null) };
      for (let index = 0; index <= length; index++) {
        assert.equal(
          missingNodes(source, index, length),
          reference((i) => present.has(i), index, length),
          `block ${index} of ${length} at density ${density}`,
        );
      }
    }
  }
});
