/**
 * `pigeon seed LINK…`: keeps full copies of logs and drives and serves them.
 *
 * @module
 */

import { defineCommand, type Io } from "../command.ts";
import { parseLinkOrKey } from "../../encoding/link.ts";
import { formatLink } from "../../encoding/link.ts";
import type { Core } from "../../core/core.ts";
import { blobsKey } from "../../drive/blobs_key.ts";
import { decodeHeader, HYPERBEE_PROTOCOL } from "../../drive/hyperbee_codec.ts";
import { Swarm } from "../../net/swarm.ts";
import { DEFAULT_PORT } from "../../net/tcp.ts";
import { Replicator } from "../../wire/replicator.ts";
import { openLog, storeDir } from "../log_store.ts";
import {
  describeSwarmEvents,
  lanScope,
  parsePeers,
  parsePort,
  parseSeconds,
  untilDone,
} from "./_net.ts";

/** How often the progress line and events refresh. */
const REPORT_INTERVAL_MS = 1000;

/** `pigeon seed`. */
export const seed = defineCommand({
  name: "seed",
  summary: "Keep full copies of logs or drives and serve them",
  usage: `Usage: pigeon seed LINK… [--peer HOST:PORT …] [--port N] [--host ADDR] [--no-lan]
                   [--timeout S] [--store DIR]

Downloads every block of each LINK (a log from pigeon send, or a drive from
pigeon share / Hyperdrive, whose content log is seeded too), verifies it,
keeps it in the data folder and serves it to anyone who asks, following new
versions live, until interrupted or --timeout seconds pass. Logs this
machine wrote (pigeon send) are served again the same way.

Options:
  --peer HOST:PORT  A peer to fetch from and serve to (repeatable)
  --port N          TCP port to listen on (default ${DEFAULT_PORT}, or a free one if taken)
  --host ADDR       Address to listen on (default 0.0.0.0)
  --no-lan          Do not use LAN discovery (multicast DNS)
  --timeout S       Stop after S seconds (default: run until interrupted)
  --store DIR       Where logs are kept (default: the data folder, see README)

With --json, NDJSON events: listening, seeding, connected, disconnected,
progress (per log), error.`,
  options: {
    peer: { type: "string", multiple: true },
    port: { type: "string" },
    host: { type: "string" },
    "no-lan": { type: "boolean" },
    timeout: { type: "string" },
    store: { type: "string" },
  },
  positionals: { min: 1, max: Infinity, names: "LINK…" },
  async run({ values, positionals }, io) {
    const links = positionals.map((text) => parseLinkOrKey(text));
    const peers = parsePeers(values.peer);
    const timeout = values.timeout === undefined ? null : parseSeconds(values.timeout, "--timeout");
    const port = values.port === undefined ? DEFAULT_PORT : parsePort(values.port);
    const lan = lanScope(io, values["no-lan"]);
    const store = storeDir(io, values.store);

    const swarm = new Swarm();
    const seeded: { name: string; core: Core; replicator: Replicator }[] = [];
    io.onCleanup(async () => {
      for (const s of seeded) s.replicator.close();
      await swarm.close();
      for (const s of seeded) await s.core.close();
    });
    describeSwarmEvents(swarm, io);
    swarm.listen({ hostname: values.host ?? "0.0.0.0", port, fallback: values.port === undefined });

    const add = async (key: Uint8Array, name: string, announce: boolean): Promise<Replicator> => {
      const core = await openLog(store, key);
      const replicator = new Replicator(core, { downloadAll: true });
      seeded.push({ name, core, replicator });
      swarm.add(replicator);
      if (announce && lan) await swarm.joinLan(core.discoveryKey, lan);
      await io.out.event("seeding", { link: name, length: core.length });
      return replicator;
    };

    for (const link of links) {
      const name = formatLink({ key: link.key, version: null, path: null });
      const replicator = await add(link.key, name, true);
      void followDriveContent(replicator, io, (key) => add(key, `${name} (content)`, false));
    }
    for (const peer of peers) swarm.addPeer(peer.hostname, peer.port);
    await io.out.note(`seeding ${links.length} link(s) on port ${swarm.port}; Ctrl-C to stop`);

    const timer = setInterval(() => void report(seeded, io), REPORT_INTERVAL_MS);
    io.onCleanup(() => clearInterval(timer));
    await untilDone(io, timeout);
    await report(seeded, io);
  },
});

/** When a seeded log turns out to be a drive's db (a Hyperbee), seeds its content log too. */
async function followDriveContent(
  replicator: Replicator,
  io: Io,
  add: (key: Uint8Array) => Promise<Replicator>,
): Promise<void> {
  const core = replicator.core;
  let first: Uint8Array;
  try {
    first = await replicator.get(0, io.signal);
  } catch {
    return; // interrupted before the log had a block
  }
  try {
    const header = decodeHeader(first);
    if (header.protocol !== HYPERBEE_PROTOCOL) return;
    const key = blobsKey({ dbKey: core.key, manifest: core.manifest, header, compat: core.compat });
    if (key) await add(key);
  } catch {
    // Not a Hyperbee: a plain log, nothing more to seed.
  }
}

async function report(seeded: { name: string; core: Core }[], io: Io): Promise<void> {
  const parts: string[] = [];
  for (const { name, core } of seeded) {
    const held = core.countHeld();
    parts.push(`${held}/${core.length}`);
    await io.out.event("progress", {
      link: name,
      held,
      length: core.length,
      byteLength: core.byteLength,
    });
  }
  await io.out.progress(`seeding: ${parts.join(", ")} blocks`);
}
