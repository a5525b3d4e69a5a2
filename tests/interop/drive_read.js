"use strict";
// drive_read.js — the reverse of drive_write.js: load raw db/blobs blocks into the real
// cores (same corestore seed, so the same keys) and read the drive back with hyperdrive 13.
//
// stdin:  { "seed": hex32 (corestore primaryKey), "db": [hex, …], "blobs": [hex, …] }
// stdout: one line { key, contentKey, version, db: {length, byteLength, treeHash, signature},
//                    blobs: {…}, files: [{ path, executable, linkname, metadata, size, sha256, hex }] }
// Useful to check that blocks another writer produced (pigeon) are a drive hyperdrive reads;
// db/blobs signatures are what the reference signs for those exact blocks.
const { emit, hex, fromHex, run, readStdinJson, deadline } = require(
  "./_common",
);
const { Hyperdrive, openStore, coreState, readFiles } = require("./_drive");

const TIMEOUT_MS = 120_000;

run(async () => {
  const cancel = deadline(TIMEOUT_MS, "drive_read");
  const input = await readStdinJson();
  if (!Array.isArray(input.db) || !Array.isArray(input.blobs)) {
    throw new Error('"db" and "blobs" must be lists of hex blocks');
  }
  const store = openStore("drive-read", input.seed);

  // The drive's db core is corestore name "db"; its blobs core has the manifest
  // hyperdrive derives from the db key, signed by the same key pair.
  const db = store.get({ name: "db" });
  await db.ready();
  await db.append(input.db.map((b, i) => fromHex(b, "db block " + i)));
  const blobs = store.get({
    manifest: Hyperdrive.getContentManifest(db.manifest, db.key),
    keyPair: db.keyPair,
  });
  await blobs.ready();
  if (input.blobs.length > 0) {
    await blobs.append(
      input.blobs.map((b, i) => fromHex(b, "blobs block " + i)),
    );
  }
  await blobs.close();
  await db.close();

  const drive = new Hyperdrive(store);
  await drive.ready();
  await drive.getBlobs();
  emit({
    key: hex(drive.key),
    contentKey: hex(drive.contentKey),
    version: drive.version,
    db: await coreState(drive.core),
    blobs: await coreState(drive.blobs.core),
    files: await readFiles(drive, { withHex: true }),
  });
  await drive.close();
  await store.close();
  cancel();
});
