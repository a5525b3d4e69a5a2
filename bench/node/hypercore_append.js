"use strict";
// Reference benchmark: append N bytes into a fresh on-disk hypercore 11.
//
//   node bench/node/hypercore_append.js --bytes N [--block 65536] [--batch 1|16]
//
// The pseudo-random data (AES-CTR stream, tests/interop/_common.js) is generated before the
// clock starts; the timed part is the append() calls (batch blocks per call, one signature
// per call) and nothing else. Prints one JSON line.
const { req, emit, run, args, intArg, tmpDir, DataStream, mbps, round3 } = require("./_bench");

const Hypercore = req("hypercore");
const crypto = req("hypercore-crypto");

run(async () => {
  const a = args({
    bytes: { type: "string" },
    block: { type: "string" },
    batch: { type: "string" },
  });
  const bytes = intArg(a.bytes, "bytes");
  const block = intArg(a.block, "block", 65536);
  const batch = intArg(a.batch, "batch", 1);
  if (block === 0 || batch === 0) throw new Error("--block and --batch must be positive");
  const count = Math.ceil(bytes / block);

  const data = new DataStream("hypercore_append");
  const blocks = [];
  for (let i = 0; i < count; i++) blocks.push(data.next(Math.min(block, bytes - i * block)));

  const core = new Hypercore(tmpDir("bench-append"), {
    keyPair: crypto.keyPair(Buffer.alloc(32, 1)),
  });
  await core.ready();
  const rssBefore = process.memoryUsage().rss;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < count; i += batch) await core.append(blocks.slice(i, i + batch));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  const tc = process.hrtime.bigint();
  await core.close();
  const closeSeconds = Number(process.hrtime.bigint() - tc) / 1e9;

  emit({
    bench: "hypercore_append",
    impl: "hypercore " + req("hypercore/package.json").version,
    bytes,
    block,
    batch,
    blocks: count,
    seconds: round3(seconds),
    mbps: mbps(bytes, seconds),
    cpuSeconds: round3((cpu.user + cpu.system) / 1e6),
    closeSeconds: round3(closeSeconds),
    rssMB: Math.round(process.memoryUsage().rss / 1e6),
    maxRssMB: Math.round(process.resourceUsage().maxRSS / 1e3),
    dataInMemoryMB: Math.round(bytes / 1e6),
    rssBeforeMB: Math.round(rssBefore / 1e6),
  });
});
