"use strict";
// Helpers for the reference benchmarks: the harness packages and helpers of tests/interop
// (one install, the same pinned versions), child processes that speak JSON lines, and
// unit conversions. Each benchmark prints exactly one JSON line of results.
const path = require("path");
const fs = require("fs");
const { spawn } = require("child_process");
const common = require("../../tests/interop/_common");

const HARNESS = common.HARNESS_DIR;

/** MB/s with MB = 10^6 bytes, as in shared/research/perf-baseline.md. */
const mbps = (bytes, seconds) => Math.round((bytes / 1e6 / seconds) * 10) / 10;
const cpuSeconds = (cpu) => Math.round(((cpu.user + cpu.system) / 1e6) * 1000) / 1000;
const cpuDelta = (a, b) => ({ user: b.user - a.user, system: b.system - a.system });
const round3 = (x) => Math.round(x * 1000) / 1000;

/**
 * Starts `node tests/interop/<script> …args` with stdin piped (the harness servers stop when
 * it closes) and collects its JSON lines. waitFor(name, ms) resolves with the first line whose
 * "event" is name, or rejects on timeout or when the child exits first.
 */
function child(script, args) {
  const proc = spawn(process.execPath, [path.join(HARNESS, script), ...args], {
    stdio: ["pipe", "pipe", "pipe"],
  });
  const lines = [];
  const waiters = new Set();
  let stderr = "";
  let buf = "";
  let exited = null;
  proc.stdout.setEncoding("utf8");
  proc.stdout.on("data", (d) => {
    buf += d;
    let nl;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line.trim() !== "") lines.push(JSON.parse(line));
    }
    for (const w of waiters) w();
  });
  proc.stderr.on("data", (d) => {
    stderr += d;
  });
  const exit = new Promise((resolve) =>
    proc.on("close", (code) => {
      exited = code;
      for (const w of waiters) w();
      resolve(code);
    })
  );
  return {
    lines,
    exit,
    waitFor(name, ms) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => done(new Error("timeout waiting for " + name + " from " + script + "\n" + stderr)),
          ms,
        );
        const check = () => {
          const hit = lines.find((l) => l.event === name);
          if (hit) done(null, hit);
          else if (exited !== null) {
            done(new Error(script + " exited " + exited + " before " + name + "\n" + stderr));
          }
        };
        function done(err, v) {
          clearTimeout(timer);
          waiters.delete(check);
          if (err) reject(err);
          else resolve(v);
        }
        waiters.add(check);
        check();
      });
    },
    /** Closes stdin (graceful shutdown of the servers); SIGKILL if it is still there after ms. */
    async stop(ms = 10_000) {
      proc.stdin.end();
      const t = setTimeout(() => proc.kill("SIGKILL"), ms);
      await exit;
      clearTimeout(t);
    },
  };
}

/** Writes files f000000 … of size bytes each (AES-CTR data from seed) into a fresh temp folder. */
function makeFolder(name, files, size, seed) {
  const dir = common.tmpDir(name);
  const data = new common.DataStream(seed);
  for (let i = 0; i < files; i++) {
    fs.writeFileSync(path.join(dir, "f" + String(i).padStart(6, "0")), data.next(size));
  }
  return dir;
}

module.exports = { ...common, child, makeFolder, mbps, cpuSeconds, cpuDelta, round3 };
