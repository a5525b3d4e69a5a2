"use strict";
// Helpers for the hyperdrive scripts: a corestore with a fixed primary key, applying a
// JSON list of drive operations, and dumping a core's blocks and signed state.
const { req, hex, fromHex, tmpDir, sha256 } = require("./_common");

const Corestore = req("corestore");
const Hyperdrive = req("hyperdrive");

/** A corestore in a fresh temp folder; a fixed primaryKey makes every key reproducible. */
function openStore(name, seedHex) {
  const opts = {};
  if (seedHex !== undefined && seedHex !== null) {
    const primaryKey = fromHex(seedHex, "seed");
    if (primaryKey.length !== 32) throw new Error("seed must be 32 bytes");
    // corestore refuses a caller-chosen primary key unless told it is on purpose.
    Object.assign(opts, { primaryKey, unsafe: true });
  }
  return new Corestore(tmpDir(name), opts);
}

function contentOf(op) {
  if (op.utf8 !== undefined) return Buffer.from(op.utf8, "utf8");
  if (op.hex !== undefined) return fromHex(op.hex, op.path);
  throw new Error("put " + op.path + ' needs "utf8", "hex" or "chunks"');
}

/**
 * Applies one operation:
 *   { "op": "put", "path", "utf8"|"hex", "executable"?, "metadata"? }
 *   { "op": "put", "path", "chunks": [hex, …], "dedup"?, "executable"? }  (createWriteStream)
 *   { "op": "symlink", "path", "target", "metadata"? }
 *   { "op": "del", "path" }
 */
async function applyOp(drive, op) {
  const meta = {
    executable: !!op.executable,
    metadata: op.metadata === undefined ? null : op.metadata,
  };
  switch (op.op) {
    case "put":
      if (op.chunks !== undefined) {
        const ws = drive.createWriteStream(op.path, {
          ...meta,
          dedup: !!op.dedup,
        });
        const closed = new Promise((resolve, reject) => {
          ws.on("close", resolve);
          ws.on("error", reject);
        });
        for (const c of op.chunks) ws.write(fromHex(c, op.path));
        ws.end();
        await closed;
      } else {
        await drive.put(op.path, contentOf(op), meta);
      }
      return;
    case "symlink":
      await drive.symlink(op.path, op.target, { metadata: meta.metadata });
      return;
    case "del":
      await drive.del(op.path);
      return;
    default:
      throw new Error("Unknown op " + JSON.stringify(op.op));
  }
}

/** Signed state of a core at its current length (signature as stored/sent: multisig container). */
async function coreState(core) {
  return {
    length: core.length,
    byteLength: core.byteLength,
    treeHash: hex(await core.treeHash()),
    signature: hex(core.core.state.signature),
  };
}

async function allBlocks(core) {
  const out = [];
  for (let i = 0; i < core.length; i++) {
    out.push(hex(await core.get(i, { valueEncoding: "binary" })));
  }
  return out;
}

/** Every entry of the drive as { path, seq, executable, linkname, metadata, blob } (blob as stored). */
async function listEntries(drive) {
  const out = [];
  for await (const e of drive.list("/", { recursive: true })) {
    const v = e.value;
    out.push({
      path: e.key,
      seq: e.seq,
      executable: v.executable,
      linkname: v.linkname,
      metadata: v.metadata,
      blob: v.blob,
    });
  }
  return out;
}

/** Files larger than this are reported by size and sha256 only, never as hex. */
const MAX_HEX_FILE_BYTES = 1024 * 1024;

/**
 * Every entry with its content read through hyperdrive (downloading if needed):
 * { path, executable, linkname, metadata, size, sha256, hex? } — symlinks have size 0 and
 * no sha256; hex is included when withHex and the file is at most MAX_HEX_FILE_BYTES.
 */
async function readFiles(drive, { withHex }) {
  const out = [];
  for (const e of await listEntries(drive)) {
    const f = {
      path: e.path,
      executable: e.executable,
      linkname: e.linkname,
      metadata: e.metadata,
    };
    if (e.blob) {
      const content = await drive.get(e.path);
      Object.assign(f, { size: content.length, sha256: sha256(content) });
      if (withHex && content.length <= MAX_HEX_FILE_BYTES) f.hex = hex(content);
    } else {
      f.size = 0;
    }
    out.push(f);
  }
  return out;
}

module.exports = {
  Corestore,
  Hyperdrive,
  openStore,
  applyOp,
  coreState,
  allBlocks,
  listEntries,
  readFiles,
};
