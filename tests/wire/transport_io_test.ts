import assert from "node:assert/strict";
import { within } from "../_helpers/wait.ts";
import { concat } from "../../lib/crypto/bytes.ts";
import type { ByteStream } from "../../lib/wire/byte_stream.ts";
import { READ_BUFFER_BYTES, TransportReader } from "../../lib/wire/transport_reader.ts";
import { TransportWriter } from "../../lib/wire/transport_writer.ts";

const WAIT_MS = 10_000;

/** A connected pair of real TCP sockets on loopback. */
async function tcpPair(): Promise<[Deno.TcpConn, Deno.TcpConn]> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const accepted = listener.accept();
    const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
    return [client, await accepted];
  } finally {
    listener.close();
  }
}

/** Reads exactly `n` bytes from `conn`. */
async function readExactly(conn: Deno.Conn, n: number): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  let got = 0;
  while (got < n) {
    const read = await conn.read(out.subarray(got));
    if (read === null) throw new Error(`EOF after ${got} of ${n} bytes`);
    got += read;
  }
  return out;
}

/** The conn, with its writes counted. */
function counted(conn: Deno.Conn): { transport: ByteStream; writes: () => number } {
  let writes = 0;
  return {
    transport: {
      readable: conn.readable,
      writable: conn.writable,
      close: () => conn.close(),
      write: (bytes) => {
        writes++;
        return conn.write(bytes);
      },
    },
    writes: () => writes,
  };
}

Deno.test("transport_writer: pushes made in one turn leave in one write, in order, over TCP", async () => {
  const [a, b] = await tcpPair();
  try {
    const { transport, writes } = counted(a);
    let queued = -1;
    const writer = new TransportWriter(transport, {
      written: (q) => (queued = q),
      error: (err) => assert.fail(String(err)),
    });
    const parts: Uint8Array[] = [];
    for (let i = 0; i < 200; i++) {
      const part = new Uint8Array(1 + (i * 37) % 500).fill(i & 0xff);
      parts.push(part);
      if (i % 2 === 0) writer.push(part);
      else writer.reserve(part.byteLength).set(part);
    }
    const expected = concat(parts);
    assert.equal(writer.queued, expected.byteLength);
    const got = await within(WAIT_MS, "all bytes", readExactly(b, expected.byteLength));
    assert.deepEqual(got, expected);
    assert.equal(writes(), 1, "200 pushes in one turn, one write");
    assert.equal(queued, 0);
    assert.equal(writer.queued, 0);
    writer.close();
  } finally {
    a.close();
    b.close();
  }
});

Deno.test("transport_writer: a push made as a write completes is not stranded", async () => {
  const [a, b] = await tcpPair();
  try {
    let rounds = 0;
    const writer: TransportWriter = new TransportWriter(a, {
      // Push again just after each write completes (a microtask later, while the writer
      // is still finishing its loop), 50 times.
      written: () => {
        const round = ++rounds;
        if (round < 50) queueMicrotask(() => writer.push(Uint8Array.of(round)));
      },
      error: (err) => assert.fail(String(err)),
    });
    writer.push(Uint8Array.of(0));
    const got = await within(WAIT_MS, "50 bytes", readExactly(b, 50));
    assert.deepEqual([...got], Array.from({ length: 50 }, (_, i) => i));
    writer.close();
  } finally {
    a.close();
    b.close();
  }
});

Deno.test("transport_writer: large batches over TCP arrive whole while the reader is slow", async () => {
  const [a, b] = await tcpPair();
  try {
    const writer = new TransportWriter(a, {
      written: () => {},
      error: (e) => assert.fail(String(e)),
    });
    const big = new Uint8Array(3 << 20);
    for (let i = 0; i < big.length; i += 4096) big[i] = (i / 4096) & 0xff;
    writer.push(big.subarray(0, 1 << 20));
    await new Promise((r) => setTimeout(r, 20));
    writer.push(big.subarray(1 << 20));
    const got = await within(WAIT_MS, "3 MiB", readExactly(b, big.byteLength));
    assert.deepEqual(got, big);
    writer.close();
  } finally {
    a.close();
    b.close();
  }
});

Deno.test("transport_reader: reused reads share one buffer, single-use reads never do", async () => {
  const [a, b] = await tcpPair();
  try {
    const reader = new TransportReader(b);
    await a.write(Uint8Array.of(1, 2, 3));
    const first = (await within(WAIT_MS, "first read", reader.read(false)))!;
    assert.deepEqual([...first], [1, 2, 3]);
    await a.write(Uint8Array.of(4, 5));
    const second = (await within(WAIT_MS, "second read", reader.read(true)))!;
    assert.deepEqual([...second], [4, 5]);
    assert.deepEqual([...first], [1, 2, 3], "a single-use buffer is not written again");
    assert.equal(second.buffer.byteLength, READ_BUFFER_BYTES);
    await a.write(Uint8Array.of(6));
    const third = (await within(WAIT_MS, "third read", reader.read(true)))!;
    assert.equal(third.buffer, second.buffer, "reused reads share the buffer");
    a.close();
    assert.equal(await within(WAIT_MS, "EOF", reader.read(true)), null);
  } finally {
    try {
      a.close();
    } catch {
      // closed above
    }
    b.close();
  }
});
