/**
 * `pigeon recv LINK --peer HOST:PORT`: downloads a log, verifies every block,
 * and writes its bytes in order to stdout or a file.
 *
 * @module
 */

import { defineCommand, type Io } from "../command.ts";
import { UsageError } from "../exit.ts";
import { parseLinkOrKey } from "../../encoding/link.ts";
import { concat } from "../../crypto/bytes.ts";
import { PigeonError } from "../../errors.ts";
import { openLog, storeDir } from "../log_store.ts";
import { lanScope, parsePeers, parseSeconds, startSwarm } from "./_net.ts";

/** Default --timeout: give up after this many seconds without progress. */
export const DEFAULT_RECV_TIMEOUT_S = 60;
/**
 * Blocks already held after the one awaited go out in the same write, up to
 * this many bytes: one output write per ~16 blocks instead of one each keeps
 * the writer ahead of the network (bench/send_recv_vs_hypercore.ts).
 */
const MAX_WRITE_BATCH_BYTES = 1 << 20;

/** `pigeon recv`. */
export const recv = defineCommand({
  name: "recv",
  summary: "Download a log, verify it and write its bytes to stdout or a file",
  usage:
    `Usage: pigeon recv LINK [--peer HOST:PORT …] [--no-lan] [-o FILE] [--live] [--timeout S] [--store DIR]

Finds peers on the LAN (multicast DNS) and at the --peer addresses, downloads the log LINK names, verifies every block
against the signed Merkle tree, and writes the bytes in order to stdout (or
FILE, which appears only once complete). Only verified bytes are written.
Exits 0 once it has the whole log as of the first signed length it saw (or
the version in LINK: hyper://KEY+VERSION).

Options:
  --peer HOST:PORT  A peer to fetch from (repeatable)
  --no-lan          Do not look for peers on the LAN (then --peer is required)
  -o, --output FILE Write to FILE (atomically: temp file + rename)
  --live            Keep following appends after the first length
  --timeout S       Give up after S seconds without progress (default ${DEFAULT_RECV_TIMEOUT_S})
  --store DIR       Where logs are kept (default: the data folder, see README)

Exit codes: 3 when no peer has the log before the timeout, 4 when data failed
verification and no honest peer supplied it.

With --json, NDJSON events on stderr: connected, disconnected, progress, done, error.`,
  options: {
    peer: { type: "string", multiple: true },
    output: { type: "string", short: "o" },
    live: { type: "boolean" },
    timeout: { type: "string" },
    store: { type: "string" },
    "no-lan": { type: "boolean" },
  },
  positionals: { min: 1, max: 1, names: "LINK" },
  stdoutIsData: true,
  async run({ values, positionals }, io) {
    const link = parseLinkOrKey(positionals[0]!);
    const peers = parsePeers(values.peer);
    const lan = lanScope(io, values["no-lan"]);
    if (peers.length === 0 && !lan) {
      throw new UsageError("recv needs --peer HOST:PORT when LAN discovery is off");
    }
    const timeoutS = values.timeout === undefined
      ? DEFAULT_RECV_TIMEOUT_S
      : parseSeconds(values.timeout, "--timeout");

    const core = await openLog(storeDir(io, values.store), link.key);
    const { swarm, replicator } = startSwarm(io, core);

    const stall = new AbortController();
    let invalid: PigeonError | null = null;
    // Progress (every block) only notes the time; the one timer re-arms itself
    // for the rest of the window (setting a timer per block cost ~12 us each).
    let lastProgress = Date.now();
    const progress = () => {
      lastProgress = Date.now();
    };
    const checkStall = () => {
      const idle = Date.now() - lastProgress;
      if (idle >= timeoutS * 1000) stall.abort();
      else timer = setTimeout(checkStall, timeoutS * 1000 - idle);
    };
    let timer = setTimeout(checkStall, timeoutS * 1000);
    io.onCleanup(() => clearTimeout(timer));
    io.signal.addEventListener("abort", () => stall.abort(), { once: true });

    let target: number | null = link.version;
    let resolveTarget: (length: number) => void = () => {};
    const targetKnown = new Promise<number>((resolve) => (resolveTarget = resolve));
    if (target !== null) resolveTarget(target);
    replicator.on((event) => {
      if (event.type === "sync" && target === null) {
        target = Math.max(event.length, core.length);
        resolveTarget(target);
      }
      if (event.type === "upgrade" || event.type === "block") progress();
      if (event.type === "invalid") {
        invalid = event.error;
        void io.out.warn(`dropped ${event.peer.name}: ${event.error.message}`);
      }
    });
    for (const peer of peers) swarm.addPeer(peer.hostname, peer.port);
    if (lan) await swarm.joinLan(core.discoveryKey, { ...lan, announce: false });

    const sink = await openSink(values.output, io);
    let complete = false;
    try {
      const length = await abortable(targetKnown, stall.signal);
      if (values.live) replicator.downloadAll();
      else replicator.download(0, length);
      let written = 0;
      let lastReport = 0;
      for (let next = 0; values.live || next < length; next++) {
        const blocks = [await replicator.get(next, stall.signal)];
        let bytes = blocks[0]!.byteLength;
        while (
          bytes < MAX_WRITE_BATCH_BYTES && (values.live || next + 1 < length) &&
          core.has(next + 1)
        ) {
          const block = core.getSync(++next);
          blocks.push(block);
          bytes += block.byteLength;
        }
        await sink.write(blocks.length === 1 ? blocks[0]! : concat(blocks));
        written += bytes;
        progress();
        if (Date.now() - lastReport > 250) {
          lastReport = Date.now();
          const of = values.live ? `${core.length}` : `${length}`;
          await io.out.progress(`received ${next + 1}/${of} blocks, ${written} bytes`);
          await io.out.event("progress", { blocks: next + 1, length: core.length, bytes: written });
        }
      }
      complete = true;
      await sink.commit();
      await io.out.event("done", { length, bytes: written });
      await io.out.note(`received ${length} blocks, ${written} bytes, all verified`);
    } catch (err) {
      if (!stall.signal.aborted || io.signal.aborted) throw err;
      if (invalid) {
        throw new PigeonError(
          "INVALID_PROOF",
          `Data failed verification and no honest peer supplied it (${
            (invalid as PigeonError).message
          })`,
        );
      }
      const what = target === null ? "No peer had the log" : "Peers stopped sending the log";
      throw new PigeonError(
        "TIMEOUT",
        `${what} within ${timeoutS} s (${core.countHeld()} of ${target ?? "?"} blocks)`,
      );
    } finally {
      if (!complete) await sink.abort();
    }
  },
});

interface Sink {
  write(bytes: Uint8Array): Promise<void>;
  commit(): Promise<void>;
  abort(): Promise<void>;
}

async function openSink(path: string | undefined, io: Io): Promise<Sink> {
  if (path === undefined || path === "-") {
    return {
      write: (bytes) => io.out.write(bytes),
      commit: () => io.out.flush(),
      abort: () => Promise.resolve(),
    };
  }
  const temp = `${path}.pigeon-${crypto.randomUUID().slice(0, 8)}.tmp`;
  const file = await Deno.open(temp, { write: true, createNew: true });
  let closed = false;
  const close = () => {
    if (!closed) file.close();
    closed = true;
  };
  io.onCleanup(async () => {
    close();
    await Deno.remove(temp).catch(() => {});
  });
  return {
    async write(bytes) {
      let done = 0;
      while (done < bytes.byteLength) done += await file.write(bytes.subarray(done));
    },
    async commit() {
      await file.syncData();
      close();
      await Deno.rename(temp, path);
    },
    async abort() {
      close();
      await Deno.remove(temp).catch(() => {});
    },
  };
}

function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new PigeonError("CLOSED", "Aborted"));
    const onAbort = () => reject(new PigeonError("CLOSED", "Aborted"));
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then((v) => {
      signal.removeEventListener("abort", onAbort);
      resolve(v);
    }, reject);
  });
}
