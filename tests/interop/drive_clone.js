"use strict";
// drive_clone.js — clone a hyperdrive from a peer over TCP + secret-stream, as the INITIATOR.
//
//   node drive_clone.js --peer HOST:PORT --key HEX32 [--out DIR] [--quiet] [--timeout-ms MS]
//
// stdout: {"event":"connected","cpu"}, {"event":"update","version"} (first db upgrade),
//         {"event":"file","path","executable","linkname","metadata","size","sha256","hex"?}
//           per entry (hex only without --out, for files ≤ 1 MiB; nothing with --quiet),
//         {"event":"done","version","files","bytes","ms","cpu"} — ms from TCP connect to having
//           every file (and, with --out, to having mirrored them into DIR with localdrive).
// Exit 3 on timeout.
const {
  req,
  emit,
  fromHex,
  run,
  args,
  intArg,
  parsePeer,
  deadline,
  dial,
  failOnClose,
} = require("./_common");
const { Hyperdrive, openStore, readFiles } = require("./_drive");

const Localdrive = req("localdrive");

const DEFAULT_TIMEOUT_MS = 120_000;

run(async () => {
  const a = args({
    peer: { type: "string" },
    key: { type: "string" },
    out: { type: "string" },
    quiet: { type: "boolean", default: false },
    "timeout-ms": { type: "string" },
  });
  deadline(
    intArg(a["timeout-ms"], "timeout-ms", DEFAULT_TIMEOUT_MS),
    "drive_clone",
  );
  const key = fromHex(a.key, "key");
  if (key.length !== 32) throw new Error("--key must be 32 bytes of hex");

  const store = openStore("drive-clone");
  const drive = new Hyperdrive(store, key);
  await drive.ready();
  const doneFinding = drive.findingPeers(); // so update() waits for the peer

  const stream = await dial(parsePeer(a.peer));
  const t0 = process.hrtime.bigint();
  emit({ event: "connected", cpu: process.cpuUsage() });
  const finished = failOnClose(stream, "clone");
  store.replicate(stream);

  await drive.update({ wait: true });
  doneFinding();
  emit({ event: "update", version: drive.version });
  if (drive.version <= 1) {
    throw new Error(
      "Peer has no entries for this drive (version " + drive.version + ")",
    );
  }
  await drive.getBlobs();

  // Download everything first (many requests in flight), then read or mirror locally.
  await drive.download("/").done();
  if (a.out !== undefined) {
    const local = new Localdrive(a.out);
    await drive.mirror(local).done();
    await local.close();
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;

  let files = 0;
  let bytes = 0;
  for (const f of await readFiles(drive, { withHex: a.out === undefined })) {
    files++;
    bytes += f.size;
    if (!a.quiet) emit({ event: "file", ...f });
  }
  emit({
    event: "done",
    version: drive.version,
    files,
    bytes,
    ms,
    cpu: process.cpuUsage(),
  });
  finished();
  stream.destroy();
  await drive.close();
  process.exit(0);
});
