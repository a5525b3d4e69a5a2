/**
 * The mirror record and its journal, and the merging of prefetch ranges
 * (`lib/net/mirror.ts`); whole mirrors run in tests/e2e/share_clone_test.ts.
 */

import assert from "node:assert/strict";
import { coalesce, journalPath, readMirrorState } from "../../lib/net/mirror.ts";

Deno.test("mirror: coalesce merges touching and overlapping block ranges, in order", () => {
  assert.deepEqual(coalesce([]), []);
  assert.deepEqual(coalesce([[5, 6], [0, 2], [2, 5], [9, 12], [10, 11], [20, 21]]), [
    [0, 6],
    [9, 12],
    [20, 21],
  ]);
  // 10,000 one-block files imported together are one range.
  const files = Array.from({ length: 10_000 }, (_, i) => [i, i + 1] as [number, number]);
  assert.deepEqual(coalesce(files.reverse()), [[0, 10_000]]);
});

Deno.test("mirror: the record is read with its journal applied; a torn last line is dropped", () => {
  const dir = Deno.makeTempDirSync({ prefix: "pigeon-mirror-" });
  try {
    const path = `${dir}/mirror.json`;
    assert.deepEqual(readMirrorState(path), { version: 0, files: {} }, "nothing yet");
    Deno.writeTextFileSync(
      path,
      JSON.stringify({ version: 3, files: { "/a": { blob: "0:1", size: 1, mtimeMs: 5 } } }),
    );
    Deno.writeTextFileSync(
      journalPath(path),
      JSON.stringify({ path: "/b", blob: "1:2", size: 2, mtimeMs: 6 }) + "\n" +
        JSON.stringify({ path: "/a", blob: "3:1", size: 1, mtimeMs: 7 }) + "\n" +
        '{"path":"/c","blob":"4:',
    );
    assert.deepEqual(readMirrorState(path), {
      version: 3,
      files: {
        "/a": { blob: "3:1", size: 1, mtimeMs: 7 },
        "/b": { blob: "1:2", size: 2, mtimeMs: 6 },
      },
    });
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
