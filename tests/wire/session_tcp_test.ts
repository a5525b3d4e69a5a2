import assert from "node:assert/strict";
import { within } from "../_helpers/wait.ts";
import { Core } from "../../lib/core/core.ts";
import { MemoryStorage } from "../../lib/core/storage.ts";
import { Replicator } from "../../lib/wire/replicator.ts";
import { SecretStream } from "../../lib/wire/secret_stream.ts";
import { Session } from "../../lib/wire/session.ts";

const text = new TextEncoder();

/** A TCP listener on loopback whose connections run `onSession`. */
function serve(onSession: (s: Session) => void) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const sessions: Session[] = [];
  const accepting = (async () => {
    for await (const conn of listener) {
      const stream = new SecretStream(false, conn, { keepAlive: 0 });
      stream.opened.then(() => {
        const session = new Session(stream, "inbound");
        sessions.push(session);
        onSession(session);
      }, () => {});
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    sessions,
    async close() {
      listener.close();
      await accepting.catch(() => {});
      for (const s of sessions) s.close();
      await Promise.all(sessions.map((s) => s.closed));
    },
  };
}

async function dial(port: number): Promise<Session> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const stream = new SecretStream(true, conn, { keepAlive: 0 });
  await stream.opened;
  return new Session(stream, `127.0.0.1:${port}`);
}

Deno.test("session: a reader downloads a core from a writer over TCP + secret-stream", async () => {
  const writer = await Core.open(new MemoryStorage());
  const blocks = Array.from(
    { length: 200 },
    (_, i) => text.encode(`tcp block ${i}`.repeat(i % 50)),
  );
  await writer.append(blocks);
  const wr = new Replicator(writer);
  const server = await serve((s) =>
    s.serve((dk) => (dk.every((b, i) => b === writer.discoveryKey[i]) ? wr : null))
  );

  const reader = await Core.open(new MemoryStorage(), { key: writer.key });
  const rr = new Replicator(reader, { downloadAll: true });
  const session = await dial(server.port);
  session.replicate(rr);
  const got = await within(10_000, "all blocks", Promise.all(blocks.map((_, i) => rr.get(i))));
  got.forEach((b, i) => assert.deepEqual(b, blocks[i]));

  // Live: an append reaches the connected reader.
  await writer.append([text.encode("live!")]);
  assert.deepEqual(await within(5000, "live block", rr.get(200)), text.encode("live!"));

  session.close();
  await session.closed;
  await server.close();
  wr.close();
  rr.close();
});

Deno.test("session: a peer that does not know the key is refused", async () => {
  const writer = await Core.open(new MemoryStorage());
  await writer.append([text.encode("secret")]);
  const wr = new Replicator(writer);
  const server = await serve((s) => s.serve(() => wr)); // serve anything asked for
  // The attacker knows only the discovery key, not the key: its capability is wrong.
  const fake = await Core.open(new MemoryStorage());
  const attacker = await Core.open(new MemoryStorage(), { key: fake.key });
  // Forge: same discovery key, but capability computed from the wrong key.
  Object.defineProperty(attacker, "discoveryKey", { value: writer.discoveryKey });
  const ar = new Replicator(attacker, { downloadAll: true });
  const session = await dial(server.port);
  session.replicate(ar);
  const closedWith = await within(5000, "connection destroyed", session.closed);
  assert.ok(closedWith !== null || session.stream.destroyed);
  assert.equal(attacker.length, 0, "nothing was learned");
  await server.close();
  wr.close();
  ar.close();
});
