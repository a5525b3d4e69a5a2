/**
 * `pigeon share` → `pigeon clone` over loopback against real Hyperdrive 13.3.4 →
 * Hyperdrive (`bench/node/hyperdrive_clone.js`), in one run on the same machine, for big
 * files and for many small files.
 *
 * ```sh
 * deno task setup   # once: the reference packages in tests/interop/node_modules
 * deno run -A bench/clone_vs_hyperdrive.ts [--runs 3] [--only big|small] [--big-files 8]
 *   [--big-mib 128] [--small-files 10000] [--small-kib 4] [--prof DIR] [--json]
 * ```
 *
 * Workloads (defaults): 8 × 128 MiB, and 10,000 × 4 KiB. The folder is the harness's seeded
 * data (tests/interop/README.md): files `f000000…` holding consecutive pieces of the
 * AES-256-CTR keystream keyed by SHA-256("hyperdrive_clone"), exactly what
 * `hyperdrive_clone.js` makes for itself, so both sides move identical bytes.
 *
 * Each run:
 * 1. pigeon: `pigeon share SRC --port 0 --host 127.0.0.1 --no-lan --no-watch --json` records
 *    the folder (the first run imports it, later runs find it unchanged; not timed, the
 *    first run's import is reported), then
 *    `pigeon clone LINK OUT --peer 127.0.0.1:PORT --no-lan --json` runs in a fresh folder.
 *    Timed like `drive_clone.js`: from the cloner's `connected` event to its `done` event
 *    (every file verified and written into OUT); "total" is spawn → exit. Every cloned file
 *    is checked against the source by size (and by SHA-256 in the first run).
 * 2. hyperdrive: `node bench/node/hyperdrive_clone.js --files N --size S` (drive_serve.js
 *    --from-dir, drive_clone.js --out DIR: TCP connect → all files downloaded and mirrored
 *    into DIR through localdrive).
 *
 * Both pigeon processes run `bench/_profiled_cli.ts`, so the cloner's time inside the crypto
 * kernels (hash, cipher, signature) is reported next to its CPU (from /proc) over the window.
 * With `--prof DIR`, one more pigeon clone per workload runs as plain `cli.ts` under
 * `--v8-flags=--prof` with DIR as its working folder (process the log with
 * `node --prof-process DIR/isolate-*.log`); it is not counted in the figures.
 *
 * The machine is shared: each run records the 1-minute load average (`/proc/loadavg`,
 * what `uptime` prints); the summary gives min / median / max over runs.
 *
 * @module
 */

import { createCipheriv, createHash } from "node:crypto";
import {
  Child,
  flag,
  intOption,
  loadAverage,
  mbps,
  nodeBench,
  pigeon,
  processCpu,
  ROOT,
  round,
  stats,
  tempDir,
} from "./_harness.ts";

/** Seed of the reference benchmark's folder (bench/node/hyperdrive_clone.js). */
const DATA_SEED = "hyperdrive_clone";

interface Workload {
  name: "big" | "small";
  files: number;
  size: number;
}

interface PigeonRun {
  seconds: number;
  totalSeconds: number;
  mbps: number;
  filesPerSecond: number;
  cloneCpu: number;
  kernels: number;
  shareCpu: number;
  importSeconds: number;
}

interface HyperdriveRun {
  seconds: number;
  mbps: number;
  filesPerSecond: number;
  clonerCpu: number;
  seederCpu: number;
}

interface Row {
  load: number;
  pigeon: PigeonRun;
  hyperdrive: HyperdriveRun;
}

const args = Deno.args;
const runs = intOption(args, "runs", 3);
const only = valueOption("only");
const profDir = valueOption("prof");
const workloads: Workload[] = [
  {
    name: "big" as const,
    files: intOption(args, "big-files", 8),
    size: intOption(args, "big-mib", 128) * 1024 * 1024,
  },
  {
    name: "small" as const,
    files: intOption(args, "small-files", 10_000),
    size: intOption(args, "small-kib", 4) * 1024,
  },
].filter((w) => only === null || w.name === only);

const work = tempDir("pigeon-bench-clone-");
const summary: Record<string, unknown>[] = [];
try {
  for (const w of workloads) {
    const src = `${work.path}/${w.name}-src`;
    const t0 = performance.now();
    await writeSeededFolder(src, w);
    log(
      `${w.name}: ${w.files} × ${w.size} B written in ${
        round((performance.now() - t0) / 1000, 1)
      } s`,
    );
    const rows: Row[] = [];
    for (let run = 1; run <= runs; run++) {
      const load = loadAverage();
      let p: PigeonRun;
      let h: HyperdriveRun;
      // Alternate who goes first so a burst of load from elsewhere hits both equally often.
      if (run % 2 === 1) {
        p = await runPigeon(w, src, `${work.path}/${w.name}-run${run}`, run === 1);
        h = await runHyperdrive(w);
      } else {
        h = await runHyperdrive(w);
        p = await runPigeon(w, src, `${work.path}/${w.name}-run${run}`, false);
      }
      rows.push({ load, pigeon: p, hyperdrive: h });
      log(
        `${w.name} run ${run}/${runs} (load ${load}): pigeon ${p.mbps} MB/s, ${p.filesPerSecond} files/s ` +
          `(${p.seconds} s; total ${p.totalSeconds} s; clone CPU ${p.cloneCpu} s, kernels ${p.kernels} s; ` +
          `share CPU ${p.shareCpu} s)  hyperdrive ${h.mbps} MB/s, ${h.filesPerSecond} files/s ` +
          `(${h.seconds} s; cloner CPU ${h.clonerCpu} s, seeder CPU ${h.seederCpu} s)`,
      );
    }
    if (profDir !== null) await profileClone(w, src, `${work.path}/${w.name}-prof`);
    summary.push(report(w, rows));
    await Deno.remove(src, { recursive: true });
    await Deno.remove(`${src}.home`, { recursive: true }).catch(() => {});
  }
  if (flag(args, "json")) console.log(JSON.stringify(summary));
} finally {
  await work.remove();
}

/** Writes the folder hyperdrive_clone.js makes: consecutive keystream pieces per file. */
async function writeSeededFolder(dir: string, w: Workload): Promise<void> {
  Deno.mkdirSync(dir, { recursive: true });
  const key = createHash("sha256").update(DATA_SEED, "utf8").digest();
  const cipher = createCipheriv("aes-256-ctr", key, new Uint8Array(16));
  const CHUNK = 4 << 20;
  const zeros = new Uint8Array(Math.min(CHUNK, w.size));
  for (let i = 0; i < w.files; i++) {
    const file = await Deno.open(`${dir}/f${String(i).padStart(6, "0")}`, {
      write: true,
      create: true,
      truncate: true,
    });
    try {
      for (let done = 0; done < w.size; done += CHUNK) {
        const n = Math.min(CHUNK, w.size - done);
        const chunk = new Uint8Array(cipher.update(zeros.subarray(0, n)));
        for (let at = 0; at < n;) at += await file.write(chunk.subarray(at));
      }
    } finally {
      file.close();
    }
  }
}

async function runPigeon(w: Workload, src: string, dir: string, verify: boolean) {
  const started = performance.now();
  const catcher = linkCatcher();
  const sharer = pigeon(
    ["share", src, "--port", "0", "--host", "127.0.0.1", "--no-lan", "--no-watch", "--json"],
    { env: { PIGEON_HOME: `${src}.home`, PIGEON_LAN: "off" }, onStdout: catcher.onStdout },
  );
  let cloner: Child | null = null;
  try {
    const listening = await sharer.waitFor("listening");
    const importSeconds = round((listening.at - started) / 1000, 2);
    const link = await catcher.link();
    const shareCpu0 = processCpu(sharer.pid);
    let cpuAtConnect: { user: number; system: number } | null = null;
    let cpuAtDone: { user: number; system: number } | null = null;
    let shareCpu1: { user: number; system: number } | null = null;
    const out = `${dir}/out`;
    cloner = pigeon(
      [
        "clone",
        link,
        out,
        "--peer",
        `127.0.0.1:${listening.line.port}`,
        "--no-lan",
        "--no-upload",
        "--json",
      ],
      {
        env: { PIGEON_HOME: `${dir}/home`, PIGEON_LAN: "off" },
        events: "stdout",
        onEvent: (e) => {
          if (e.line.event === "connected" && !cpuAtConnect) cpuAtConnect = processCpu(cloner!.pid);
          if (e.line.event === "done" && !cpuAtDone) {
            cpuAtDone = processCpu(cloner!.pid);
            shareCpu1 = processCpu(sharer.pid);
          }
        },
      },
    );
    const connected = await cloner.waitFor("connected");
    const done = await cloner.waitFor("done");
    const status = await cloner.status;
    if (!status.success) throw new Error(`pigeon clone exited ${status.code}:\n${cloner.text}`);
    const profile = (await cloner.waitFor("profile")).line as {
      kernels: Record<string, { ms: number }>;
    };
    if (Number(done.line.bytes) !== w.files * w.size) {
      throw new Error(`pigeon clone received ${done.line.bytes} bytes`);
    }
    await checkClone(src, out, w, verify);
    const seconds = (done.at - connected.at) / 1000;
    const c0 = cpuAtConnect as { user: number; system: number } | null;
    const c1 = cpuAtDone as { user: number; system: number } | null;
    const s1 = shareCpu1 as { user: number; system: number } | null;
    const cpu = (a: typeof c0, b: typeof c0) =>
      a && b ? round(b.user + b.system - a.user - a.system) : NaN;
    return {
      seconds: round(seconds, 3),
      totalSeconds: round((cloner.exitedAt - cloner.started) / 1000, 3),
      mbps: mbps(w.files * w.size, seconds),
      filesPerSecond: Math.round(w.files / seconds),
      cloneCpu: cpu(c0, c1),
      kernels: round(
        Object.values(profile.kernels).reduce((n, k) => n + k.ms, 0) / 1000,
      ),
      shareCpu: cpu(shareCpu0, s1),
      importSeconds,
    };
  } finally {
    cloner?.kill("SIGKILL");
    await cloner?.status;
    await sharer.stop();
    await Deno.remove(`${dir}/out`, { recursive: true }).catch(() => {});
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** One more pigeon clone as plain cli.ts under the V8 profiler (not counted). */
async function profileClone(w: Workload, src: string, dir: string): Promise<void> {
  const out = `${profDir}/${w.name}`;
  Deno.mkdirSync(out, { recursive: true });
  const catcher = linkCatcher();
  const sharer = new Child(
    Deno.execPath(),
    [
      "run",
      "-A",
      "--v8-flags=--prof",
      `${ROOT}/cli.ts`,
      "share",
      src,
      "--port",
      "0",
      "--host",
      "127.0.0.1",
      "--no-lan",
      "--no-watch",
      "--json",
    ],
    {
      cwd: out,
      env: { PIGEON_HOME: `${src}.home`, PIGEON_LAN: "off" },
      onStdout: catcher.onStdout,
    },
  );
  try {
    const listening = await sharer.waitFor("listening");
    const link = await catcher.link();
    const cloner = new Child(
      Deno.execPath(),
      [
        "run",
        "-A",
        "--v8-flags=--prof",
        `${ROOT}/cli.ts`,
        "clone",
        link,
        `${dir}/out`,
        "--peer",
        `127.0.0.1:${listening.line.port}`,
        "--no-lan",
        "--no-upload",
        "--json",
      ],
      { cwd: out, env: { PIGEON_HOME: `${dir}/home`, PIGEON_LAN: "off" }, events: "stdout" },
    );
    const status = await cloner.status;
    if (!status.success) throw new Error(`profiled clone failed:\n${cloner.text}`);
    log(`${w.name}: V8 profiles of share and clone in ${out} (node --prof-process)`);
  } finally {
    await sharer.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** Catches the first stdout line of a sharer (its link); rejects after a minute without it. */
function linkCatcher(): { onStdout: (chunk: Uint8Array) => void; link: () => Promise<string> } {
  const decoder = new TextDecoder();
  let text = "";
  let found: (line: string) => void = () => {};
  const promise = new Promise<string>((resolve) => (found = resolve));
  return {
    onStdout(chunk) {
      text += decoder.decode(chunk, { stream: true });
      const nl = text.indexOf("\n");
      if (nl >= 0) found(text.slice(0, nl));
    },
    async link() {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error("no link on the sharer's stdout")), 60_000);
      });
      try {
        return await Promise.race([promise, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** Every file of the clone has the source's size; with `verify`, the same SHA-256 too. */
async function checkClone(src: string, out: string, w: Workload, verify: boolean) {
  let files = 0;
  for (const d of Deno.readDirSync(out)) {
    if (d.name === ".pigeon") continue;
    files++;
    const size = Deno.statSync(`${out}/${d.name}`).size;
    if (size !== w.size) throw new Error(`${d.name}: ${size} bytes, expected ${w.size}`);
    if (verify) {
      const [a, b] = await Promise.all([sha(`${src}/${d.name}`), sha(`${out}/${d.name}`)]);
      if (a !== b) throw new Error(`${d.name} differs from the source`);
    }
  }
  if (files !== w.files) throw new Error(`clone has ${files} files, expected ${w.files}`);
}

async function sha(path: string): Promise<string> {
  const hash = createHash("sha256");
  const file = await Deno.open(path);
  for await (const chunk of file.readable) hash.update(chunk);
  return hash.digest("hex");
}

async function runHyperdrive(w: Workload): Promise<HyperdriveRun> {
  const r = await nodeBench("hyperdrive_clone.js", [
    "--files",
    String(w.files),
    "--size",
    String(w.size),
  ]);
  return {
    seconds: Number(r.seconds),
    mbps: Number(r.mbps),
    filesPerSecond: Number(r.filesPerSecond),
    clonerCpu: Number(r.clonerCpuSeconds),
    seederCpu: Number(r.seederCpuSeconds),
  };
}

function report(w: Workload, rows: Row[]): Record<string, unknown> {
  const p = rows.map((r) => r.pigeon);
  const h = rows.map((r) => r.hyperdrive);
  const result = {
    workload: w.name,
    files: w.files,
    size: w.size,
    runs: rows.length,
    loads: rows.map((r) => r.load),
    pigeonMbps: stats(p.map((x) => x.mbps)),
    hyperdriveMbps: stats(h.map((x) => x.mbps)),
    pigeonFilesPerSecond: stats(p.map((x) => x.filesPerSecond)),
    hyperdriveFilesPerSecond: stats(h.map((x) => x.filesPerSecond)),
    ratio: stats(rows.map((r) => round(r.pigeon.mbps / r.hyperdrive.mbps))),
    pigeonCloneCpu: stats(p.map((x) => x.cloneCpu)),
    pigeonKernels: stats(p.map((x) => x.kernels)),
    hyperdriveClonerCpu: stats(h.map((x) => x.clonerCpu)),
    pigeonImportSeconds: p[0]!.importSeconds,
    runsDetail: rows,
  };
  const line = (name: string, values: number[], unit: string) => {
    const s = stats(values);
    return `${name.padEnd(36)} ${fmt(s.min)} / ${fmt(s.median)} / ${fmt(s.max)} ${unit}`;
  };
  console.log(
    `\n${w.name}: ${w.files} × ${w.size} B, ${rows.length} runs, load ${result.loads.join(", ")}`,
  );
  console.log(`${"".padEnd(36)} min / median / max`);
  console.log(line("pigeon share→clone", p.map((x) => x.mbps), "MB/s"));
  console.log(line("hyperdrive 13 → hyperdrive", h.map((x) => x.mbps), "MB/s"));
  console.log(line("pigeon share→clone", p.map((x) => x.filesPerSecond), "files/s"));
  console.log(line("hyperdrive 13 → hyperdrive", h.map((x) => x.filesPerSecond), "files/s"));
  console.log(
    line("ratio pigeon / hyperdrive", rows.map((r) => r.pigeon.mbps / r.hyperdrive.mbps), "×"),
  );
  console.log(line("pigeon clone start→exit", p.map((x) => x.totalSeconds), "s"));
  console.log(line("pigeon clone CPU (connect→done)", p.map((x) => x.cloneCpu), "s"));
  console.log(line("  of which crypto kernels", p.map((x) => x.kernels), "s"));
  console.log(line("pigeon share CPU (same window)", p.map((x) => x.shareCpu), "s"));
  console.log(line("hyperdrive cloner CPU", h.map((x) => x.clonerCpu), "s"));
  console.log(line("hyperdrive seeder CPU (whole run)", h.map((x) => x.seederCpu), "s"));
  console.log(`pigeon share import (first run, not timed): ${result.pigeonImportSeconds} s`);
  return result;
}

function valueOption(name: string): string | null {
  const at = args.indexOf(`--${name}`);
  return at === -1 ? null : args[at + 1] ?? null;
}

function fmt(x: number): string {
  return Number.isFinite(x) ? String(round(x, 2)) : "n/a";
}

function log(text: string): void {
  console.error(text);
}
