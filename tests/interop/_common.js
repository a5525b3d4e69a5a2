"use strict";
// Helpers shared by the harness scripts: JSON-lines output, argument parsing,
// temp storage that is removed on exit, a global deadline, TCP + secret-stream
// plumbing and the deterministic test-data generator.
//
// Every package is loaded from tests/interop/node_modules (installed from the
// committed package-lock.json), never from some other node_modules higher up,
// so a result can never silently come from a different version.
const { createRequire } = require("module");
const path = require("path");
const fs = require("fs");
const os = require("os");
const net = require("net");
const nodeCrypto = require("crypto");
const { parseArgs } = require("util");

const HARNESS_DIR = __dirname;
const NODE_MODULES = path.join(HARNESS_DIR, "node_modules");
const baseRequire = createRequire(path.join(HARNESS_DIR, "package.json"));

/** Exit code for "the deadline passed before the work was done". */
const EXIT_TIMEOUT = 3;

function req(name) {
  let resolved;
  try {
    resolved = baseRequire.resolve(name);
  } catch (err) {
    throw new Error(
      "Cannot load " + name +
        " (run `deno task setup` or `npm ci --prefix tests/interop`): " +
        err.message,
    );
  }
  if (!resolved.startsWith(NODE_MODULES + path.sep)) {
    throw new Error(
      name + " resolved outside tests/interop/node_modules: " + resolved,
    );
  }
  return baseRequire(resolved);
}

// ---------- output ----------

/** One JSON object per line on stdout (pipes and files are written synchronously on Linux). */
function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + "\n");
}

const hex = (b) =>
  (b === null || b === undefined)
    ? null
    : Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex");

function fromHex(s, what) {
  if (typeof s !== "string" || !/^([0-9a-fA-F]{2})*$/.test(s)) {
    throw new Error("Expected hex for " + what);
  }
  return Buffer.from(s, "hex");
}

/** Runs main(); any error goes to stderr and the process exits 1. */
function run(main) {
  main().catch((err) => {
    process.stderr.write((err && err.stack ? err.stack : String(err)) + "\n");
    process.exit(1);
  });
}

// ---------- arguments ----------

function args(options) {
  const { values } = parseArgs({
    options,
    strict: true,
    allowPositionals: false,
  });
  return values;
}

function intArg(v, name, dflt) {
  if (v === undefined) {
    if (dflt === undefined) throw new Error("Missing --" + name);
    return dflt;
  }
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new Error("Invalid --" + name + ": " + v);
  }
  return n;
}

function parsePeer(s) {
  const m = /^(.+):(\d+)$/.exec(s || "");
  if (!m) throw new Error("Expected --peer host:port, got " + s);
  return { host: m[1], port: Number(m[2]) };
}

/** Reads all of stdin as one JSON value (bounded so a runaway writer cannot exhaust memory). */
const MAX_STDIN_BYTES = 256 * 1024 * 1024;
async function readStdinJson() {
  const chunks = [];
  let n = 0;
  for await (const c of process.stdin) {
    n += c.length;
    if (n > MAX_STDIN_BYTES) {
      throw new Error("stdin larger than " + MAX_STDIN_BYTES + " bytes");
    }
    chunks.push(c);
  }
  return JSON.parse(Buffer.concat(chunks).toString("utf8"));
}

// ---------- temp storage and deadlines ----------

const created = new Set();

/** A fresh folder under os.tmpdir(), removed when the process exits (any way but SIGKILL). */
function tmpDir(name) {
  const d = fs.mkdtempSync(
    path.join(os.tmpdir(), "pigeon-interop-" + name + "-"),
  );
  created.add(d);
  return d;
}

process.on("exit", () => {
  for (const d of created) {
    try {
      fs.rmSync(d, { recursive: true, force: true });
    } catch { /* best effort: the process is exiting anyway */ }
  }
});

/** After ms, print the reason to stderr and exit EXIT_TIMEOUT (temp folders are still removed). */
function deadline(ms, what) {
  const t = setTimeout(() => {
    process.stderr.write("timeout after " + ms + " ms: " + what + "\n");
    process.exit(EXIT_TIMEOUT);
  }, ms);
  return () => clearTimeout(t);
}

/** Calls fn once on SIGTERM, SIGINT or when stdin closes (the parent went away). */
function onShutdown(fn) {
  let done = false;
  const once = () => {
    if (!done) {
      done = true;
      fn();
    }
  };
  process.once("SIGTERM", once);
  process.once("SIGINT", once);
  process.stdin.on("end", once);
  process.stdin.on("close", once);
  process.stdin.resume();
}

// ---------- network ----------

/**
 * Dials host:port over TCP and wraps the socket in a NoiseSecretStream as the initiator.
 * Resolves with the secret stream once TCP is connected (the handshake continues in the background).
 */
function dial({ host, port }) {
  const NoiseSecretStream = req("@hyperswarm/secret-stream");
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    socket.once("error", reject);
    socket.once("connect", () => {
      socket.removeListener("error", reject);
      resolve(new NoiseSecretStream(true, socket));
    });
  });
}

/**
 * Listens on host:port; each accepted socket is wrapped in a NoiseSecretStream as the
 * responder and passed to onstream. Resolves with the server once listening.
 */
function listen({ host, port }, onstream) {
  const NoiseSecretStream = req("@hyperswarm/secret-stream");
  const streams = new Set();
  const server = net.createServer((socket) => {
    const stream = new NoiseSecretStream(false, socket);
    streams.add(stream);
    emit({
      event: "connection",
      remote: socket.remoteAddress + ":" + socket.remotePort,
    });
    // A peer that vanishes must not take the server down.
    stream.on(
      "error",
      (err) => emit({ event: "stream-error", message: err.message }),
    );
    stream.on("close", () => {
      streams.delete(stream);
      emit({ event: "disconnected" });
    });
    onstream(stream);
  });
  // Stops accepting and drops every open connection (used on shutdown).
  server.closeAll = () => {
    server.close();
    for (const s of streams) s.destroy();
  };
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.removeListener("error", reject);
      resolve(server);
    });
  });
}

/** Bound on closing storage at shutdown: exit anyway after this. */
const SHUTDOWN_MS = 2_000;

/** Resolves when p settles or after ms, whichever is first (never rejects). */
function bounded(p, ms = SHUTDOWN_MS) {
  let t;
  return Promise.race([
    Promise.resolve(p).catch(() => {}),
    new Promise((resolve) => t = setTimeout(resolve, ms)),
  ]).finally(() => clearTimeout(t));
}

/**
 * Makes a dialer exit 1 when the peer goes away before done() was called; the hypercore
 * replicator would otherwise wait for another peer until the deadline.
 */
function failOnClose(stream, what) {
  let finished = false;
  stream.on("error", (err) => process.stderr.write("stream error: " + err.message + "\n"));
  stream.on("close", () => {
    if (finished) return;
    process.stderr.write("peer closed the connection before " + what + " finished\n");
    process.exit(1);
  });
  return () => {
    finished = true;
  };
}

// ---------- deterministic data ----------

/**
 * Pseudo-random test data, reproducible anywhere WebCrypto runs:
 * the AES-256-CTR keystream with key = SHA-256(utf8(seed)) and a 16-byte all-zero
 * initial counter block (full 128-bit big-endian counter). Block i of size S is bytes
 * [i*S, (i+1)*S) of that stream; next(n) returns the next n bytes.
 */
class DataStream {
  constructor(seed) {
    const key = nodeCrypto.createHash("sha256").update(String(seed), "utf8")
      .digest();
    this._cipher = nodeCrypto.createCipheriv(
      "aes-256-ctr",
      key,
      Buffer.alloc(16),
    );
  }

  next(n) {
    return this._cipher.update(Buffer.alloc(n));
  }
}

function sha256(buf) {
  return nodeCrypto.createHash("sha256").update(buf).digest("hex");
}

module.exports = {
  req,
  emit,
  hex,
  fromHex,
  run,
  args,
  intArg,
  parsePeer,
  readStdinJson,
  tmpDir,
  deadline,
  onShutdown,
  dial,
  listen,
  bounded,
  failOnClose,
  DataStream,
  sha256,
  EXIT_TIMEOUT,
  HARNESS_DIR,
};
