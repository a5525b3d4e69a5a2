import assert from "node:assert/strict";
import {
  BlockCache,
  MAX_CACHED_BLOCK_BYTES,
  MAX_CACHED_BLOCKS,
} from "../../lib/core/block_cache.ts";

Deno.test("block_cache: a block is handed out once, then reads miss", () => {
  const cache = new BlockCache();
  const value = Uint8Array.of(1, 2, 3);
  cache.put(5, value);
  assert.equal(cache.take(4), null);
  assert.equal(cache.take(5), value);
  assert.equal(cache.take(5), null);
});

Deno.test("block_cache: a later block in the same slot replaces the earlier one", () => {
  const cache = new BlockCache();
  cache.put(1, Uint8Array.of(1));
  cache.put(1 + MAX_CACHED_BLOCKS, Uint8Array.of(2));
  assert.equal(cache.take(1), null);
  assert.deepEqual(cache.take(1 + MAX_CACHED_BLOCKS), Uint8Array.of(2));
});

Deno.test("block_cache: blocks past the byte bound are not kept; delete and clear forget", () => {
  const cache = new BlockCache();
  const half = new Uint8Array(MAX_CACHED_BLOCK_BYTES / 2);
  cache.put(0, half);
  cache.put(1, half);
  cache.put(2, new Uint8Array(1));
  assert.equal(cache.take(2), null, "over the byte bound");
  assert.equal(cache.take(0), half);
  cache.put(2, new Uint8Array(1));
  cache.delete(2);
  assert.equal(cache.take(2), null);
  cache.clear();
  assert.equal(cache.take(1), null);
  cache.put(3, half);
  cache.put(4, half);
  assert.equal(cache.take(4), half, "clear released the bytes");
});
