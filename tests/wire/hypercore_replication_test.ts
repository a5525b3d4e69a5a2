/**
 * Replication against real hypercore 11.37.1 peers (Node harness, plain TCP +
 * @hyperswarm/secret-stream 6.9.2): both directions, full and sparse, live,
 * manifest-v1 and compat keys.
 */
import assert from "node:assert/strict";
import { within } from "../_helpers/wait.ts";
import { Core } from "../../lib/core/core.ts";
import { MemoryStorage } from "../../lib/core/storage.ts";
import { fromHex, toHex } from "../../lib/crypto/bytes.ts";
import { keyPair } from "../../lib/crypto/ed25519.ts";
import { Replicator } from "../../lib/wire/replicator.ts";
import { SecretStream } from "../../lib/wire/secret_stream.ts";
import { Session } from "../../lib/wire/session.ts";
import { runNode, spawnNode } from "../interop/_harness.ts";

/** The harness's --data-seed stream: AES-256-CTR, key SHA-256(seed), zero counter. */
async function seededBlocks(seed: string, count: number, size: number): Promise<Uint8Array[]> {
  const keyBytes = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(seed));
  const key = await crypto.subtle.importKey("raw", keyBytes, "AES-CTR", false, ["encrypt"]);
  const stream = new Uint8Array(
    await crypto.subtle.encrypt(
      { name: "AES-CTR", counter: new Uint8Array(16), length: 128 },
      key,
      new Uint8Array(count * size),
    ),
  );
  return Array.from({ length: count }, (_, i) => stream.slice(i * size, (i + 1) * size));
}

async function dial(port: number): Promise<Session> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const stream = new SecretStream(true, conn);
  await stream.opened;
  return new Session(stream, `127.0.0.1:${port}`);
}

function listen(replicator: Replicator) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const sessions: Session[] = [];
  const accepting = (async () => {
    for await (const conn of listener) {
      const stream = new SecretStream(false, conn);
      stream.opened.then(() => {
        const session = new Session(stream, "inbound");
        sessions.push(session);
        session.serve((
          dk,
        ) => (toHex(dk) === toHex(replicator.core.discoveryKey) ? replicator : null));
        session.replicate(replicator);
      }, () => {});
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    async close() {
      listener.close();
      await accepting.catch(() => {});
      for (const s of sessions) s.close();
      await Promise.all(sessions.map((s) => s.closed));
    },
  };
}

for (const compat of [false, true]) {
  const mode = compat ? "compat" : "manifest v1";

  Deno.test(`hypercore → pigeon: full download, then sparse and live (${mode})`, async () => {
    const seed = toHex(crypto.getRandomValues(new Uint8Array(32)));
    const args = ["--seed", seed, "--count", "120", "--size", "3000", "--data-seed", "interop-a"];
    if (compat) args.push("--compat");
    args.push("--live-append-ms", "200", "--live-max", "3");
    const server = spawnNode("serve.js", args);
    const replicators: Replicator[] = [];
    try {
      const listening = await server.waitForEvent("listening");
      const expected = await seededBlocks("interop-a", 123, 3000);
      const key = fromHex(listening.key as string);
      const reader = await Core.open(new MemoryStorage(), { key });
      const rr = new Replicator(reader);
      replicators.push(rr);
      const session = await dial(listening.port as number);
      session.replicate(rr);
      // Sparse first: single blocks in random order.
      for (const index of [77, 3, 119, 40]) {
        assert.deepEqual(await within(10_000, `block ${index}`, rr.get(index)), expected[index]);
      }
      assert.equal(reader.countHeld(), 4);
      assert.equal(reader.compat, compat);
      // Then everything, including live appends.
      rr.downloadAll();
      await within(
        15_000,
        "live appends",
        (async () => {
          for (let i = 0; i < 123; i++) {
            assert.deepEqual(await rr.get(i), expected[i], `block ${i}`);
          }
        })(),
      );
      session.close();
      await session.closed;
    } finally {
      for (const r of replicators) r.close();
      await server.stop();
    }
  });

  Deno.test(`pigeon → hypercore: full, sparse and live downloads by the real reader (${mode})`, async () => {
    const writer = await Core.open(new MemoryStorage(), {
      keyPair: keyPair(crypto.getRandomValues(new Uint8Array(32))),
      compat,
    });
    const blocks = await seededBlocks("interop-b", 90, 2500);
    await writer.append(blocks.slice(0, 50));
    await writer.append(blocks.slice(50, 80));
    const wr = new Replicator(writer);
    const server = await listen(wr);
    try {
      const peer = `127.0.0.1:${server.port}`;
      const sparse = await runNode("fetch.js", [
        "--peer",
        peer,
        "--key",
        toHex(writer.key),
        "--blocks",
        "61,2,79,33",
      ]);
      assert.equal(sparse.code, 0, sparse.stderr);
      const got = sparse.lines.filter((l) => l.event === "block");
      assert.deepEqual(got.map((l) => l.index), [61, 2, 79, 33]);
      for (const l of got) assert.equal(l.hex, toHex(blocks[l.index as number]!));

      const live = spawnNode("fetch.js", [
        "--peer",
        peer,
        "--key",
        toHex(writer.key),
        "--all",
        "--live-until-length",
        "90",
      ]);
      try {
        await live.waitForEvent("update");
        await writer.append(blocks.slice(80, 85));
        await writer.append(blocks.slice(85, 90));
        const done = await live.waitForEvent("done", 20_000);
        assert.equal(done.length, 90);
        const all = live.lines.filter((l) => l.event === "block");
        assert.equal(all.length, 90);
        for (const l of all) assert.equal(l.hex, toHex(blocks[l.index as number]!));
      } finally {
        await live.stop();
      }
    } finally {
      await server.close();
      wr.close();
    }
  });
}
