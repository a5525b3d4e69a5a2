/**
 * TCP, the first transport: listening with a port fallback, and dialing with
 * a bound on connect time. Both hand out `Deno.Conn`s, which are the
 * `ByteStream`s the wire layer runs over.
 *
 * @module
 */

import { PigeonError } from "../errors.ts";

/** pigeon's default port (Dat's). */
export const DEFAULT_PORT = 3282;
/** How long a dial may take before it counts as failed. */
export const DIAL_TIMEOUT_MS = 10_000;

/** A listening TCP socket. */
export interface TcpListener {
  /** The address it listens on. */
  readonly hostname: string;
  /** The port it got (differs from the asked one after a fallback). */
  readonly port: number;
  /** Accepted connections, until closed. */
  accept(): AsyncIterable<Deno.Conn>;
  /** Stops listening. */
  close(): void;
}

/** Options for {@link listenTcp}. */
export interface ListenOptions {
  /** Address to listen on (default all interfaces). */
  hostname?: string;
  /** Port to try first (default {@link DEFAULT_PORT}; 0 = any). */
  port?: number;
  /** When the port is taken, take a free one instead of failing (default false). */
  fallback?: boolean;
}

/** Listens on TCP; with `fallback`, an in-use port falls back to a free one. */
export function listenTcp(options: ListenOptions = {}): TcpListener {
  const hostname = options.hostname ?? "0.0.0.0";
  const port = options.port ?? DEFAULT_PORT;
  let listener: Deno.TcpListener;
  try {
    listener = Deno.listen({ hostname, port, transport: "tcp" });
  } catch (err) {
    if (!(err instanceof Deno.errors.AddrInUse) || !options.fallback) {
      throw new PigeonError(
        "BAD_ARGUMENT",
        `Cannot listen on ${hostname}:${port}: ${message(err)}`,
      );
    }
    listener = Deno.listen({ hostname, port: 0, transport: "tcp" });
  }
  const addr = listener.addr as Deno.NetAddr;
  return {
    hostname: addr.hostname,
    port: addr.port,
    async *accept() {
      try {
        for await (const conn of listener) yield conn;
      } catch (err) {
        if (!(err instanceof Deno.errors.BadResource)) throw err;
      }
    },
    close() {
      try {
        listener.close();
      } catch {
        // already closed
      }
    },
  };
}

/** Connects to `hostname:port`, failing with `NOT_FOUND` after {@link DIAL_TIMEOUT_MS}. */
export async function dialTcp(
  hostname: string,
  port: number,
  timeoutMs = DIAL_TIMEOUT_MS,
): Promise<Deno.Conn> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const connecting = Deno.connect({ hostname, port, transport: "tcp" });
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new PigeonError("NOT_FOUND", `No answer from ${hostname}:${port} within ${timeoutMs} ms`),
        ),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([connecting, timeout]);
  } catch (err) {
    connecting.then((conn) => conn.close(), () => {});
    if (err instanceof PigeonError) throw err;
    throw new PigeonError("NOT_FOUND", `Cannot connect to ${hostname}:${port}: ${message(err)}`);
  } finally {
    clearTimeout(timer);
  }
}

/** Parses `host:port` (IPv6 as `[::1]:port`). */
export function parseHostPort(
  text: string,
  defaultPort = DEFAULT_PORT,
): { hostname: string; port: number } {
  const match = /^\[([^\]]+)\](?::(\d+))?$/.exec(text) ?? /^([^:]+)(?::(\d+))?$/.exec(text);
  const port = match?.[2] === undefined ? defaultPort : Number(match[2]);
  if (!match || !match[1] || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new PigeonError("BAD_ARGUMENT", `Not a host:port address: ${text}`);
  }
  return { hostname: match[1], port };
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
