"use strict";
// drive_serve.js — a real hyperdrive 13 (on corestore 7) seeding over TCP + secret-stream,
// as the RESPONDER.
//
//   node drive_serve.js --seed HEX32 (--spec FILE.json | --from-dir DIR)
//        [--port 0] [--host 127.0.0.1] [--lifetime-ms MS]
//
// --spec: the same JSON as drive_write.js reads ({ "versions": [[op, …], …] }; its "seed"
//         is ignored in favour of --seed). --from-dir: mirror a local folder into the drive
//         (mirror-drive from localdrive, like `hyperdrive import`).
// stdout: {"event":"listening","port","key","discoveryKey","contentKey","version",
//          "db":{length,byteLength},"blobs":{length,byteLength},"importMs","cpu"}
//         {"event":"connection"|"disconnected"|"stream-error", …} per peer
//         {"event":"exit","cpu":{user,system} (µs)} on shutdown
// Runs until SIGTERM/SIGINT, stdin closing, or --lifetime-ms.
const fs = require("fs");
const { req, emit, hex, run, args, intArg, deadline, onShutdown, bounded, listen } = require(
  "./_common",
);
const { Hyperdrive, openStore, applyOp } = require("./_drive");

const Localdrive = req("localdrive");

const DEFAULT_LIFETIME_MS = 10 * 60_000;

run(async () => {
  const a = args({
    seed: { type: "string" },
    spec: { type: "string" },
    "from-dir": { type: "string" },
    port: { type: "string", default: "0" },
    host: { type: "string", default: "127.0.0.1" },
    "lifetime-ms": { type: "string" },
  });
  deadline(
    intArg(a["lifetime-ms"], "lifetime-ms", DEFAULT_LIFETIME_MS),
    "drive_serve lifetime",
  );
  if ((a.spec === undefined) === (a["from-dir"] === undefined)) {
    throw new Error("Give exactly one of --spec or --from-dir");
  }
  if (a.seed === undefined) throw new Error("Missing --seed");

  const store = openStore("drive-serve", a.seed);
  const drive = new Hyperdrive(store);
  await drive.ready();

  const t0 = process.hrtime.bigint();
  if (a.spec !== undefined) {
    const spec = JSON.parse(fs.readFileSync(a.spec, "utf8"));
    for (const ops of spec.versions) {
      for (const op of ops) await applyOp(drive, op);
    }
  } else {
    const local = new Localdrive(a["from-dir"]);
    await local.mirror(drive).done();
    await local.close();
  }
  const importMs = Number(process.hrtime.bigint() - t0) / 1e6;

  const server = await listen(
    { host: a.host, port: intArg(a.port, "port") },
    (stream) => {
      store.replicate(stream); // replicates every core of the store (db and blobs) on this stream
    },
  );
  const blobs = await drive.getBlobs();
  emit({
    event: "listening",
    host: a.host,
    port: server.address().port,
    key: hex(drive.key),
    discoveryKey: hex(drive.discoveryKey),
    contentKey: hex(drive.contentKey),
    version: drive.version,
    db: { length: drive.core.length, byteLength: drive.core.byteLength },
    blobs: { length: blobs.core.length, byteLength: blobs.core.byteLength },
    importMs,
    cpu: process.cpuUsage(),
  });

  onShutdown(async () => {
    emit({ event: "exit", cpu: process.cpuUsage() });
    server.closeAll();
    await bounded(drive.close());
    process.exit(0);
  });
});
