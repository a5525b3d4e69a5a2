import assert from "node:assert/strict";
import { within } from "../_helpers/wait.ts";
import { Core } from "../../lib/core/core.ts";
import { MemoryStorage } from "../../lib/core/storage.ts";
import { decode } from "../../lib/encoding/compact.ts";
import { MessageType, range as rangeCodec } from "../../lib/wire/messages.ts";
import { Replicator } from "../../lib/wire/replicator.ts";
import { connect } from "./_port_pair.ts";

const text = new TextEncoder();

Deno.test("replicator: a downloaded block is announced to peers that lack it, not back to its sender", async () => {
  const w = await Core.open(new MemoryStorage());
  await w.append(Array.from({ length: 50 }, (_, i) => text.encode(`block ${i}`)));
  const r = await Core.open(new MemoryStorage(), { key: w.key });
  const other = await Core.open(new MemoryStorage(), { key: w.key });
  const wr = new Replicator(w);
  const rr = new Replicator(r);
  const or = new Replicator(other);
  const [, toWriter] = connect(wr, rr);
  const [toOther] = connect(rr, or);
  rr.download(0, 50);
  await within(5000, "download", Promise.all(Array.from({ length: 50 }, (_, i) => rr.get(i))));
  const ranges = (sent: [number, Uint8Array][]) =>
    sent.filter(([type]) => type === MessageType.range).map(([, bytes]) =>
      decode(rangeCodec, bytes)
    );
  // The writer announced all 50 blocks itself: nothing is echoed back to it.
  assert.deepEqual(ranges(toWriter.sent), []);
  // The other reader hears of every block as it arrives.
  const announced = new Set<number>();
  for (const r of ranges(toOther.sent)) {
    for (let i = r.start; i < r.start + r.length; i++) announced.add(i);
  }
  assert.equal(announced.size, 50);
  wr.close();
  rr.close();
  or.close();
});
