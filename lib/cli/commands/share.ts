/**
 * `pigeon share [DIR]`: makes a folder a drive if needed, records changes,
 * and seeds it — watching the folder and publishing each change as a new
 * version that connected peers receive live.
 *
 * @module
 */

import { defineCommand, type Io } from "../command.ts";
import { equals } from "../../crypto/bytes.ts";
import { FolderDrive } from "../../drive/folder_drive.ts";
import { STATE_DIR, TEMP_PREFIX } from "../../drive/ignore.ts";
import { PigeonError } from "../../errors.ts";
import { DriveReplication } from "../../net/drive_replication.ts";
import { Swarm } from "../../net/swarm.ts";
import { DEFAULT_PORT } from "../../net/tcp.ts";
import { formatBytes, importCallbacks, keysDir, linkOf, resolveDir, summary } from "./_drive.ts";
import {
  describeSwarmEvents,
  lanScope,
  parsePeers,
  parsePort,
  parseSeconds,
  untilDone,
} from "./_net.ts";

/** Quiet time after the last file event before a change is recorded. */
export const WATCH_DEBOUNCE_MS = 300;
/** A full rescan this often, because watchers drop events (e.g. on `rm -r`). */
export const RESCAN_INTERVAL_MS = 30_000;
/** How often the status line refreshes. */
const STATUS_INTERVAL_MS = 1000;

/** `pigeon share`. */
export const share = defineCommand({
  name: "share",
  summary: "Share a folder: record changes and seed them to peers live",
  usage: `Usage: pigeon share [DIR] [--port N] [--host ADDR] [--peer HOST:PORT …] [--no-lan]
                    [--no-watch] [--timeout S]

Makes DIR (default: the current folder) a drive if it is not one, records
its changes as a new version, prints the drive's link as the first line of
stdout, and serves it: it listens on TCP, announces itself on the LAN
(multicast DNS; only a hash of the key is announced), watches the folder and
records each change as a new version that connected peers receive live.
Clone it elsewhere with: pigeon clone LINK

Options:
  --port N          TCP port (default ${DEFAULT_PORT}; a free one when that is taken)
  --host ADDR       Address to listen on (default 0.0.0.0)
  --peer HOST:PORT  Also connect to this peer (repeatable)
  --no-lan          Do not announce on the LAN
  --no-watch        Do not watch the folder (serve the current version only)
  --timeout S       Stop after S seconds (default: run until interrupted)

With --json, NDJSON events on stderr: listening, version, connected,
disconnected, error. The link is always the first line of stdout.`,
  options: {
    port: { type: "string" },
    host: { type: "string" },
    peer: { type: "string", multiple: true },
    "no-lan": { type: "boolean" },
    "no-watch": { type: "boolean" },
    timeout: { type: "string" },
  },
  positionals: { min: 0, max: 1, names: "[DIR]" },
  stdoutIsData: true,
  async run({ values, positionals }, io) {
    const port = values.port === undefined ? DEFAULT_PORT : parsePort(values.port);
    const timeout = values.timeout === undefined ? null : parseSeconds(values.timeout, "--timeout");
    const peers = parsePeers(values.peer);
    const lan = lanScope(io, values["no-lan"]);
    const dir = resolveDir(io, positionals[0]);
    const folder = await openOrCreate(io, dir);
    await shareFolder(io, folder, {
      port,
      fallback: values.port === undefined,
      host: values.host ?? "0.0.0.0",
      peers,
      lan,
      watch: !values["no-watch"],
      timeout,
    });
  },
});

async function openOrCreate(io: Io, dir: string): Promise<FolderDrive> {
  if (!FolderDrive.isDrive(dir)) {
    Deno.mkdirSync(dir, { recursive: true });
    const created = await FolderDrive.create(dir, { keysDir: keysDir(io) });
    io.onCleanup(() => created.close());
    return created;
  }
  const folder = await FolderDrive.open(dir, { keysDir: keysDir(io), writable: true });
  io.onCleanup(() => folder.close());
  if (folder.kind !== "writer") {
    throw new PigeonError("NOT_WRITABLE", `${dir} is a clone; use pigeon pull or pigeon sync`);
  }
  return folder;
}

/** How {@link shareFolder} serves. */
export interface ShareOptions {
  port: number;
  fallback: boolean;
  host: string;
  peers: { hostname: string; port: number }[];
  lan: { interfaces?: string[] } | null;
  watch: boolean;
  timeout: number | null;
}

/** Records changes, then serves the writer folder until interrupted (see the command's help). */
export async function shareFolder(
  io: Io,
  folder: FolderDrive,
  options: ShareOptions,
): Promise<void> {
  await record(io, folder);
  await io.out.write(new TextEncoder().encode(linkOf(folder) + "\n"));

  const swarm = new Swarm();
  describeSwarmEvents(swarm, io);
  const replication = new DriveReplication(swarm, folder.db, {
    downloadDb: false,
    lan: options.lan,
    openBlobs: (key) => {
      const blobs = folder.blobs;
      if (!blobs || !equals(blobs.key, key)) {
        return Promise.reject(
          new PigeonError("CORRUPT_STORAGE", "The drive's content log does not match"),
        );
      }
      return Promise.resolve(blobs);
    },
  });
  io.onCleanup(async () => {
    replication.close();
    await swarm.close();
  });
  const listenPort = swarm.listen({
    hostname: options.host,
    port: options.port,
    fallback: options.fallback,
  });
  await replication.start();
  await replication.content();
  for (const peer of options.peers) swarm.addPeer(peer.hostname, peer.port);
  await io.out.note(
    `sharing ${folder.dir} as ${linkOf(folder)} (version ${folder.version}) on ` +
      `${options.host}:${listenPort}${options.lan ? ", announced on the LAN" : ""}; Ctrl-C to stop`,
  );

  const status = setInterval(() => {
    void io.out.progress(`version ${folder.version}, ${swarm.connections} peers`);
  }, STATUS_INTERVAL_MS);
  io.onCleanup(() => clearInterval(status));
  if (options.watch) watchFolder(io, folder);
  await untilDone(io, options.timeout);
}

/** Records the folder's changes as a new version, reporting what changed. */
async function record(io: Io, folder: FolderDrive): Promise<void> {
  const result = await folder.add(importCallbacks(io));
  if (result.version === result.previous) return;
  await io.out.event("version", {
    version: result.version,
    added: result.changes.filter((c) => c.type === "add").length,
    changed: result.changes.filter((c) => c.type === "change").length,
    deleted: result.changes.filter((c) => c.type === "delete").length,
    bytes: result.bytesAppended,
  });
  await io.out.note(
    `version ${result.version}: ${summary(result.changes)}, ${formatBytes(result.bytesAppended)}`,
  );
}

/**
 * Watches the folder (debounced) and rescans it periodically; each change
 * becomes a version. Imports never overlap: a change during one runs next.
 */
function watchFolder(io: Io, folder: FolderDrive): void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let running: Promise<void> | null = null;
  let again = false;
  const run = () => {
    if (running) {
      again = true;
      return;
    }
    running = record(io, folder)
      .catch((err) => void io.out.warn(`could not record changes: ${(err as Error).message}`))
      .finally(() => {
        running = null;
        if (again) {
          again = false;
          run();
        }
      });
  };
  const schedule = () => {
    clearTimeout(timer);
    timer = setTimeout(run, WATCH_DEBOUNCE_MS);
  };
  const rescan = setInterval(run, RESCAN_INTERVAL_MS);
  let watcher: Deno.FsWatcher | null = null;
  try {
    watcher = Deno.watchFs(folder.dir, { recursive: true });
  } catch (err) {
    void io.out.warn(
      `not watching ${folder.dir} (${(err as Error).message}); rescanning every ${
        RESCAN_INTERVAL_MS / 1000
      } s`,
    );
  }
  const ignored = (path: string) =>
    path.includes(`/${STATE_DIR}/`) || path.endsWith(`/${STATE_DIR}`) ||
    path.split("/").at(-1)!.startsWith(TEMP_PREFIX);
  const watching = (async () => {
    if (!watcher) return;
    for await (const event of watcher) {
      if (event.kind === "access") continue;
      if (event.paths.every(ignored)) continue;
      schedule();
    }
  })();
  io.onCleanup(async () => {
    clearTimeout(timer);
    clearInterval(rescan);
    watcher?.close();
    await watching.catch(() => {});
    await running;
  });
}
