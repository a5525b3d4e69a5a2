/**
 * `pigeon send [FILE|-]`: turns a file or stdin into a signed log and serves it.
 *
 * @module
 */

import { defineCommand, type Io } from "../command.ts";
import { formatLink } from "../../encoding/link.ts";
import { PigeonError } from "../../errors.ts";
import type { Core } from "../../core/core.ts";
import { DEFAULT_PORT } from "../../net/tcp.ts";
import { createLog, storeDir } from "../log_store.ts";
import { lanScope, parsePort, parseSeconds, startSwarm, untilDone } from "./_net.ts";

/** Block size of logs made by send (Hypercore's and Hyperdrive's 64 KiB). */
export const BLOCK_SIZE = 65536;
/** Blocks signed together when reading to EOF (one signature per batch). */
const BATCH_BLOCKS = 64;
/** With --live, a partial block is appended once input pauses this long. */
const LIVE_FLUSH_MS = 200;

/** `pigeon send`. */
export const send = defineCommand({
  name: "send",
  summary: "Share a file or stdin as a signed log and serve it",
  usage: `Usage: pigeon send [FILE|-] [--live] [--port N] [--host ADDR] [--timeout S] [--store DIR]

Reads FILE (or stdin, with - or nothing) to the end into a new log of 64 KiB
blocks, signs it, prints its link (hyper://…) as the only line on stdout, and
serves it over TCP until interrupted (Ctrl-C) or --timeout seconds pass.
Receive it elsewhere with: pigeon recv LINK --peer HOST:PORT

Options:
  --live          Print the link at once, append input as it arrives, and keep
                  the log open for followers (pigeon recv --live)
  --port N        TCP port to listen on (default ${DEFAULT_PORT}; when the default is
                  taken a free port is used and reported on stderr)
  --host ADDR     Address to listen on (default 0.0.0.0: all interfaces)
  --timeout S     Stop serving after S seconds (default: serve until interrupted)
  --no-lan        Do not announce on the LAN (multicast DNS; see README)
  --store DIR     Where logs are kept (default: the data folder, see README)

With --json, NDJSON events on stderr: listening, log, connected, disconnected,
progress, done, error.`,
  options: {
    live: { type: "boolean" },
    port: { type: "string" },
    host: { type: "string" },
    timeout: { type: "string" },
    store: { type: "string" },
    "no-lan": { type: "boolean" },
  },
  positionals: { min: 0, max: 1, names: "[FILE|-]" },
  stdoutIsData: true,
  async run({ values, positionals }, io) {
    const port = values.port === undefined ? DEFAULT_PORT : parsePort(values.port);
    const timeout = values.timeout === undefined ? null : parseSeconds(values.timeout, "--timeout");
    const input = await openInput(positionals[0], io);
    const core = await createLog(storeDir(io, values.store));
    const link = formatLink({ key: core.key, version: null, path: null });
    const { swarm, replicator } = startSwarm(io, core);
    replicator.on((event) => {
      if (event.type === "upgrade" || event.type === "block") return;
      if (event.type === "invalid") void io.out.warn(`${event.peer.name}: ${event.error.message}`);
    });
    const listenPort = swarm.listen({
      hostname: values.host ?? "0.0.0.0",
      port,
      fallback: values.port === undefined,
    });
    const lan = lanScope(io, values["no-lan"]);
    if (lan) await swarm.joinLan(core.discoveryKey, lan);

    if (values.live) {
      await io.out.write(new TextEncoder().encode(link + "\n"));
      await note(io, core, link, values.host ?? "0.0.0.0", listenPort, true);
      await readInto(core, input, io, true);
      await io.out.event("done", { length: core.length, byteLength: core.byteLength });
      await io.out.note(
        `input ended at ${core.length} blocks, ${core.byteLength} bytes; still serving`,
      );
    } else {
      await readToEnd(core, input, io);
      await io.out.write(new TextEncoder().encode(link + "\n"));
      await note(io, core, link, values.host ?? "0.0.0.0", listenPort, false);
      await io.out.event("done", { length: core.length, byteLength: core.byteLength });
    }
    await untilDone(io, timeout);
  },
});

async function note(io: Io, core: Core, link: string, host: string, port: number, live: boolean) {
  await io.out.event("log", { link, length: core.length, byteLength: core.byteLength, live });
  await io.out.note(
    `serving ${link} on ${host}:${port}` +
      (live ? " (live)" : ` (${core.length} blocks, ${core.byteLength} bytes)`) +
      "; Ctrl-C to stop",
  );
}

async function openInput(path: string | undefined, io: Io): Promise<ReadableStream<Uint8Array>> {
  if (path === undefined || path === "-") return io.stdin;
  try {
    const file = await Deno.open(path, { read: true });
    const info = await file.stat();
    if (info.isDirectory) {
      file.close();
      throw new PigeonError(
        "BAD_ARGUMENT",
        `${path} is a folder; send reads one file or stdin (tar c DIR | pigeon send)`,
      );
    }
    return file.readable;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new PigeonError("BAD_ARGUMENT", `No such file: ${path}`);
    }
    throw err;
  }
}

/**
 * Reads `input` to its end into batches of {@link BATCH_BLOCKS} 64 KiB blocks
 * and appends each batch as it fills. With a byte stream (a file or stdin)
 * the bytes are read straight into the batch buffer and the blocks are views
 * of it, which `Core.append` writes out in one piece (no copy of the data in
 * JavaScript); the next batch is read, and hashed, while this one is stored.
 * Other streams go through {@link readInto}.
 */
async function readToEnd(core: Core, input: ReadableStream<Uint8Array>, io: Io): Promise<void> {
  let reader: ReadableStreamBYOBReader;
  try {
    reader = input.getReader({ mode: "byob" });
  } catch {
    return readInto(core, input, io, false);
  }
  const batchBytes = BATCH_BLOCKS * BLOCK_SIZE;
  let lastProgress = 0;
  // Fills `buffer` (which the reads detach and hand back) as far as the input goes.
  const fill = async (buffer: ArrayBuffer): Promise<Uint8Array> => {
    let filled = 0;
    while (filled < batchBytes && !io.signal.aborted) {
      const { value, done } = await reader.read(new Uint8Array(buffer, filled));
      if (value) {
        buffer = value.buffer as ArrayBuffer;
        filled += value.byteLength;
      }
      if (done) break;
    }
    return new Uint8Array(buffer, 0, filled);
  };
  try {
    // Two appends may be in flight: `append` hashes its batch at once, while
    // the one before is still being written off the main thread. Each batch
    // gets its own buffer, since a batch's bytes are written from it.
    let pending: Promise<unknown> | null = null;
    let batch = await fill(new ArrayBuffer(batchBytes));
    while (batch.byteLength > 0) {
      const next = batch.byteLength === batchBytes ? fill(new ArrayBuffer(batchBytes)) : null;
      const blocks: Uint8Array[] = [];
      for (let at = 0; at < batch.byteLength; at += BLOCK_SIZE) {
        blocks.push(batch.subarray(at, Math.min(at + BLOCK_SIZE, batch.byteLength)));
      }
      const appended = core.append(blocks);
      appended.catch(() => {}); // awaited below; this only keeps it from counting as unhandled
      if (pending) await pending;
      pending = appended;
      if (Date.now() - lastProgress > 250) {
        lastProgress = Date.now();
        await io.out.progress(`read ${core.length} blocks, ${core.byteLength} bytes`);
        await io.out.event("progress", { length: core.length, byteLength: core.byteLength });
      }
      if (next === null) break;
      batch = await next;
    }
    if (pending) await pending;
  } finally {
    reader.releaseLock();
  }
}

/**
 * Cuts `input` into 64 KiB blocks and appends them: in batches when reading to
 * the end, or as soon as data (or a pause in it) arrives with `live`.
 */
async function readInto(
  core: Core,
  input: ReadableStream<Uint8Array>,
  io: Io,
  live: boolean,
): Promise<void> {
  const reader = input.getReader();
  const pending: Uint8Array[] = [];
  let fill = new Uint8Array(BLOCK_SIZE);
  let filled = 0;
  let lastProgress = 0;
  const flush = async (partial: boolean) => {
    if (partial && filled > 0) {
      pending.push(fill.slice(0, filled));
      fill = new Uint8Array(BLOCK_SIZE);
      filled = 0;
    }
    if (pending.length === 0) return;
    await core.append(pending.splice(0));
    if (Date.now() - lastProgress > 250) {
      lastProgress = Date.now();
      await io.out.progress(`read ${core.length} blocks, ${core.byteLength} bytes`);
      await io.out.event("progress", { length: core.length, byteLength: core.byteLength });
    }
  };
  let pausedRead: Promise<ReadableStreamReadResult<Uint8Array>> | null = null;
  try {
    while (!io.signal.aborted) {
      let result: ReadableStreamReadResult<Uint8Array> | null;
      const read: Promise<ReadableStreamReadResult<Uint8Array>> = pausedRead ?? reader.read();
      pausedRead = null;
      if (live && (filled > 0 || pending.length > 0)) {
        result = await Promise.race([read, delay(LIVE_FLUSH_MS, io.signal)]);
        if (result === null) {
          pausedRead = read;
          await flush(true);
          continue;
        }
      } else {
        result = await read;
      }
      if (result === null || result.done) break;
      let chunk: Uint8Array = result.value;
      while (chunk.byteLength > 0) {
        const take = Math.min(BLOCK_SIZE - filled, chunk.byteLength);
        fill.set(chunk.subarray(0, take), filled);
        filled += take;
        chunk = chunk.subarray(take);
        if (filled === BLOCK_SIZE) {
          pending.push(fill);
          fill = new Uint8Array(BLOCK_SIZE);
          filled = 0;
          if (pending.length >= BATCH_BLOCKS) await flush(false);
        }
      }
      if (live) await flush(false);
    }
    await flush(true);
  } finally {
    reader.releaseLock();
  }
}

function delay(ms: number, signal: AbortSignal): Promise<null> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(null), ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve(null);
    }, { once: true });
  });
}
