/**
 * Child process for the discovery tests: runs one {@link LanDiscovery} and
 * prints JSON lines on stdout until its stdin closes or `--max-ms` passes.
 *
 * Usage: `deno run -A --unstable-net tests/lan/_discover_child.ts --key <64 hex>
 *   [--port <tcp port>] [--interface <ipv4>]… [--mdns-port <udp port>] [--max-ms <ms>]`
 *
 * Lines: `{"event":"ready","pid","interfaces","name"}`, then
 * `{"event":"peer","host","port","via","ms"}` (ms since start() was called) or
 * `{"event":"lost",…}`, and last `{"event":"closed","stats":{…}}`.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { fromHex } from "../../lib/crypto/bytes.ts";
import { LanDiscovery, type LanDiscoveryOptions } from "../../lib/net/lan_discovery.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    key: { type: "string" },
    port: { type: "string" },
    interface: { type: "string", multiple: true },
    "mdns-port": { type: "string" },
    "max-ms": { type: "string", default: "60000" },
  },
});

const encoder = new TextEncoder();
function emit(event: Record<string, unknown>): void {
  Deno.stdout.writeSync(encoder.encode(JSON.stringify(event) + "\n"));
}

const options: LanDiscoveryOptions = { discoveryKey: fromHex(values.key ?? "") };
if (values.port !== undefined) options.port = Number(values.port);
if (values.interface !== undefined) options.interfaces = values.interface;
if (values["mdns-port"] !== undefined) options.mdnsPort = Number(values["mdns-port"]);

const lan = new LanDiscovery(options);
let started = 0;
lan.onpeer = (peer) =>
  emit({ event: "peer", ...peer, ms: Math.round(performance.now() - started) });
lan.onlost = (peer) =>
  emit({ event: "lost", ...peer, ms: Math.round(performance.now() - started) });
lan.onerror = (err) => emit({ event: "error", message: String(err) });

started = performance.now();
await lan.start();
emit({ event: "ready", pid: Deno.pid, interfaces: lan.interfaces, name: lan.name });

// Stop when the parent closes stdin, or at the latest after --max-ms.
let timer: ReturnType<typeof setTimeout> | undefined;
await Promise.race([
  (async () => {
    for await (const _ of Deno.stdin.readable) { /* only EOF matters */ }
  })(),
  new Promise<void>((resolve) => timer = setTimeout(resolve, Number(values["max-ms"]))),
]);
clearTimeout(timer);
await lan.close();
emit({ event: "closed", stats: lan.stats });
Deno.exit(0);
