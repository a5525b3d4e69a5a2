"use strict";
// fetch.js — a real hypercore reader dialing a peer over TCP + secret-stream, as the INITIATOR.
//
//   node fetch.js --peer HOST:PORT --key HEX32 (--blocks 3,7,1 | --all)
//        [--live-until-length N] [--out FILE | --quiet] [--timeout-ms MS]
//
// stdout: {"event":"connected","cpu"}, {"event":"update","length","byteLength"} (first upgrade),
//         {"event":"block","index","hex"} per requested block, in the order asked
//           (with --out FILE: the blocks are written there, then {"event":"written","file",
//           "bytes","sha256"}; with --quiet: nothing per block),
//         {"event":"done","length","byteLength","ms","cpu"} — ms from TCP connect to having
//           every requested block, cpu = process.cpuUsage() in µs.
// --all means blocks 0 … length-1 for the length seen at the first upgrade, or at
// --live-until-length N once the peer's length reached N. Exit 3 on timeout.
const fs = require("fs");
const crypto = require("crypto");
const {
  req,
  emit,
  hex,
  fromHex,
  run,
  args,
  intArg,
  parsePeer,
  tmpDir,
  deadline,
  dial,
  failOnClose,
} = require("./_common");

const Hypercore = req("hypercore");

const DEFAULT_TIMEOUT_MS = 60_000;

run(async () => {
  const a = args({
    peer: { type: "string" },
    key: { type: "string" },
    blocks: { type: "string" },
    all: { type: "boolean", default: false },
    "live-until-length": { type: "string" },
    out: { type: "string" },
    quiet: { type: "boolean", default: false },
    "timeout-ms": { type: "string" },
  });
  deadline(intArg(a["timeout-ms"], "timeout-ms", DEFAULT_TIMEOUT_MS), "fetch");
  const key = fromHex(a.key, "key");
  if (key.length !== 32) throw new Error("--key must be 32 bytes of hex");
  if (a.all === (a.blocks !== undefined)) {
    throw new Error("Give exactly one of --blocks or --all");
  }
  const wanted = a.blocks === undefined
    ? null
    : a.blocks.split(",").map((s) => intArg(s, "blocks"));
  const liveUntil = a["live-until-length"] === undefined
    ? null
    : intArg(a["live-until-length"], "live-until-length");

  const core = new Hypercore(tmpDir("fetch"), key); // read-only and sparse by default
  await core.ready();
  // Tell the replicator a peer is coming, so update() waits for it instead of returning.
  const doneFinding = core.findingPeers();

  const stream = await dial(parsePeer(a.peer));
  const t0 = process.hrtime.bigint();
  emit({ event: "connected", cpu: process.cpuUsage() });
  const finished = failOnClose(stream, "fetch");
  core.replicate(stream);

  await core.update({ wait: true });
  doneFinding();
  emit({ event: "update", length: core.length, byteLength: core.byteLength });

  if (liveUntil !== null) {
    // The writer's sync messages make the reader upgrade eagerly and emit 'append'.
    while (core.length < liveUntil) {
      await new Promise((resolve) => core.once("append", resolve));
    }
  }
  const length = liveUntil !== null ? liveUntil : core.length;
  const indexes = wanted || Array.from({ length }, (_, i) => i);

  // One ranged download keeps many requests in flight; get() then reads locally in order.
  if (wanted === null) await core.download({ start: 0, end: length }).done();
  else await Promise.all(indexes.map((i) => core.get(i)));

  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (a.out !== undefined) {
    const fd = fs.openSync(a.out, "w");
    const h = crypto.createHash("sha256");
    let bytes = 0;
    for (const i of indexes) {
      const b = await core.get(i);
      fs.writeSync(fd, b);
      h.update(b);
      bytes += b.length;
    }
    fs.closeSync(fd);
    emit({ event: "written", file: a.out, bytes, sha256: h.digest("hex") });
  } else if (!a.quiet) {
    for (const i of indexes) {
      emit({ event: "block", index: i, hex: hex(await core.get(i)) });
    }
  }

  emit({
    event: "done",
    length: core.length,
    byteLength: core.byteLength,
    ms,
    cpu: process.cpuUsage(),
  });
  finished();
  stream.destroy();
  await core.close();
  process.exit(0);
});
