"use strict";
// serve.js — a real hypercore seeding over TCP + secret-stream, as the RESPONDER.
//
//   node serve.js --seed HEX32 [--compat] [--port 0] [--host 127.0.0.1]
//        (--blocks-hex-file F | --count N --size S --data-seed X)
//        [--live-append-ms MS [--live-max K]] [--lifetime-ms MS]
//
// stdout: {"event":"listening","port","key","discoveryKey","length","byteLength","cpu"}
//         {"event":"connection"|"disconnected"|"stream-error", …} per peer
//         {"event":"appended","length"} per live append
//         {"event":"exit","cpu":{user,system} (µs)} on shutdown
// Runs until SIGTERM/SIGINT, stdin closing, or --lifetime-ms. No DHT: each TCP socket
// is wrapped in a NoiseSecretStream and handed to core.replicate().
const fs = require("fs");
const {
  req,
  emit,
  hex,
  fromHex,
  run,
  args,
  intArg,
  tmpDir,
  deadline,
  onShutdown,
  bounded,
  listen,
  DataStream,
} = require("./_common");

const Hypercore = req("hypercore");
const crypto = req("hypercore-crypto");

/** Blocks per append() while loading (one signature per append). */
const LOAD_BATCH = 64;
/** Upper bound on how long a server stays up unless told otherwise. */
const DEFAULT_LIFETIME_MS = 10 * 60_000;
/** Bound on live appends so a forgotten server stops growing. */
const DEFAULT_LIVE_MAX = 1000;

run(async () => {
  const a = args({
    seed: { type: "string" },
    compat: { type: "boolean", default: false },
    port: { type: "string", default: "0" },
    host: { type: "string", default: "127.0.0.1" },
    "blocks-hex-file": { type: "string" },
    count: { type: "string" },
    size: { type: "string" },
    "data-seed": { type: "string" },
    "live-append-ms": { type: "string" },
    "live-max": { type: "string" },
    "lifetime-ms": { type: "string" },
  });
  deadline(
    intArg(a["lifetime-ms"], "lifetime-ms", DEFAULT_LIFETIME_MS),
    "serve lifetime",
  );
  const seed = fromHex(a.seed, "seed");
  if (seed.length !== 32) throw new Error("--seed must be 32 bytes of hex");

  const core = new Hypercore(tmpDir("serve"), {
    keyPair: crypto.keyPair(seed),
    compat: a.compat ? true : undefined,
  });
  await core.ready();

  // Data source: a file of hex lines, or N blocks of S bytes from the AES-CTR generator.
  let data = null;
  if (a["blocks-hex-file"] !== undefined) {
    const lines = fs.readFileSync(a["blocks-hex-file"], "utf8").split("\n")
      .filter((l) => l.trim() !== "");
    const blocks = lines.map((l, i) => fromHex(l.trim(), "line " + (i + 1)));
    for (let i = 0; i < blocks.length; i += LOAD_BATCH) {
      await core.append(blocks.slice(i, i + LOAD_BATCH));
    }
  } else {
    const count = intArg(a.count, "count");
    const size = intArg(a.size, "size");
    if (a["data-seed"] === undefined) {
      throw new Error("Missing --data-seed (or --blocks-hex-file)");
    }
    data = { stream: new DataStream(a["data-seed"]), size };
    for (let i = 0; i < count; i += LOAD_BATCH) {
      const batch = [];
      for (let j = i; j < Math.min(count, i + LOAD_BATCH); j++) {
        batch.push(data.stream.next(size));
      }
      await core.append(batch);
    }
  }

  const server = await listen(
    { host: a.host, port: intArg(a.port, "port") },
    (stream) => {
      core.replicate(stream);
    },
  );
  emit({
    event: "listening",
    host: a.host,
    port: server.address().port,
    key: hex(core.key),
    discoveryKey: hex(core.discoveryKey),
    length: core.length,
    byteLength: core.byteLength,
    cpu: process.cpuUsage(),
  });

  // Live appends continue the generator, or append "live block <i>" when loaded from a file.
  let timer = null;
  if (a["live-append-ms"] !== undefined) {
    const every = intArg(a["live-append-ms"], "live-append-ms");
    let left = intArg(a["live-max"], "live-max", DEFAULT_LIVE_MAX);
    let busy = false;
    timer = setInterval(async () => {
      if (busy) return;
      if (left-- <= 0) {
        clearInterval(timer);
        return;
      }
      busy = true;
      const block = data ? data.stream.next(data.size) : Buffer.from("live block " + core.length);
      try {
        await core.append(block);
        emit({ event: "appended", length: core.length });
      } catch (err) {
        process.stderr.write("live append failed: " + err.message + "\n");
        process.exit(1);
      }
      busy = false;
    }, every);
  }

  onShutdown(async () => {
    if (timer) clearInterval(timer);
    emit({ event: "exit", cpu: process.cpuUsage() });
    server.closeAll();
    await bounded(core.close());
    process.exit(0);
  });
});
