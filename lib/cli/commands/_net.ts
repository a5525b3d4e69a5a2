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
