/**
 * pigeon's secret-stream and protomux against the real @hyperswarm/secret-stream 6.9.2
 * and protomux 3.12.1 (tests/interop/secret_stream_peer.js), over loopback TCP, with
 * pigeon as initiator and as responder.
 */
import assert from "node:assert/strict";
import { type NodeProc, spawnNode } from "./_harness.ts";
import { SecretStream } from "../../lib/wire/secret_stream.ts";
import { Protomux } from "../../lib/wire/protomux.ts";
import { string } from "../../lib/encoding/compact.ts";
import { toHex } from "../../lib/crypto/bytes.ts";

const WAIT_MS = 20_000;
const HOST = "127.0.0.1";

/** Connects pigeon to a fresh Node peer; pigeon takes `role`, Node the other one. */
async function connect(
  role: "initiator" | "responder",
  mux: boolean,
): Promise<{ node: NodeProc; stream: SecretStream }> {
  const extra = mux ? ["--mux"] : [];
  if (role === "initiator") {
    const node = spawnNode("secret_stream_peer.js", [
      "--role",
      "responder",
      ...extra,
    ]);
    const { port } = await node.waitForEvent("listening", WAIT_MS);
    const conn = await Deno.connect({ hostname: HOST, port: port as number });
    return { node, stream: new SecretStream(true, conn, { keepAlive: 50 }) };
  }
  const listener = Deno.listen({ hostname: HOST, port: 0 });
  try {
    const accepted = listener.accept();
    const node = spawnNode("secret_stream_peer.js", [
      "--role",
      "initiator",
      "--port",
      String(listener.addr.port),
      ...extra,
    ]);
    const conn = await accepted;
    return { node, stream: new SecretStream(false, conn, { keepAlive: 50 }) };
  } finally {
    listener.close();
  }
}

async function checkIdentity(
  node: NodeProc,
  stream: SecretStream,
): Promise<void> {
  await stream.opened;
  const open = await node.waitForEvent("open", WAIT_MS);
  assert.equal(open.handshakeHash, toHex(stream.handshakeHash!));
  assert.equal(open.remotePublicKey, toHex(stream.publicKey));
  assert.equal(open.publicKey, toHex(stream.remotePublicKey!));
  assert.equal(open.isInitiator, !stream.isInitiator);
}

function sizes(): number[] {
  const out = [1, 2, 17, 100, 1000, 65535, 65536, 65537, 1 << 20, 3];
  for (let i = 0; i < 40; i++) {
    out.push(1 + Math.floor(Math.random() ** 4 * 300_000));
  }
  return out;
}

function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let at = 0; at < n; at += 65536) {
    crypto.getRandomValues(out.subarray(at, Math.min(n, at + 65536)));
  }
  return out;
}

for (const role of ["initiator", "responder"] as const) {
  Deno.test(`interop secret_stream: pigeon ${role} ↔ real secret-stream echoes bytes`, async () => {
    const { node, stream } = await connect(role, false);
    try {
      await checkIdentity(node, stream);
      const sent = sizes().map(randomBytes);
      const echoed = (async () => {
        const got: Uint8Array[] = [];
        for await (const m of stream) {
          got.push(m);
          if (got.length === sent.length) break;
        }
        return got;
      })();
      for (const m of sent) await stream.send(m);
      const got = await echoed;
      assert.equal(got.length, sent.length);
      for (let i = 0; i < sent.length; i++) {
        assert.deepEqual(got[i], sent[i], `message ${i}`);
      }
      // Our keep-alives (every 50 ms of idleness) reach the real stream as empty messages.
      await node.waitForEvent("empty", WAIT_MS);
      assert.equal(await stream.end(), null);
      const closed = await node.waitForEvent("closed", WAIT_MS);
      assert.ok((closed.echoed as number) >= sent.length);
      assert.equal((await node.exited(WAIT_MS)).code, 0);
    } finally {
      stream.destroy();
      await node.stop();
    }
  });

  Deno.test(`interop secret_stream: pigeon ${role} ↔ real protomux channel round trip`, async () => {
    const { node, stream } = await connect(role, true);
    try {
      await checkIdentity(node, stream);
      const mux = new Protomux(stream);
      const got: string[] = [];
      let wake = () => {};
      const channel = mux.createChannel<string>({
        protocol: "pigeon/test",
        id: new Uint8Array(32).fill(0x11),
        handshake: string,
      })!;
      const text = channel.addMessage({
        encoding: string,
        onmessage: (s) => {
          got.push(s);
          wake();
        },
      });
      channel.open("hello from pigeon");
      assert.equal(await channel.fullyOpened(), true);
      assert.equal(channel.handshake, "hello from node");
      assert.equal(
        (await node.waitForEvent("channel-open", WAIT_MS)).handshake,
        "hello from pigeon",
      );
      // One plain message and a corked batch of two.
      text.send("pigeon 1");
      channel.cork();
      text.send("pigeon 2");
      text.send("pigeon 3");
      channel.uncork();
      const expected = [
        "node 1",
        "node 2",
        "node 3",
        "echo: pigeon 1",
        "echo: pigeon 2",
        "echo: pigeon 3",
      ];
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`only got ${got}`)),
          WAIT_MS,
        );
        wake = () => {
          if (got.length >= expected.length) {
            clearTimeout(timer);
            resolve();
          }
        };
        wake();
      });
      assert.deepEqual(got, expected);
      channel.close();
      assert.equal(
        (await node.waitForEvent("channel-close", WAIT_MS)).isRemote,
        true,
      );
      assert.equal(await stream.end(), null);
      await node.waitForEvent("closed", WAIT_MS);
    } finally {
      stream.destroy();
      await node.stop();
    }
  });
}
