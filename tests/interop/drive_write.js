"use strict";
// drive_write.js — write a hyperdrive 13 from a JSON description, print every block.
//
// stdin:  { "seed": hex32 (corestore primaryKey),
//           "versions": [[op, …], …] }   ops: see _drive.js applyOp
// stdout: one line {
//           db:    { key, discoveryKey, manifest, length, byteLength, blocks: [hex] },
//           blobs: { key, discoveryKey, manifest, length, byteLength, blocks: [hex] },
//           versions: [{ version, db: {length, byteLength, treeHash, signature}, blobs: {…} }],
//           entries: [{ path, seq, executable, linkname, metadata, blob }] }
// One entry in "versions" per inner op list, recorded after applying it.
const { req, emit, hex, run, readStdinJson, deadline } = require("./_common");
const { Hyperdrive, openStore, applyOp, coreState, allBlocks, listEntries } = require("./_drive");

const c = req("compact-encoding");
const messages = req("hypercore/lib/messages");

const TIMEOUT_MS = 120_000;

run(async () => {
  const cancel = deadline(TIMEOUT_MS, "drive_write");
  const input = await readStdinJson();
  if (!Array.isArray(input.versions)) {
    throw new Error('"versions" must be a list of op lists');
  }

  const store = openStore("drive-write", input.seed);
  const drive = new Hyperdrive(store);
  await drive.ready();

  const versions = [];
  for (const ops of input.versions) {
    for (const op of ops) await applyOp(drive, op);
    versions.push({
      version: drive.version,
      db: await coreState(drive.core),
      blobs: await coreState(drive.blobs.core),
    });
  }

  const describe = async (core) => ({
    key: hex(core.key),
    discoveryKey: hex(core.discoveryKey),
    manifest: hex(c.encode(messages.manifest, core.manifest)),
    length: core.length,
    byteLength: core.byteLength,
    blocks: await allBlocks(core),
  });
  emit({
    db: await describe(drive.core),
    blobs: await describe(drive.blobs.core),
    versions,
    entries: await listEntries(drive),
  });
  await drive.close();
  await store.close();
  cancel();
});
