import assert from "node:assert/strict";
import { fromHex, toHex } from "../../lib/crypto/bytes.ts";
import { isPigeonError } from "../../lib/errors.ts";
import { Hyperbee, type HyperbeeSnapshot } from "../../lib/drive/hyperbee.ts";
import {
  decodeNode,
  decodeYoloIndex,
  encodeHeader,
  encodeNode,
  encodeYoloIndex,
} from "../../lib/drive/hyperbee_codec.ts";
import { compareBytes, MAX_KEYS, MIN_KEYS } from "../../lib/drive/hyperbee_tree.ts";
import type { RangeOptions } from "../../lib/drive/hyperbee_iterator.ts";
import { MemoryLog } from "./memory_log.ts";
import { Random } from "./_random.ts";

type State = Map<string, string>; // hex key -> hex value

function randomKey(rng: Random): Uint8Array {
  // Short keys from a small alphabet: many shared prefixes and collisions.
  const out = new Uint8Array(1 + rng.int(4));
  for (let i = 0; i < out.length; i++) out[i] = 0x61 + rng.int(6);
  return out;
}

function sorted(state: State): [string, string][] {
  return [...state.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

async function collect(reader: Hyperbee | HyperbeeSnapshot, opts: RangeOptions = {}) {
  const out: [string, string][] = [];
  for await (const e of reader.range(opts)) out.push([toHex(e.key), toHex(e.value!)]);
  return out;
}

/** Applies random puts and dels; returns the map state at every version. */
async function randomOps(bee: Hyperbee, log: MemoryLog, rng: Random, ops: number) {
  const state: State = new Map();
  const states: [string, string][][] = [[], []]; // versions 0 and 1 (header only) are empty
  for (let i = 0; i < ops; i++) {
    // The second half deletes more than it puts, so the tree grows then shrinks.
    const delRate = i < ops / 2 ? 4 : 7;
    let key = randomKey(rng);
    if (rng.int(10) < delRate) {
      // Mostly delete keys that exist, to exercise borrowing and merging.
      const existing = [...state.keys()];
      if (existing.length && rng.int(5) !== 0) key = fromHex(existing[rng.int(existing.length)]!);
      await bee.del(key);
      state.delete(toHex(key));
    } else {
      const value = rng.bytes(rng.int(5));
      await bee.put(key, value);
      state.set(toHex(key), toHex(value));
    }
    states[log.length] = sorted(state);
  }
  return { state, states };
}

/** Walks the tree of the current version checking B-tree invariants. */
async function checkInvariants(log: MemoryLog): Promise<void> {
  if (log.length < 2) return;
  const levelOf = async (seq: number, offset: number) => {
    const node = decodeNode(await log.get(seq));
    return decodeYoloIndex(node.index).levels[offset]!;
  };
  const leafDepths = new Set<number>();
  const walk = async (seq: number, offset: number, depth: number, root: boolean) => {
    const level = await levelOf(seq, offset);
    const n = level.keys.length;
    assert.ok(n <= MAX_KEYS, `node ${seq}/${offset} has ${n} keys`);
    if (!root) assert.ok(n >= MIN_KEYS, `node ${seq}/${offset} has only ${n} keys`);
    const keys = await Promise.all(level.keys.map(async (s) => decodeNode(await log.get(s)).key));
    for (let i = 1; i < keys.length; i++) assert.ok(compareBytes(keys[i - 1]!, keys[i]!) < 0);
    if (level.children.length === 0) {
      leafDepths.add(depth);
      return;
    }
    assert.equal(level.children.length / 2, n + 1, "children = keys + 1");
    for (let i = 0; i < level.children.length; i += 2) {
      assert.ok(level.children[i]! <= seq, "child points back in the log");
      await walk(level.children[i]!, level.children[i + 1]!, depth + 1, false);
    }
  };
  await walk(log.length - 1, 0, 0, true);
  assert.ok(leafDepths.size <= 1, `leaves at depths ${[...leafDepths]}`);
}

for (const seed of [1, 2, 3, 0xbee]) {
  Deno.test(`hyperbee: random puts and dels agree with a sorted map at every version (seed ${seed})`, async () => {
    const rng = new Random(seed);
    const log = new MemoryLog();
    const bee = new Hyperbee(log);
    const { state, states } = await randomOps(bee, log, rng, 500);
    await checkInvariants(log);

    assert.deepEqual(await collect(bee), sorted(state));
    for (let k = 0; k < 200; k++) {
      const key = randomKey(rng);
      const got = await bee.get(key);
      assert.equal(got === null ? undefined : toHex(got.value!), state.get(toHex(key)));
    }
    for (let v = 1; v < states.length; v++) {
      if (states[v] === undefined) continue; // a del of an absent key appends nothing
      const snap = bee.checkout(v);
      assert.equal(snap.version, v);
      assert.deepEqual(await collect(snap), states[v], `version ${v}`);
    }
  });
}

Deno.test("hyperbee: a deep tree shrinks back to empty through borrows and merges", async () => {
  const rng = new Random(4242);
  const log = new MemoryLog();
  const bee = new Hyperbee(log);
  const keys: Uint8Array[] = [];
  for (let i = 0; i < 1500; i++) {
    const key = new Uint8Array([rng.int(256), rng.int(256), i & 0xff]);
    keys.push(key);
    await bee.put(key, Uint8Array.of(i & 0xff));
  }
  await checkInvariants(log);
  const state: State = new Map(keys.map((k, i) => [toHex(k), toHex(Uint8Array.of(i & 0xff))]));
  for (let i = keys.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [keys[i], keys[j]] = [keys[j]!, keys[i]!];
  }
  for (let i = 0; i < keys.length; i++) {
    await bee.del(keys[i]!);
    state.delete(toHex(keys[i]!));
    if (i % 100 === 0 || keys.length - i < 12) {
      await checkInvariants(log);
      assert.deepEqual(await collect(bee), sorted(state), `after ${i + 1} deletions`);
    }
  }
  assert.deepEqual(await collect(bee), []);
  // The last block is a deletion whose root is empty: `0a 00`.
  assert.equal(toHex(decodeNode(log.blocks[log.length - 1]!).index), "0a00");
});

Deno.test("hyperbee: range bounds, reverse and limit match a filtered sorted list", async () => {
  const rng = new Random(77);
  const log = new MemoryLog();
  const bee = new Hyperbee(log);
  const { state } = await randomOps(bee, log, rng, 400);
  const all = sorted(state);
  for (let q = 0; q < 600; q++) {
    const opts: RangeOptions = {};
    const lo = randomKey(rng);
    const hi = randomKey(rng);
    const loKind = rng.int(3);
    const hiKind = rng.int(3);
    if (loKind === 1) opts.gt = lo;
    if (loKind === 2) opts.gte = lo;
    if (hiKind === 1) opts.lt = hi;
    if (hiKind === 2) opts.lte = hi;
    if (rng.int(2)) opts.reverse = true;
    if (rng.int(3) === 0) opts.limit = rng.int(6);
    const l = toHex(lo);
    const h = toHex(hi);
    let want = all.filter(([k]) =>
      (loKind !== 1 || k > l) && (loKind !== 2 || k >= l) && (hiKind !== 1 || k < h) &&
      (hiKind !== 2 || k <= h)
    );
    if (opts.reverse) want = want.reverse();
    if (opts.limit !== undefined) want = want.slice(0, opts.limit);
    assert.deepEqual(await collect(bee, opts), want, JSON.stringify({ ...opts, l, h }));
  }
});

Deno.test("hyperbee: history lists every block as put or del, with bounds", async () => {
  const log = new MemoryLog();
  const bee = new Hyperbee(log);
  const k = (s: string) => new TextEncoder().encode(s);
  await bee.put(k("a"), k("1"));
  await bee.put(k("b"), k("2"));
  await bee.del(k("a"));
  await bee.del(k("zz")); // absent: nothing appended
  await bee.put(k("a"), k("3"));
  const seen = [];
  for await (const e of bee.history()) seen.push([e.seq, e.type, new TextDecoder().decode(e.key)]);
  assert.deepEqual(seen, [[1, "put", "a"], [2, "put", "b"], [3, "del", "a"], [4, "put", "a"]]);
  const seqs = async (o: Parameters<Hyperbee["history"]>[0]) => {
    const out = [];
    for await (const e of bee.history(o)) out.push(e.seq);
    return out;
  };
  assert.deepEqual(await seqs({ reverse: true }), [4, 3, 2, 1]);
  assert.deepEqual(await seqs({ gte: 2, lt: 4 }), [2, 3]);
  assert.deepEqual(await seqs({ gt: 2, lte: 4 }), [3, 4]);
  assert.deepEqual(await seqs({ gte: -2 }), [3, 4]);
  assert.deepEqual(await seqs({ limit: 1, reverse: true }), [4]);
  assert.deepEqual(await seqs({ lt: 0 }), []);
  const deleted = await bee.checkout(4).get(k("a"));
  assert.equal(deleted, null);
  assert.equal((await bee.getBySeq(3)).value, null);
});

Deno.test("hyperbee: a batch appends once and reads its own pending writes", async () => {
  const rng = new Random(9);
  const log = new MemoryLog();
  const bee = new Hyperbee(log);
  const state: State = new Map();
  await bee.put(Uint8Array.of(1), Uint8Array.of(1));
  state.set("01", "01");
  const batch = bee.batch();
  for (let i = 0; i < 300; i++) {
    const key = randomKey(rng);
    if (rng.int(4) === 0) {
      await batch.del(key);
      state.delete(toHex(key));
    } else {
      const value = rng.bytes(3);
      await batch.put(key, value);
      state.set(toHex(key), toHex(value));
      assert.equal(toHex((await batch.get(key))!.value!), toHex(value));
    }
  }
  assert.equal(log.length, 2, "nothing appended before flush");
  assert.deepEqual(await collect(bee), [["01", "01"]], "bee does not see pending writes");
  const pending = batch.pendingLength;
  await batch.flush();
  assert.equal(log.length, 2 + pending);
  assert.deepEqual(log.batches, [1, 1, pending], "header, first put, then one batch");
  assert.deepEqual(await collect(bee), sorted(state));
  await checkInvariants(log);
  // The lock was released: a plain put goes through.
  await bee.put(Uint8Array.of(2), Uint8Array.of(2));
  assert.equal(log.length, 3 + pending);
});

Deno.test("hyperbee: a closed batch drops its writes and releases the lock", async () => {
  const log = new MemoryLog();
  const bee = new Hyperbee(log);
  const batch = bee.batch();
  await batch.put(Uint8Array.of(5), Uint8Array.of(5));
  let putDone = false;
  const put = bee.put(Uint8Array.of(6), Uint8Array.of(6)).then(() => (putDone = true));
  await Promise.resolve();
  assert.equal(putDone, false, "a put waits for the batch's lock");
  batch.close();
  await put;
  assert.deepEqual(await collect(bee), [["06", "06"]]);
});

Deno.test("hyperbee: concurrent puts are serialised and all land", async () => {
  const log = new MemoryLog();
  const bee = new Hyperbee(log);
  await Promise.all(
    Array.from({ length: 60 }, (_, i) => bee.put(Uint8Array.of(i), Uint8Array.of(i))),
  );
  assert.equal(log.length, 61);
  const got = await collect(bee);
  assert.equal(got.length, 60);
  await checkInvariants(log);
});

Deno.test("hyperbee: empty bee reads nothing; del on it writes only the header", async () => {
  const log = new MemoryLog();
  const bee = new Hyperbee(log);
  assert.equal(bee.version, 1);
  assert.equal(await bee.get(Uint8Array.of(1)), null);
  assert.deepEqual(await collect(bee), []);
  assert.equal(await bee.getHeader(), null);
  await bee.del(Uint8Array.of(1));
  assert.equal(log.length, 1);
  assert.deepEqual(await bee.getHeader(), { protocol: "hyperbee", metadata: null });
  assert.throws(() => bee.checkout(2), (e: unknown) => isPigeonError(e, "BAD_ARGUMENT"));
});

Deno.test("hyperbee: a cyclic or dangling index fails with DECODE_ERROR", async () => {
  const cyclic = new MemoryLog();
  const level = { keys: [1], children: [1, 0, 1, 0] };
  await cyclic.append([
    encodeHeader({ protocol: "hyperbee", metadata: null }),
    encodeNode({
      key: Uint8Array.of(0x61),
      value: Uint8Array.of(1),
      index: encodeYoloIndex({ levels: [level] }),
    }),
  ]);
  const bee = new Hyperbee(cyclic);
  const isDecode = (e: unknown) => isPigeonError(e, "DECODE_ERROR");
  await assert.rejects(bee.get(Uint8Array.of(0x62)), isDecode);
  await assert.rejects(collect(bee), isDecode);
  await assert.rejects(bee.put(Uint8Array.of(0x62), Uint8Array.of(0)), isDecode);

  const dangling = new MemoryLog();
  await dangling.append([
    encodeHeader({ protocol: "hyperbee", metadata: null }),
    encodeNode({
      key: Uint8Array.of(0x61),
      value: Uint8Array.of(1),
      index: encodeYoloIndex({ levels: [{ keys: [1], children: [9, 0, 1, 3] }] }),
    }),
  ]);
  const bee2 = new Hyperbee(dangling);
  await assert.rejects(bee2.get(Uint8Array.of(0x00)), /outside 1…1/);
  await assert.rejects(bee2.get(Uint8Array.of(0x62)), /no index level 3/);
});
