"use strict";
// Reference benchmark: replicate N bytes between two hypercore 11 processes over loopback
// TCP + secret-stream.
//
//   node bench/node/hypercore_replicate.js --bytes N [--block 65536] [--timeout-ms MS]
//
// A writer (tests/interop/serve.js) loads N bytes first (not timed), then a reader
// (tests/interop/fetch.js --all --quiet) dials it and downloads everything. Time = from the
// reader's TCP connect to its last block verified and stored. CPU seconds are each
// process's process.cpuUsage() over the transfer (writer: listening → exit, which includes
// the short idle tail until it is told to stop; reader: connected → done).
const { emit, run, args, intArg, child, mbps, cpuSeconds, cpuDelta, round3 } = require("./_bench");

run(async () => {
  const a = args({
    bytes: { type: "string" },
    block: { type: "string" },
    "timeout-ms": { type: "string" },
  });
  const bytes = intArg(a.bytes, "bytes");
  const block = intArg(a.block, "block", 65536);
  const timeoutMs = intArg(a["timeout-ms"], "timeout-ms", 30 * 60_000);
  if (block === 0 || bytes % block !== 0) {
    throw new Error("--bytes must be a positive multiple of --block");
  }

  const writer = child("serve.js", [
    "--seed",
    "01".repeat(32),
    "--count",
    String(bytes / block),
    "--size",
    String(block),
    "--data-seed",
    "hypercore_replicate",
    "--lifetime-ms",
    String(timeoutMs),
  ]);
  try {
    const listening = await writer.waitFor("listening", timeoutMs);
    const reader = child("fetch.js", [
      "--peer",
      "127.0.0.1:" + listening.port,
      "--key",
      listening.key,
      "--all",
      "--quiet",
      "--timeout-ms",
      String(timeoutMs),
    ]);
    const connected = await reader.waitFor("connected", timeoutMs);
    const done = await reader.waitFor("done", timeoutMs);
    if (done.byteLength !== bytes) {
      throw new Error("reader got " + done.byteLength + " bytes, expected " + bytes);
    }
    await reader.exit;
    await writer.stop();
    const exit = await writer.waitFor("exit", 1000);
    const seconds = done.ms / 1000;
    emit({
      bench: "hypercore_replicate",
      impl: "hypercore 11.37.1 (Node " + process.version + ")",
      bytes,
      block,
      seconds: round3(seconds),
      mbps: mbps(bytes, seconds),
      readerCpuSeconds: cpuSeconds(cpuDelta(connected.cpu, done.cpu)),
      writerCpuSeconds: cpuSeconds(cpuDelta(listening.cpu, exit.cpu)),
    });
  } finally {
    await writer.stop();
  }
});
