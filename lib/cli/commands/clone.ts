/**
 * `pigeon clone LINK [DIR]`: fetches a drive into a new folder.
 *
 * @module
 */

import { defineCommand, type Io } from "../command.ts";
import { UsageError } from "../exit.ts";
import { parseLinkOrKey } from "../../encoding/link.ts";
import { encodeKey } from "../../encoding/id.ts";
import { equals } from "../../crypto/bytes.ts";
import { FolderDrive } from "../../drive/folder_drive.ts";
import { PigeonError } from "../../errors.ts";
import { DEFAULT_FETCH_TIMEOUT_S, DEFAULT_PORT, fetchDrive } from "./_drive_net.ts";
import { keysDir, resolveDir } from "./_drive.ts";
import { lanScope, parsePeers, parsePort, parseSeconds } from "./_net.ts";

/** Options clone, pull and sync share. */
export const FETCH_OPTIONS = {
  peer: { type: "string", multiple: true },
  select: { type: "string", multiple: true },
  live: { type: "boolean" },
  "no-upload": { type: "boolean" },
  "no-lan": { type: "boolean" },
  port: { type: "string" },
  timeout: { type: "string" },
} as const;

/** Help text for {@link FETCH_OPTIONS}. */
export const FETCH_OPTIONS_HELP =
  `  --peer HOST:PORT  A peer to fetch from (repeatable; LAN peers are found too)
  --select PATTERN  Fetch only matching paths (gitignore syntax, repeatable);
                    only their blocks are downloaded
  --live            Keep following new versions after the first
  --no-upload       Do not serve what this folder has to others
  --no-lan          Do not use LAN discovery (multicast DNS)
  --port N          TCP port to serve on (default ${DEFAULT_PORT}, or a free one)
  --timeout S       Give up after S seconds without progress (default
                    ${DEFAULT_FETCH_TIMEOUT_S}); with --live, stop after S seconds`;

/** Parsed {@link FETCH_OPTIONS}. */
export function fetchOptions(
  io: Io,
  values: {
    peer?: string[];
    select?: string[];
    live?: boolean;
    "no-upload"?: boolean;
    "no-lan"?: boolean;
    port?: string;
    timeout?: string;
  },
  version: number | null,
) {
  const peers = parsePeers(values.peer);
  const lan = lanScope(io, values["no-lan"]);
  if (peers.length === 0 && !lan) {
    throw new UsageError("give --peer HOST:PORT when LAN discovery is off");
  }
  const timeout = values.timeout === undefined ? null : parseSeconds(values.timeout, "--timeout");
  return {
    peers,
    lan,
    select: values.select ?? [],
    live: values.live ?? false,
    upload: !values["no-upload"],
    timeoutS: values.live ? DEFAULT_FETCH_TIMEOUT_S : timeout ?? DEFAULT_FETCH_TIMEOUT_S,
    liveTimeoutS: values.live ? timeout : null,
    version,
    port: values.port === undefined ? DEFAULT_PORT : parsePort(values.port),
  };
}

/** `pigeon clone`. */
export const clone = defineCommand({
  name: "clone",
  summary: "Fetch a drive into a new folder and verify every file",
  usage: `Usage: pigeon clone LINK [DIR] [--peer HOST:PORT …] [--select PATTERN …] [--live]

Finds peers (on the LAN, or at --peer addresses), downloads the latest version
of the drive LINK (or hyper://KEY+VERSION), verifies every block against the
writer's signature, and writes the files into DIR (default: pigeon-<id>, a
new folder). Files appear only complete (temp file + rename); a verification
failure never lands in the folder. An interrupted clone resumes with
pigeon pull, without downloading again what it already verified. While it
runs, the clone serves what it has to other peers.

Options:
${FETCH_OPTIONS_HELP}

Exit codes: 3 when no peer has the drive in time, 4 when data failed
verification and no honest peer supplied it.
With --json, NDJSON events: connected, disconnected, file, version, done, error.`,
  options: FETCH_OPTIONS,
  positionals: { min: 1, max: 2, names: "LINK [DIR]" },
  async run({ values, positionals }, io) {
    const link = parseLinkOrKey(positionals[0]!);
    const options = fetchOptions(io, values, link.version);
    const dir = resolveDir(io, positionals[1] ?? `pigeon-${encodeKey(link.key).slice(0, 8)}`);
    let folder: FolderDrive;
    if (FolderDrive.isDrive(dir)) {
      folder = await FolderDrive.open(dir, { keysDir: keysDir(io), writable: true });
      if (!equals(folder.key, link.key)) {
        await folder.close();
        throw new PigeonError(
          "BAD_ARGUMENT",
          `${dir} is a different drive; clone into a new folder`,
        );
      }
    } else {
      folder = await FolderDrive.createClone(dir, link.key, { keysDir: keysDir(io) });
    }
    io.onCleanup(() => folder.close());
    await io.out.note(`cloning into ${dir}`);
    await fetchDrive(io, folder, options);
  },
});
