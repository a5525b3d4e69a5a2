/**
 * Option parsing and output shared by the networked commands.
 *
 * @module
 */

import type { Io } from "../command.ts";
import { UsageError } from "../exit.ts";
import type { Core } from "../../core/core.ts";
import { Swarm } from "../../net/swarm.ts";
import { Replicator, type ReplicatorOptions } from "../../wire/replicator.ts";
import { parseHostPort } from "../../net/tcp.ts";

/** Parses a TCP port option. */
export function parsePort(text: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535) {
    throw new UsageError(`--port must be 0…65535, got ${text}`);
  }
  return port;
}

/** Parses a positive number of seconds. */
export function parseSeconds(text: string, flag: string): number {
  const seconds = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || seconds <= 0) {
    throw new UsageError(`${flag} must be a positive number of seconds, got ${text}`);
  }
  return seconds;
}

/** Parses every `--peer HOST:PORT`. */
export function parsePeers(values: string[] | undefined): { hostname: string; port: number }[] {
  return (values ?? []).map((text) => {
    try {
      return parseHostPort(text);
    } catch {
      throw new UsageError(`--peer takes HOST:PORT, got ${text}`);
    }
  });
}

/**
 * A swarm replicating `core`, reporting connections on stderr, and torn down
 * (with the core) when the command ends or is interrupted.
 */
export function startSwarm(
  io: Io,
  core: Core,
  options: ReplicatorOptions = {},
): { swarm: Swarm; replicator: Replicator } {
  io.onCleanup(() => core.close());
  const replicator = new Replicator(core, options);
  const swarm = new Swarm();
  io.onCleanup(async () => {
    replicator.close();
    await swarm.close();
  });
  swarm.add(replicator);
  describeSwarmEvents(swarm, io);
  return { swarm, replicator };
}

/** The environment variable that scopes LAN discovery: off, loopback, or interface addresses. */
export const LAN_ENV = "PIGEON_LAN";

/**
 * Where LAN discovery may run: null when `--no-lan` or `PIGEON_LAN=off`;
 * `PIGEON_LAN=loopback` keeps it on 127.0.0.1 (tests and the example use
 * this, so they never send multicast onto a real network); a comma list
 * names interface addresses; unset means every IPv4 interface.
 */
export function lanScope(io: Io, noLan: boolean | undefined): { interfaces?: string[] } | null {
  if (noLan) return null;
  const value = io.env(LAN_ENV)?.trim();
  if (!value) return {};
  if (value === "off") return null;
  if (value === "loopback") return { interfaces: ["127.0.0.1"] };
  return { interfaces: value.split(",").map((a) => a.trim()).filter((a) => a.length > 0) };
}

/** Reports connections on stderr (notes, or NDJSON events with --json). */
export function describeSwarmEvents(swarm: Swarm, io: Io): void {
  swarm.on((event) => {
    switch (event.type) {
      case "listening":
        void io.out.event("listening", { host: event.hostname, port: event.port });
        break;
      case "connected":
        void io.out.event("connected", { peer: event.name, via: event.via });
        void io.out.note(`connected to ${event.name}`);
        break;
      case "disconnected":
        void io.out.event("disconnected", {
          peer: event.name,
          via: event.via,
          reason: event.reason,
        });
        void io.out.note(`disconnected from ${event.name}: ${event.reason}`);
        break;
      case "dial-failed":
        void io.out.event("dial-failed", {
          peer: event.name,
          via: event.via,
          reason: event.reason,
        });
        break;
      case "lan-found":
        void io.out.event("peer-found", { peer: event.name, via: "lan" });
        break;
      case "lan-error":
        void io.out.event("lan-error", { reason: event.reason });
        void io.out.warn(`LAN discovery is off: ${event.reason}`);
        break;
    }
  });
}

/** Resolves when interrupted, or after `timeoutSeconds` (null: only when interrupted). */
export function untilDone(io: Io, timeoutSeconds: number | null): Promise<void> {
  return new Promise((resolve) => {
    if (io.signal.aborted) return resolve();
    const timer = timeoutSeconds === null ? undefined : setTimeout(done, timeoutSeconds * 1000);
    function done() {
      clearTimeout(timer);
      io.signal.removeEventListener("abort", done);
      resolve();
    }
    io.signal.addEventListener("abort", done, { once: true });
  });
}
