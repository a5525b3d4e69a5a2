/**
 * What clone, pull and sync share: joining the swarm for a folder drive,
 * mirroring the latest (or a given) version into the folder, following new
 * versions live, and turning stalls and bad peers into exit codes.
 *
 * @module
 */

import type { Io } from "../command.ts";
import { equals } from "../../crypto/bytes.ts";
import { PigeonError } from "../../errors.ts";
import type { FolderDrive } from "../../drive/folder_drive.ts";
import { IgnoreRules, STATE_DIR } from "../../drive/ignore.ts";
import { DriveReplication } from "../../net/drive_replication.ts";
import { type MirrorResult, mirrorVersion } from "../../net/mirror.ts";
import { type LanOptions, Swarm } from "../../net/swarm.ts";
import { DEFAULT_PORT } from "../../net/tcp.ts";
import { describeSwarmEvents } from "./_net.ts";
import { formatBytes } from "./_drive.ts";

/** Default stall bound: give up after this many seconds without progress. */
export const DEFAULT_FETCH_TIMEOUT_S = 60;
/** How often progress is reported. */
const REPORT_INTERVAL_MS = 500;

/** Options of {@link fetchDrive}. */
export interface FetchOptions {
  peers: { hostname: string; port: number }[];
  lan: LanOptions | null;
  /** Glob patterns (gitignore syntax) of paths to fetch; empty = everything. */
  select: string[];
  live: boolean;
  /** Serve what we have to others (default true). */
  upload: boolean;
  /** Stall bound in seconds (until the first complete mirror); in live mode, overall limit or null. */
  timeoutS: number;
  /** Mirror exactly this version instead of the latest. */
  version: number | null;
  /** TCP port to listen on for uploads (null: do not listen). */
  port: number | null;
  /** With `live`, stop (exit 0) after this many seconds; null: until interrupted. */
  liveTimeoutS: number | null;
}

/** Turns `--select` patterns into a path predicate (a folder pattern selects what is inside it). */
export function selector(patterns: string[]): ((path: string) => boolean) | undefined {
  if (patterns.length === 0) return undefined;
  const rules = new IgnoreRules(patterns, { defaults: false });
  return (path) => {
    const parts = path.slice(1).split("/");
    for (let i = 1; i < parts.length; i++) {
      if (rules.ignores(parts.slice(0, i).join("/"), true)) return true;
    }
    return rules.ignores(parts.join("/"), false);
  };
}

/**
 * Fetches the drive of `folder` from peers into its folder; resolves after the
 * first complete mirror, or (live) when interrupted or the timeout passes.
 */
export async function fetchDrive(
  io: Io,
  folder: FolderDrive,
  options: FetchOptions,
): Promise<void> {
  const stall = new AbortController();
  io.signal.addEventListener("abort", () => stall.abort(), { once: true });
  const swarm = new Swarm();
  describeSwarmEvents(swarm, io);
  const attempts = trackAttempts(swarm, options.lan !== null);
  const replication = new DriveReplication(swarm, folder.db, {
    upload: options.upload,
    lan: options.lan ? { ...options.lan, announce: options.upload } : null,
    signal: stall.signal,
    openBlobs: async (key) => {
      const blobs = await folder.openBlobs();
      if (!equals(blobs.key, key)) {
        throw new PigeonError("INVALID_PROOF", "Content log key mismatch");
      }
      return blobs;
    },
  });
  io.onCleanup(async () => {
    replication.close();
    await swarm.close();
  });
  if (options.upload && options.port !== null) {
    swarm.listen({ hostname: "0.0.0.0", port: options.port, fallback: true });
  }

  let invalid: PigeonError | null = null;
  let blocks = 0;
  let bytes = 0;
  let stalling = true; // the stall bound applies until the first complete mirror
  // Progress (every block) only notes the time; the one timer re-arms itself
  // for the rest of the window (setting a timer per block cost ~12 us each).
  let lastProgress = Date.now();
  const progress = () => {
    lastProgress = Date.now();
  };
  const checkStall = () => {
    if (!stalling) return;
    const idle = Date.now() - lastProgress;
    if (idle >= options.timeoutS * 1000) stall.abort();
    else timer = setTimeout(checkStall, options.timeoutS * 1000 - idle);
  };
  let timer = setTimeout(checkStall, options.timeoutS * 1000);
  io.onCleanup(() => clearTimeout(timer));
  replication.on((event) => {
    if (event.type === "block" || event.type === "upgrade") progress();
    if (event.type === "block" && event.core === "blobs") {
      blocks++;
      bytes += event.bytes;
    }
    if (event.type === "invalid") {
      invalid = event.error;
      void io.out.warn(`dropped ${event.peer.name}: ${event.error.message}`);
    }
  });
  await replication.start();
  for (const peer of options.peers) swarm.addPeer(peer.hostname, peer.port);

  const report = setInterval(() => {
    void io.out.progress(
      `version ${folder.db.length}: ${blocks} blocks, ${
        formatBytes(bytes)
      } received, ${swarm.connections} peers`,
    );
  }, REPORT_INTERVAL_MS);
  io.onCleanup(() => clearInterval(report));
  const statePath = `${folder.dir}/${STATE_DIR}/mirror.json`;
  const select = selector(options.select);
  const mirror = async (version: number): Promise<MirrorResult> => {
    const result = await mirrorVersion(replication, version, folder.dir, statePath, {
      signal: stall.signal,
      ...(select ? { select } : {}),
      onFile: (path, size) => void io.out.event("file", { path, bytes: size }),
    });
    await io.out.event("version", {
      version,
      files: result.files,
      symlinks: result.symlinks,
      unchanged: result.unchanged,
      removed: result.removed.length,
      blocks,
      bytes,
    });
    await io.out.note(
      `version ${version}: ${result.files} files written (${formatBytes(result.bytes)}), ` +
        `${result.unchanged} unchanged, ${result.removed.length} removed; ` +
        `${blocks} blocks received`,
    );
    return result;
  };

  try {
    const target = options.version ?? await replication.firstRemoteLength();
    if (target > 0) await mirror(target);
    await io.out.event("done", { version: target, blocks, bytes });
    if (!options.live) return;
    stalling = false;
    clearTimeout(timer);
    if (options.liveTimeoutS !== null) {
      timer = setTimeout(() => stall.abort(), options.liveTimeoutS * 1000);
    }
    await follow(stall.signal, folder, mirror);
  } catch (err) {
    if (!stall.signal.aborted || io.signal.aborted) throw err;
    if (!stalling) return; // the live run reached its --timeout
    if (invalid) {
      throw new PigeonError(
        "INVALID_PROOF",
        `Data failed verification and no honest peer supplied it (${
          (invalid as PigeonError).message
        })`,
      );
    }
    throw new PigeonError(
      "TIMEOUT",
      folder.db.length === 0
        ? `No peer had the drive within ${options.timeoutS} s (${attempts()})`
        : `Peers stopped sending within ${options.timeoutS} s (${blocks} blocks received; ${attempts()})`,
    );
  }
}

/**
 * Follows how peers were tried, for error messages: names each path taken
 * (`--peer`, LAN, inbound) and why a dial failed, e.g. "--peer 10.0.0.9:3282:
 * Connection refused; LAN: no peer found".
 */
function trackAttempts(swarm: Swarm, lan: boolean): () => string {
  const failed = new Map<string, string>();
  const connected = new Set<string>();
  let found = 0;
  swarm.on((event) => {
    if (event.type === "dial-failed") failed.set(`${via(event.via)} ${event.name}`, event.reason);
    if (event.type === "connected") connected.add(event.name);
    if (event.type === "lan-found") found++;
  });
  return () => {
    const parts = [...failed].map(([name, reason]) => `${name}: ${reason}`);
    if (connected.size > 0) parts.push(`connected to ${[...connected].join(", ")}`);
    parts.push(lan ? `LAN: ${found} peer${found === 1 ? "" : "s"} found` : "LAN discovery off");
    return parts.join("; ");
  };
}

function via(source: "peer" | "lan" | "inbound"): string {
  return source === "peer" ? "--peer" : source === "lan" ? "LAN peer" : "inbound";
}

/** Mirrors each new version as it is signed, until `signal` aborts. */
async function follow(
  signal: AbortSignal,
  folder: FolderDrive,
  mirror: (v: number) => Promise<unknown>,
): Promise<void> {
  let mirrored = folder.db.length;
  while (!signal.aborted) {
    await new Promise<void>((resolve) => {
      if (folder.db.length > mirrored) return resolve();
      const off = folder.db.onUpdate((u) => {
        if (!u.upgraded) return;
        off();
        signal.removeEventListener("abort", stop);
        resolve();
      });
      const stop = () => {
        off();
        resolve();
      };
      signal.addEventListener("abort", stop, { once: true });
    });
    if (signal.aborted) return;
    mirrored = folder.db.length;
    await mirror(mirrored);
  }
}

export { DEFAULT_PORT };
