import assert from "node:assert/strict";
import { within } from "../_helpers/wait.ts";
import { Core } from "../../lib/core/core.ts";
import { MemoryStorage } from "../../lib/core/storage.ts";
import { decode, encode } from "../../lib/encoding/compact.ts";
import { data as dataCodec, MessageType } from "../../lib/wire/messages.ts";
import { Replicator, type ReplicatorEvent } from "../../lib/wire/replicator.ts";
import { connect } from "./_port_pair.ts";

const text = new TextEncoder();

async function writer(count: number): Promise<Core> {
  const core = await Core.open(new MemoryStorage());
  if (count > 0) {
    await core.append(Array.from({ length: count }, (_, i) => text.encode(`block ${i}`)));
  }
  return core;
}

function untilEvent(
  rep: Replicator,
  match: (e: ReplicatorEvent) => boolean,
): Promise<ReplicatorEvent> {
  return new Promise((resolve) => {
    const off = rep.on((e) => {
      if (match(e)) {
        off();
        resolve(e);
      }
    });
  });
}

Deno.test("replicator: a reader downloads every block of a writer", async () => {
  const w = await writer(300);
  const r = await Core.open(new MemoryStorage(), { key: w.key });
  const wr = new Replicator(w);
  const rr = new Replicator(r, { downloadAll: true });
  connect(wr, rr);
  const upgraded = untilEvent(rr, (e) => e.type === "upgrade");
  await within(5000, "upgrade", upgraded);
  const blocks = await within(
    10_000,
    "all blocks",
    Promise.all(Array.from({ length: 300 }, (_, i) => rr.get(i))),
  );
  blocks.forEach((b, i) => assert.deepEqual(b, text.encode(`block ${i}`)));
  assert.equal(r.contiguousLength, 300);
  wr.close();
  rr.close();
});

Deno.test("replicator: live appends reach a connected reader", async () => {
  const w = await writer(3);
  const r = await Core.open(new MemoryStorage(), { key: w.key });
  const wr = new Replicator(w);
  const rr = new Replicator(r, { downloadAll: true });
  connect(wr, rr);
  await within(5000, "first blocks", rr.get(2));
  for (let round = 0; round < 5; round++) {
    await w.append([text.encode(`live ${round}`), text.encode(`more ${round}`)]);
    const index = w.length - 1;
    assert.deepEqual(
      await within(5000, `live block ${index}`, rr.get(index)),
      text.encode(`more ${round}`),
    );
  }
  assert.equal(r.length, 13);
  wr.close();
  rr.close();
});

Deno.test("replicator: a sparse get fetches only that block", async () => {
  const w = await writer(1000);
  const r = await Core.open(new MemoryStorage(), { key: w.key });
  const wr = new Replicator(w);
  const rr = new Replicator(r);
  const [wEnd] = connect(wr, rr);
  assert.deepEqual(await within(5000, "block 777", rr.get(777)), text.encode("block 777"));
  assert.deepEqual(await within(5000, "block 3", rr.get(3)), text.encode("block 3"));
  assert.equal(r.countHeld(), 2);
  const dataSent = wEnd.sent.filter(([type]) => type === MessageType.data).length;
  assert.equal(dataSent, 3, "one upgrade and two blocks");
  wr.close();
  rr.close();
});

Deno.test("replicator: an altered block is rejected and fetched from an honest peer", async () => {
  const w = await writer(50);
  const mirror = await Core.open(new MemoryStorage(), { key: w.key });
  const mr = new Replicator(mirror, { downloadAll: true });
  const wr0 = new Replicator(w);
  connect(wr0, mr);
  await within(
    5000,
    "mirror complete",
    Promise.all(Array.from({ length: 50 }, (_, i) => mr.get(i))),
  );

  const r = await Core.open(new MemoryStorage(), { key: w.key });
  const rr = new Replicator(r, { downloadAll: true });
  const invalid: ReplicatorEvent[] = [];
  rr.on((e) => e.type === "invalid" && invalid.push(e));
  // The hostile peer flips a byte of every block value it sends (proof unchanged).
  const hostile = new Replicator(w);
  const [hostileEnd] = connect(hostile, rr);
  hostileEnd.tamper = (type, bytes) => {
    if (type !== MessageType.data) return bytes;
    const d = decode(dataCodec, bytes);
    if (!d.block) return bytes;
    d.block.value = d.block.value.slice();
    d.block.value[0]! ^= 1;
    return encode(dataCodec, d);
  };
  await within(5000, "invalid proof noticed", untilEvent(rr, (e) => e.type === "invalid"));
  for (let i = 0; i < 50; i++) {
    if (r.has(i)) {
      assert.deepEqual(await r.get(i), text.encode(`block ${i}`), "never stores altered bytes");
    }
  }
  await within(
    5000,
    "hostile peer dropped",
    (async () => {
      while (hostile.peers.length > 0) await new Promise((resolve) => setTimeout(resolve, 5));
    })(),
  );
  connect(mr, rr);
  const blocks = await within(
    10_000,
    "blocks from the honest peer",
    Promise.all(Array.from({ length: 50 }, (_, i) => rr.get(i))),
  );
  blocks.forEach((b, i) => assert.deepEqual(b, text.encode(`block ${i}`)));
  assert.ok(invalid.length >= 1);
  for (const x of [wr0, mr, rr, hostile]) x.close();
});

Deno.test("replicator: a request flood, past-the-end and invalid requests get noData, not a crash", async () => {
  const w = await writer(10);
  const wr = new Replicator(w);
  const r = await Core.open(new MemoryStorage(), { key: w.key });
  const rr = new Replicator(r);
  const [wEnd, rEnd] = connect(wr, rr);
  await within(5000, "sync", rr.get(0));
  const before = rEnd.sent.length;
  for (let i = 0; i < 50; i++) {
    rEnd.send(MessageType.request, {
      id: 1000 + i,
      fork: 0,
      block: { index: 10 + i * 1000, nodes: 0 },
      hash: null,
      seek: null,
      upgrade: null,
      manifest: false,
      priority: 0,
    });
  }
  assert.equal(rEnd.sent.length, before + 50);
  // The writer still serves honest requests afterwards, and answered every bad one.
  assert.deepEqual(await within(5000, "block 9 after flood", rr.get(9)), text.encode("block 9"));
  const noData = wEnd.sent.filter(([type]) => type === MessageType.noData).length;
  assert.equal(noData, 50);
  wr.close();
  rr.close();
});
