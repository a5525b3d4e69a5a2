"use strict";
// Reference benchmark: clone a hyperdrive 13 between two processes over loopback TCP +
// secret-stream.
//
//   node bench/node/hyperdrive_clone.js --files N --size S [--timeout-ms MS]
//
// A folder of N files of S pseudo-random bytes is imported by the seeder
// (tests/interop/drive_serve.js --from-dir; not timed, reported as importSeconds); the
// cloner (tests/interop/drive_clone.js --out DIR --quiet) downloads every file and writes
// it into a fresh folder. Time = from the cloner's TCP connect to the last file written.
const { emit, run, args, intArg, tmpDir, child, makeFolder, mbps, cpuSeconds, cpuDelta, round3 } =
  require("./_bench");

run(async () => {
  const a = args({
    files: { type: "string" },
    size: { type: "string" },
    "timeout-ms": { type: "string" },
  });
  const files = intArg(a.files, "files");
  const size = intArg(a.size, "size");
  const timeoutMs = intArg(a["timeout-ms"], "timeout-ms", 30 * 60_000);
  const src = makeFolder("bench-clone-src", files, size, "hyperdrive_clone");
  const out = tmpDir("bench-clone-out");

  const seeder = child("drive_serve.js", [
    "--seed",
    "07".repeat(32),
    "--from-dir",
    src,
    "--lifetime-ms",
    String(timeoutMs),
  ]);
  try {
    const listening = await seeder.waitFor("listening", timeoutMs);
    const cloner = child("drive_clone.js", [
      "--peer",
      "127.0.0.1:" + listening.port,
      "--key",
      listening.key,
      "--out",
      out,
      "--quiet",
      "--timeout-ms",
      String(timeoutMs),
    ]);
    const connected = await cloner.waitFor("connected", timeoutMs);
    const done = await cloner.waitFor("done", timeoutMs);
    if (done.files !== files || done.bytes !== files * size) {
      throw new Error(
        "clone got " + done.files + " files / " + done.bytes + " bytes, expected " + files + " / " +
          files * size,
      );
    }
    await cloner.exit;
    await seeder.stop();
    const exit = await seeder.waitFor("exit", 1000);
    const seconds = done.ms / 1000;
    emit({
      bench: "hyperdrive_clone",
      impl: "hyperdrive 13.3.4 (Node " + process.version + ")",
      files,
      size,
      bytes: files * size,
      seconds: round3(seconds),
      mbps: mbps(files * size, seconds),
      filesPerSecond: Math.round(files / seconds),
      clonerCpuSeconds: cpuSeconds(cpuDelta(connected.cpu, done.cpu)),
      seederCpuSeconds: cpuSeconds(cpuDelta(listening.cpu, exit.cpu)),
      importSeconds: round3(listening.importMs / 1000),
    });
  } finally {
    await seeder.stop();
  }
});
