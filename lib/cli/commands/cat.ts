/**
 * `pigeon cat [DIR] PATH [--version V]`: writes one file of a drive to stdout.
 *
 * @module
 */

import { defineCommand, type Io } from "../command.ts";
import { PigeonError } from "../../errors.ts";
import { UsageError } from "../exit.ts";
import type { Core } from "../../core/core.ts";
import { parseLinkOrKey } from "../../encoding/link.ts";
import { DriveReplication } from "../../net/drive_replication.ts";
import { Swarm } from "../../net/swarm.ts";
import { openLog, storeDir } from "../log_store.ts";
import { describeSwarmEvents, lanScope, parsePeers, parseSeconds } from "./_net.ts";
import { openDrive, parseVersion, resolveDir } from "./_drive.ts";
import { type DriveReader, MAX_SYMLINK_HOPS } from "../../drive/drive.ts";
import type { BlobId } from "../../drive/hyperblobs.ts";
import { normalizePath } from "../../drive/entry.ts";

/** `pigeon cat`. */
export const cat = defineCommand({
  name: "cat",
  summary: "Write a file of a drive (or of one of its versions) to stdout",
  usage: `Usage: pigeon cat [DIR] PATH [--version V]
       pigeon cat LINK[+VERSION]/PATH [--peer HOST:PORT …] [--no-lan] [--timeout S]

Writes the content of the file PATH of the drive in DIR (default: the current
folder) to stdout, as of the latest version or version V; a symlink is
followed. Every block is checked against its hash: if the working file was
changed since that version was recorded, its old content is no longer
available and cat exits with code 3 instead of printing wrong bytes.

With a LINK (hyper://KEY/PATH, or KEY/PATH), the file is fetched from peers
(LAN discovery and --peer): only the blocks of that one file (and the index
blocks leading to it) are downloaded, each verified before it is written.

Options:
  --version V       Read version V instead of the latest
  --peer HOST:PORT  With a LINK: a peer to fetch from (repeatable)
  --no-lan          With a LINK: do not use LAN discovery
  --timeout S       With a LINK: give up after S seconds without progress (default 60)
  --store DIR       With a LINK: where fetched blocks are kept (default: the data folder)`,
  options: {
    version: { type: "string" },
    peer: { type: "string", multiple: true },
    "no-lan": { type: "boolean" },
    timeout: { type: "string" },
    store: { type: "string" },
  },
  positionals: { min: 1, max: 2, names: "[DIR] PATH" },
  stdoutIsData: true,
  async run({ values, positionals }, io) {
    const target = parseCatTarget(positionals);
    if (target.kind === "link") return await catLink(io, target.link, values);
    const drive = await openDrive(io, resolveDir(io, target.dir));
    const version = values.version === undefined
      ? drive.version
      : parseVersion(values.version, "--version");
    const reader = drive.checkout(version);
    const blob = await followLinks(reader, target.path, version);
    try {
      for await (const chunk of reader.blobs.read(blob)) await io.out.write(chunk);
    } catch (err) {
      if (err instanceof PigeonError && err.code === "NOT_AVAILABLE") {
        throw new PigeonError(
          "NOT_AVAILABLE",
          `The content of ${target.path} in version ${version} is no longer available ` +
            `(the file changed since that version was recorded)`,
          { cause: err },
        );
      }
      throw err;
    }
  },
});

/** Default stall bound for `cat LINK`. */
const DEFAULT_CAT_TIMEOUT_S = 60;

/** `cat LINK[+VERSION]/PATH`: fetches exactly one file's blocks from peers. */
async function catLink(
  io: Io,
  text: string,
  values: {
    version?: string;
    peer?: string[];
    "no-lan"?: boolean;
    timeout?: string;
    store?: string;
  },
): Promise<void> {
  // A bare KEY[+VERSION]/PATH reads as the link it abbreviates.
  const link = parseLinkOrKey(/^hyper:\/\//i.test(text) ? text : `hyper://${text}`);
  if (link.path === null) throw new UsageError(`Give a file path in the link: ${text}/PATH`);
  const peers = parsePeers(values.peer);
  const lan = lanScope(io, values["no-lan"]);
  if (peers.length === 0 && !lan) {
    throw new UsageError("give --peer HOST:PORT when LAN discovery is off");
  }
  const timeoutS = values.timeout === undefined
    ? DEFAULT_CAT_TIMEOUT_S
    : parseSeconds(values.timeout, "--timeout");
  const store = storeDir(io, values.store);
  const cores: Core[] = [];
  const db = await openLog(store, link.key);
  cores.push(db);
  const stall = new AbortController();
  io.signal.addEventListener("abort", () => stall.abort(), { once: true });
  let timer = setTimeout(() => stall.abort(), timeoutS * 1000);
  const swarm = new Swarm();
  describeSwarmEvents(swarm, io);
  const replication = new DriveReplication(swarm, db, {
    upload: false,
    downloadDb: false,
    lan: lan ? { ...lan, announce: false } : null,
    signal: stall.signal,
    openBlobs: async (key) => {
      const blobs = await openLog(store, key);
      cores.push(blobs);
      return blobs;
    },
  });
  io.onCleanup(async () => {
    clearTimeout(timer);
    replication.close();
    await swarm.close();
    for (const core of cores) await core.close();
  });
  replication.on((event) => {
    if (event.type !== "block" && event.type !== "upgrade") return;
    clearTimeout(timer);
    timer = setTimeout(() => stall.abort(), timeoutS * 1000);
  });
  await replication.start();
  for (const peer of peers) swarm.addPeer(peer.hostname, peer.port);
  try {
    const version = values.version !== undefined
      ? parseVersion(values.version, "--version")
      : link.version ?? await replication.firstRemoteLength();
    const reader = await replication.checkout(version);
    const blob = await followLinks(reader, link.path, version);
    replication.prefetch(blob.blockOffset, blob.blockOffset + blob.blockLength);
    for await (const chunk of reader.blobs.read(blob)) await io.out.write(chunk);
  } catch (err) {
    if (!stall.signal.aborted || io.signal.aborted) throw err;
    throw new PigeonError("TIMEOUT", `No peer supplied ${link.path} within ${timeoutS} s`);
  }
}

/**
 * The content of the file at `path`, following symlinks the way the file system of a
 * checkout would: a relative target from the link's folder. A target that
 * is absolute or leaves the drive is not followed.
 */
async function followLinks(
  reader: DriveReader,
  path: string,
  version: number,
): Promise<BlobId> {
  let name = normalizePath(path);
  for (let hop = 0; hop <= MAX_SYMLINK_HOPS; hop++) {
    const entry = await reader.entry(name);
    if (entry === null) throw new PigeonError("NOT_FOUND", `No file ${name} in version ${version}`);
    const target = entry.value.linkname;
    if (target === null) {
      if (entry.value.blob === null) {
        throw new PigeonError("NOT_FOUND", `${name} has no content in version ${version}`);
      }
      return entry.value.blob;
    }
    if (target.startsWith("/")) {
      throw new PigeonError("NOT_FOUND", `${name} links to ${target}, outside the drive`);
    }
    const folder = entry.path.slice(0, entry.path.lastIndexOf("/"));
    try {
      name = normalizePath(`${folder}/${target}`);
    } catch {
      throw new PigeonError("NOT_FOUND", `${name} links to ${target}, outside the drive`);
    }
  }
  throw new PigeonError("NOT_FOUND", `More than ${MAX_SYMLINK_HOPS} symlinks from ${path}`);
}

/** What cat was asked to read: a path in a drive folder, or a LINK to fetch. */
export type CatTarget =
  | { kind: "local"; dir: string | undefined; path: string }
  | { kind: "link"; link: string };

/** A key (52 z-base-32 or 64 hex characters), optionally `+VERSION`, then `/PATH`. */
const BARE_KEY_WITH_PATH = /^(?:[a-km-uw-z13-9]{52}|[0-9a-f]{64})(?:\+\d+)?\//i;

/**
 * Tells `cat LINK[+VERSION]/PATH` from `cat [DIR] PATH`: a single argument
 * that starts with `hyper://`, or with a bare key followed by a path, is a LINK.
 */
export function parseCatTarget(positionals: string[]): CatTarget {
  if (positionals.length === 1) {
    const arg = positionals[0]!;
    if (arg.toLowerCase().startsWith("hyper://") || BARE_KEY_WITH_PATH.test(arg)) {
      return { kind: "link", link: arg };
    }
    return { kind: "local", dir: undefined, path: arg };
  }
  return { kind: "local", dir: positionals[0], path: positionals[1]! };
}
