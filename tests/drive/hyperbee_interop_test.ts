/**
 * Byte-for-byte comparison with the real hyperbee 2.27.3: the same random
 * sequences of puts, deletions and batches go through hyperbee (Node, over
 * hypercore 11, via reference_bee.cjs) and through pigeon's Hyperbee, and every
 * block must be identical. Skipped, with the reason printed, when the Node
 * reference packages are not installed (`deno task setup`).
 */

import assert from "node:assert/strict";
import { fromHex, toHex } from "../../lib/crypto/bytes.ts";
import { Hyperbee, type HyperbeeBatch } from "../../lib/drive/hyperbee.ts";
import type { HeaderMetadata } from "../../lib/drive/hyperbee_codec.ts";
import { MemoryLog } from "./memory_log.ts";
import { Random } from "./_random.ts";

const SCRIPT = new URL("./reference_bee.cjs", import.meta.url).pathname;
const REFERENCE = new URL("../interop/node_modules/hyperbee/package.json", import.meta.url);
const NODE_TIMEOUT_MS = 60_000;

function installed(): boolean {
  try {
    Deno.statSync(REFERENCE);
    return true;
  } catch {
    console.log("skipping hyperbee interop: run `deno task setup` to install tests/interop");
    return false;
  }
}
const ready = installed();

type Op =
  | { op: "put"; key: string; value: string }
  | { op: "del"; key: string }
  | { op: "batch"; ops: Op[] };

interface MetadataJson {
  contentFeed: string | null;
  userData: string | null;
}

async function reference(metadata: MetadataJson | null, ops: Op[]): Promise<string[]> {
  const child = new Deno.Command("node", {
    args: [SCRIPT],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(NODE_TIMEOUT_MS),
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(JSON.stringify({ metadata, ops })));
  await writer.close();
  const out = await child.output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, `reference_bee.cjs failed: ${stderr}`);
  return JSON.parse(new TextDecoder().decode(out.stdout)).blocks;
}

async function ours(metadata: MetadataJson | null, ops: Op[]): Promise<string[]> {
  const log = new MemoryLog();
  const meta: HeaderMetadata | null = metadata && {
    contentFeed: metadata.contentFeed === null ? null : fromHex(metadata.contentFeed),
    userData: metadata.userData === null ? null : fromHex(metadata.userData),
  };
  const bee = new Hyperbee(log, { metadata: meta });
  const apply = async (target: Hyperbee | HyperbeeBatch, op: Op) => {
    if (op.op === "put") await target.put(fromHex(op.key), fromHex(op.value));
    else if (op.op === "del") await target.del(fromHex(op.key));
  };
  for (const op of ops) {
    if (op.op === "batch") {
      const b = bee.batch();
      for (const inner of op.ops) await apply(b, inner);
      await b.flush();
    } else {
      await apply(bee, op);
    }
  }
  return log.blocks.map(toHex);
}

/** A random sequence: mostly puts at first, then mostly deletions; some batches. */
function randomOps(rng: Random, count: number, keySpace: number): Op[] {
  const live = new Set<string>();
  const one = (i: number): Op => {
    const delRate = i < count / 2 ? 2 : 6;
    if (rng.int(10) < delRate && live.size && rng.int(6) !== 0) {
      const keys = [...live];
      const key = keys[rng.int(keys.length)]!;
      live.delete(key);
      return { op: "del", key };
    }
    const key = toHex(Uint8Array.of(rng.int(keySpace), rng.int(4)));
    if (rng.int(10) < delRate) {
      live.delete(key);
      return { op: "del", key }; // often absent
    }
    live.add(key);
    return { op: "put", key, value: toHex(rng.bytes(rng.int(4))) };
  };
  const ops: Op[] = [];
  for (let i = 0; i < count;) {
    if (rng.int(8) === 0) {
      const inner: Op[] = [];
      for (let n = 1 + rng.int(40); n > 0 && i < count; n--) inner.push(one(i++));
      ops.push({ op: "batch", ops: inner });
    } else {
      ops.push(one(i++));
    }
  }
  return ops;
}

function assertSameBlocks(got: string[], want: string[]): void {
  for (let i = 0; i < Math.max(got.length, want.length); i++) {
    assert.equal(got[i], want[i], `block ${i} differs (of ${want.length})`);
  }
}

Deno.test({
  name: "hyperbee interop: random puts, deletions and batches give hyperbee's exact blocks",
  ignore: !ready,
  async fn() {
    // Key spaces: 8 × 4 keys (many overwrites), 64 × 4, 256 × 4 (deeper trees).
    for (const [seed, count, keySpace] of [[11, 900, 64], [12, 600, 8], [13, 2000, 256]]) {
      const ops = randomOps(new Random(seed!), count!, keySpace!);
      assertSameBlocks(await ours(null, ops), await reference(null, ops));
    }
  },
});

Deno.test({
  name: "hyperbee interop: header metadata, overwrites with equal values, empty values",
  ignore: !ready,
  async fn() {
    const metadata = { contentFeed: "ab".repeat(32), userData: "0102" };
    const ops: Op[] = [
      { op: "del", key: "00" }, // writes only the header
      { op: "put", key: "61", value: "" },
      { op: "put", key: "61", value: "" }, // same value: still appended
      { op: "batch", ops: [] },
      { op: "batch", ops: [{ op: "del", key: "61" }, { op: "del", key: "61" }] },
      { op: "put", key: "62", value: "ff" },
    ];
    assertSameBlocks(await ours(metadata, ops), await reference(metadata, ops));
    const hyperdrive = { contentFeed: null, userData: null };
    assertSameBlocks(await ours(hyperdrive, ops), await reference(hyperdrive, ops));
  },
});
