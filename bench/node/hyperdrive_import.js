"use strict";
// Reference benchmark: import a folder into a hyperdrive 13 on corestore 7 (on disk) with
// mirror-drive from localdrive — what `hyperdrive import` / `drive.mirror` does.
//
//   node bench/node/hyperdrive_import.js --files N --size S
//
// The folder (N files of S pseudo-random bytes) is written before the clock starts.
// Prints one JSON line: seconds, MB/s, files/s.
const { req, emit, run, args, intArg, tmpDir, makeFolder, mbps, round3 } = require("./_bench");

const Corestore = req("corestore");
const Hyperdrive = req("hyperdrive");
const Localdrive = req("localdrive");

run(async () => {
  const a = args({ files: { type: "string" }, size: { type: "string" } });
  const files = intArg(a.files, "files");
  const size = intArg(a.size, "size");
  const src = makeFolder("bench-import-src", files, size, "hyperdrive_import");

  const store = new Corestore(tmpDir("bench-import-store"), {
    primaryKey: Buffer.alloc(32, 7),
    unsafe: true,
  });
  const drive = new Hyperdrive(store);
  await drive.ready();
  const local = new Localdrive(src);
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const mirror = local.mirror(drive);
  await mirror.done();
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  if (mirror.count.add !== files) {
    throw new Error("mirror added " + mirror.count.add + " files, expected " + files);
  }

  emit({
    bench: "hyperdrive_import",
    impl: "hyperdrive " + req("hyperdrive/package.json").version + " + mirror-drive " +
      req("mirror-drive/package.json").version,
    files,
    size,
    bytes: files * size,
    seconds: round3(seconds),
    mbps: mbps(files * size, seconds),
    filesPerSecond: Math.round(files / seconds),
    cpuSeconds: round3((cpu.user + cpu.system) / 1e6),
    version: drive.version,
    maxRssMB: Math.round(process.resourceUsage().maxRSS / 1e3),
  });
  await local.close();
  await drive.close();
  await store.close();
});
