/**
 * `pigeon sync [DIR]`: share for a writable drive, pull --live for a clone.
 *
 * @module
 */

import { defineCommand } from "../command.ts";
import { fetchDrive } from "./_drive_net.ts";
import { openDrive, resolveDir } from "./_drive.ts";
import { lanScope, parsePeers, parsePort, parseSeconds } from "./_net.ts";
import { DEFAULT_PORT } from "../../net/tcp.ts";
import { fetchOptions } from "./clone.ts";
import { shareFolder } from "./share.ts";

/** `pigeon sync`. */
export const sync = defineCommand({
  name: "sync",
  summary: "Keep a folder in sync: share a drive you write, follow one you cloned",
  usage: `Usage: pigeon sync [DIR] [--peer HOST:PORT …] [--port N] [--no-lan] [--timeout S]

For a drive this machine writes, the same as pigeon share DIR: record and
serve changes live. For a cloned drive, the same as pigeon pull --live DIR:
follow new versions as they are published, and serve what it has.

Options:
  --peer HOST:PORT  A peer to connect to (repeatable; LAN peers are found too)
  --port N          TCP port to serve on (default ${DEFAULT_PORT}, or a free one)
  --no-lan          Do not use LAN discovery (multicast DNS)
  --timeout S       Stop after S seconds (default: run until interrupted)`,
  options: {
    peer: { type: "string", multiple: true },
    port: { type: "string" },
    "no-lan": { type: "boolean" },
    timeout: { type: "string" },
  },
  positionals: { min: 0, max: 1, names: "[DIR]" },
  stdoutIsData: true,
  async run({ values, positionals }, io) {
    const folder = await openDrive(io, resolveDir(io, positionals[0]), true);
    if (folder.kind === "writer") {
      await shareFolder(io, folder, {
        port: values.port === undefined ? DEFAULT_PORT : parsePort(values.port),
        fallback: values.port === undefined,
        host: "0.0.0.0",
        peers: parsePeers(values.peer),
        lan: lanScope(io, values["no-lan"]),
        watch: true,
        timeout: values.timeout === undefined ? null : parseSeconds(values.timeout, "--timeout"),
      });
      return;
    }
    await fetchDrive(io, folder, fetchOptions(io, { ...values, live: true }, null));
  },
});
