/**
 * LAN discovery between network namespaces (root only): real processes, each
 * with its own network stack, finding each other over multicast DNS with the
 * production interface choice (every non-loopback IPv4 interface).
 */

import assert from "node:assert/strict";
import { toHex } from "../../lib/crypto/bytes.ts";
import { DiscoverProcess } from "./_discover_process.ts";
import { lanSkipReason, leftoverNamespaces, NetnsLan } from "./netns.ts";

const skip = lanSkipReason();
if (skip !== null) console.log(`tests/lan/discovery_lan_test.ts skipped: ${skip}`);

/** Bound on one process finding one peer (includes Deno's start-up on a busy 2-core machine). */
const FIND_TIMEOUT_MS = 20_000;
/** Children exit on their own after this, whatever happens to the test. */
const CHILD_MAX_MS = 60_000;

function randomKeyHex(): string {
  return toHex(crypto.getRandomValues(new Uint8Array(32)));
}

async function stopAll(children: DiscoverProcess[]): Promise<Deno.CommandStatus[]> {
  return await Promise.all(children.map((c) => c.stop()));
}

Deno.test({
  name: "lan: two namespaces joined by a veth pair find each other",
  ignore: skip !== null,
  async fn() {
    const key = randomKeyHex();
    let lan: NetnsLan | null = null;
    const children: DiscoverProcess[] = [];
    try {
      lan = await NetnsLan.veth();
      const [a, b] = lan.hosts as [typeof lan.hosts[0], typeof lan.hosts[0]];
      children.push(
        DiscoverProcess.spawn({ key, port: 5001, prefix: a.exec, maxMs: CHILD_MAX_MS }),
      );
      children.push(
        DiscoverProcess.spawn({ key, port: 5002, prefix: b.exec, maxMs: CHILD_MAX_MS }),
      );
      const [ca, cb] = children as [DiscoverProcess, DiscoverProcess];
      const foundByA = await ca.waitFor((e) => e.event === "peer", FIND_TIMEOUT_MS, "a finds b");
      const foundByB = await cb.waitFor((e) => e.event === "peer", FIND_TIMEOUT_MS, "b finds a");
      assert.deepEqual({ ...foundByA, ms: 0 }, {
        event: "peer",
        host: b.address,
        port: 5002,
        via: "lan",
        ms: 0,
      });
      assert.deepEqual({ ...foundByB, ms: 0 }, {
        event: "peer",
        host: a.address,
        port: 5001,
        via: "lan",
        ms: 0,
      });
      // The default interface choice took eth0's address and left loopback out.
      assert.deepEqual(ca.all("ready")[0]!.interfaces, [a.address]);
      assert.deepEqual(cb.all("ready")[0]!.interfaces, [b.address]);
      console.log(`veth: time to first discovery ${foundByA.ms} ms (a), ${foundByB.ms} ms (b)`);
      const statuses = await stopAll(children.splice(0));
      assert.deepEqual(statuses.map((s) => s.code), [0, 0]);
    } finally {
      await stopAll(children);
      await lan?.close();
    }
    assert.deepEqual(await leftoverNamespaces(), []);
  },
});

Deno.test({
  name:
    "lan: three namespaces on a bridge, two processes on one host, all find each other; another subnet is ignored",
  ignore: skip !== null,
  async fn() {
    const key = randomKeyHex();
    let lan: NetnsLan | null = null;
    const children: DiscoverProcess[] = [];
    try {
      // Three hosts on 10.77.0.0/24 and a fourth on the same wire but another subnet.
      lan = await NetnsLan.bridge(["10.77.0.1/24", "10.77.0.2/24", "10.77.0.3/24", "10.88.0.4/24"]);
      const [h1, h2, h3, other] = lan.hosts as [
        typeof lan.hosts[0],
        typeof lan.hosts[0],
        typeof lan.hosts[0],
        typeof lan.hosts[0],
      ];
      const plan = [
        { host: h1, port: 5101 },
        { host: h1, port: 5102 }, // a second process on the same host
        { host: h2, port: 5201 },
        { host: h3, port: 5301 },
      ];
      // The outsider starts first, so it is listening when the others announce.
      const outsider = DiscoverProcess.spawn({
        key,
        port: 5401,
        prefix: other.exec,
        maxMs: CHILD_MAX_MS,
      });
      children.push(outsider);
      await outsider.waitFor((e) => e.event === "ready", FIND_TIMEOUT_MS, "the outsider is ready");
      const finders = plan.map((p) =>
        DiscoverProcess.spawn({ key, port: p.port, prefix: p.host.exec, maxMs: CHILD_MAX_MS })
      );
      children.push(...finders);

      for (const [i, p] of plan.entries()) {
        for (const q of plan.filter((_, j) => j !== i)) {
          await finders[i]!.waitFor(
            (e) => e.event === "peer" && e.host === q.host.address && e.port === q.port,
            FIND_TIMEOUT_MS,
            `${p.host.address}:${p.port} finds ${q.host.address}:${q.port}`,
          );
        }
      }
      const firsts = plan.map((_, i) =>
        Math.min(...finders[i]!.all("peer").map((e) => e.ms as number))
      );
      console.log(`bridge: time to first discovery (ms) ${firsts.join(", ")}`);

      const statuses = await stopAll(children.splice(0));
      assert.deepEqual(statuses.map((s) => s.code), [0, 0, 0, 0, 0]);
      for (const [i, finder] of finders.entries()) {
        const peers = finder.all("peer").map((e) => `${e.host}:${e.port}`).sort();
        const expected = plan.filter((_, j) => j !== i).map((q) => `${q.host.address}:${q.port}`)
          .sort();
        assert.deepEqual(peers, expected, `finder ${i} found exactly the three others`);
      }
      // The outsider shares the wire but not the subnet: it heard the others and took none.
      assert.deepEqual(outsider.all("peer"), []);
      const stats = outsider.all("closed")[0]!.stats as { ignored: number };
      assert.ok(stats.ignored > 0, "the outsider heard the subnet's packets and ignored them");
    } finally {
      await stopAll(children);
      await lan?.close();
    }
    assert.deepEqual(await leftoverNamespaces(), []);
  },
});
