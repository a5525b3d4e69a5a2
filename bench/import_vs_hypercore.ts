/**
 * Import (hash + store + sign) of one file into a log: `pigeon send FILE` against real
 * hypercore 11 appending the same blocks in Node, in one run on the same machine.
 *
 * ```sh
 * deno task setup   # once: the reference packages in tests/interop/node_modules
 * deno run -A bench/import_vs_hypercore.ts [--mib 1024] [--runs 3] [--hc-batch 16] [--json]
 * ```
 *
 * The data is made once: `--mib` MiB of the harness's seeded stream for the seed
 * "hypercore_append" (tests/interop/README.md), the very bytes
 * `bench/node/hypercore_append.js` appends. Each run:
 *
 * 1. pigeon, the real CLI path: `pigeon send FILE --port 0 --host 127.0.0.1 --json`. It
 *    reads the file in 64 KiB blocks and appends them 64 per batch (one Ed25519 signature per
 *    batch, `lib/cli/commands/send.ts`), writing blocks, tree nodes, bitfield and header.
 *    - *import* time: from its `listening` event (printed just before it opens the input) to
 *      its `log` event (printed once the last batch is signed and stored), as read here;
 *    - *total* time: from spawning the process to the `log` event (adds Deno's start-up).
 * 2. hypercore: `node bench/node/hypercore_append.js --bytes N --batch B` (64 KiB blocks,
 *    `--hc-batch` blocks per append() and so per signature, default 16; the blocks are in
 *    memory before its clock starts, so its figure does not include reading a file).
 *
 * The pigeon process runs `bench/_profiled_cli.ts`, which also reports the main thread's CPU
 * inside the hash and signature kernels. The machine is shared: each run records the
 * 1-minute load average; the summary gives min / median / max over runs.
 *
 * @module
 */

import {
  flag,
  intOption,
  loadAverage,
  mbps,
  nodeBench,
  pigeon,
  processCpu,
  round,
  settleDisk,
  stats,
  tempDir,
  writeSeededFile,
} from "./_harness.ts";

/** Seed of the reference benchmark's data (bench/node/hypercore_append.js). */
const DATA_SEED = "hypercore_append";

interface PigeonRun {
  importSeconds: number;
  totalSeconds: number;
  importMbps: number;
  totalMbps: number;
  cpu: number;
  hashSeconds: number;
  signSeconds: number;
}

interface HypercoreRun {
  seconds: number;
  mbps: number;
  cpu: number;
}

const args = Deno.args;
const mib = intOption(args, "mib", 1024);
const runs = intOption(args, "runs", 3);
const hcBatch = intOption(args, "hc-batch", 16);
const bytes = mib * 1024 * 1024;

const work = tempDir("pigeon-bench-import-");
try {
  const input = `${work.path}/input`;
  await writeSeededFile(input, bytes, DATA_SEED);
  console.error(`data: ${mib} MiB (${bytes} bytes)`);
  const rows: { load: number; pigeon: PigeonRun; hypercore: HypercoreRun }[] = [];
  for (let run = 1; run <= runs; run++) {
    const load = loadAverage();
    let p: PigeonRun;
    let h: HypercoreRun;
    if (run % 2 === 1) {
      p = await runPigeon(input, `${work.path}/run${run}`);
      h = await runHypercore();
    } else {
      h = await runHypercore();
      p = await runPigeon(input, `${work.path}/run${run}`);
    }
    rows.push({ load, pigeon: p, hypercore: h });
    console.error(
      `run ${run}/${runs} (load ${load}): pigeon ${p.importMbps} MB/s import ` +
        `(${p.totalMbps} with start-up, CPU ${p.cpu} s, hash ${p.hashSeconds} s, sign ` +
        `${p.signSeconds} s)  hypercore ${h.mbps} MB/s (CPU ${h.cpu} s)  ratio ` +
        `${round(p.importMbps / h.mbps)}`,
    );
  }
  report(rows);
} finally {
  await work.remove();
}

async function runPigeon(input: string, dir: string): Promise<PigeonRun> {
  await settleDisk();
  let cpuAtLog: { user: number; system: number } | null = null;
  const sender = pigeon(
    [
      "send",
      input,
      "--port",
      "0",
      "--host",
      "127.0.0.1",
      "--store",
      `${dir}/store`,
      "--json",
      "--no-lan",
    ],
    {
      onEvent: (e) => {
        if (e.line.event === "log" && !cpuAtLog) cpuAtLog = processCpu(sender.pid);
      },
    },
  );
  try {
    const listening = await sender.waitFor("listening");
    const logged = await sender.waitFor("log");
    if (Number(logged.line.byteLength) !== bytes) {
      throw new Error(`pigeon send stored ${logged.line.byteLength} bytes, expected ${bytes}`);
    }
    await sender.stop();
    const profile = (await sender.waitFor("profile", 1000)).line as {
      kernels: Record<"hash" | "signature", { ms: number }>;
    };
    const importSeconds = (logged.at - listening.at) / 1000;
    const totalSeconds = (logged.at - sender.started) / 1000;
    const cpu = cpuAtLog as { user: number; system: number } | null;
    return {
      importSeconds: round(importSeconds, 3),
      totalSeconds: round(totalSeconds, 3),
      importMbps: mbps(bytes, importSeconds),
      totalMbps: mbps(bytes, totalSeconds),
      cpu: cpu ? round(cpu.user + cpu.system) : NaN,
      hashSeconds: round(profile.kernels.hash.ms / 1000),
      signSeconds: round(profile.kernels.signature.ms / 1000),
    };
  } finally {
    await sender.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

async function runHypercore(): Promise<HypercoreRun> {
  await settleDisk();
  const r = await nodeBench("hypercore_append.js", [
    "--bytes",
    String(bytes),
    "--batch",
    String(hcBatch),
  ]);
  return { seconds: Number(r.seconds), mbps: Number(r.mbps), cpu: Number(r.cpuSeconds) };
}

function report(rows: { load: number; pigeon: PigeonRun; hypercore: HypercoreRun }[]): void {
  const p = rows.map((r) => r.pigeon);
  const h = rows.map((r) => r.hypercore);
  const summary = {
    bench: "import_vs_hypercore",
    bytes,
    runs: rows.length,
    hypercoreBatch: hcBatch,
    loads: rows.map((r) => r.load),
    pigeonImportMbps: stats(p.map((x) => x.importMbps)),
    pigeonTotalMbps: stats(p.map((x) => x.totalMbps)),
    hypercoreMbps: stats(h.map((x) => x.mbps)),
    ratioImport: stats(rows.map((r) => round(r.pigeon.importMbps / r.hypercore.mbps))),
    ratioTotal: stats(rows.map((r) => round(r.pigeon.totalMbps / r.hypercore.mbps))),
    runsDetail: rows,
  };
  if (flag(Deno.args, "json")) {
    console.log(JSON.stringify(summary));
    return;
  }
  const line = (name: string, values: number[], unit: string) => {
    const s = stats(values);
    return `${name.padEnd(44)} ${fmt(s.min)} / ${fmt(s.median)} / ${fmt(s.max)} ${unit}`;
  };
  console.log(`\n${mib} MiB, ${rows.length} runs, load averages ${summary.loads.join(", ")}`);
  console.log(`${"".padEnd(44)} min / median / max`);
  console.log(line("pigeon send import (64 blocks/signature)", p.map((x) => x.importMbps), "MB/s"));
  console.log(line("pigeon send incl. start-up", p.map((x) => x.totalMbps), "MB/s"));
  console.log(line(`hypercore 11 append (${hcBatch} blocks/append)`, h.map((x) => x.mbps), "MB/s"));
  console.log(
    line(
      "ratio pigeon/hypercore (import)",
      rows.map((r) => r.pigeon.importMbps / r.hypercore.mbps),
      "×",
    ),
  );
  console.log(
    line(
      "ratio pigeon/hypercore (incl. start-up)",
      rows.map((r) => r.pigeon.totalMbps / r.hypercore.mbps),
      "×",
    ),
  );
  console.log(line("pigeon CPU (start → log)", p.map((x) => x.cpu), "s"));
  console.log(line("  hash kernel (BLAKE2b)", p.map((x) => x.hashSeconds), "s"));
  console.log(line("  signature (Ed25519, main thread)", p.map((x) => x.signSeconds), "s"));
  console.log(line("hypercore CPU (append loop)", h.map((x) => x.cpu), "s"));
}

function fmt(x: number): string {
  return Number.isFinite(x) ? String(round(x, 2)) : "n/a";
}
