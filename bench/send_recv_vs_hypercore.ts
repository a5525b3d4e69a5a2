/**
 * `pigeon send` → `pigeon recv` over loopback against two real hypercore 11 processes, in
 * one run on the same machine.
 *
 * ```sh
 * deno task setup   # once: the reference packages in tests/interop/node_modules
 * deno run -A bench/send_recv_vs_hypercore.ts [--mib 256] [--runs 3] [--stdout-pipe | --output-file]
 *   [--json]
 * ```
 *
 * The data is made once: `--mib` MiB of the harness's seeded stream (AES-256-CTR keyed by
 * SHA-256("hypercore_replicate"), tests/interop/README.md), the very bytes
 * `bench/node/hypercore_replicate.js` serves, so both sides move identical data. Each run:
 *
 * 1. pigeon: `pigeon send FILE --port 0 --host 127.0.0.1 --json` imports the file (not
 *    timed); then `pigeon recv LINK --peer 127.0.0.1:PORT --json > /dev/null` is started,
 *    and once it exits the log it stored (its `data` file: the blocks back to back) must
 *    have the input's SHA-256. Like hypercore's reader, it so stores every verified block
 *    and outputs nothing anyone waits for. `--stdout-pipe` pipes its stdout into this
 *    process and hashes that instead (the bench process then competes for the CPU);
 *    `--output-file` uses `-o FILE` (fsync and rename included) and hashes the file.
 *    - *transfer* time: from the receiver's `connected` event to its `done` event (as read
 *      by this process): the same window hypercore_replicate.js times;
 *    - *total* time: from spawning the receiver to its exit (start-up, handshake, teardown).
 * 2. hypercore: `node bench/node/hypercore_replicate.js --bytes N` (writer + reader
 *    processes, TCP + @hyperswarm/secret-stream, 64 KiB blocks; connect → last block).
 *
 * Receiver CPU split. Both pigeon processes run `bench/_profiled_cli.ts`: the CLI with the
 * crypto entry points wrapped in accumulators of the main thread's CPU clock
 * (`clock_gettime(CLOCK_THREAD_CPUTIME_ID)` through FFI, ~1.5 µs a read; hash = BLAKE2b
 * leaf/parent, cipher = secretstream pull/push incl. the native ChaCha20 the WASM path uses
 * for large pulls, signature = Ed25519 sign/verify); it prints them at exit. Nothing in lib/
 * changes for this: `cli.ts` itself pays nothing. The receiver's CPU over the
 * transfer window is read from /proc/<pid>/stat (user and system separately, 10 ms ticks) at
 * `connected` and at `done`. "outside kernels" = that CPU minus the kernel time; its system
 * part is the kernel's socket reads and page-cache writes of the stored blocks.
 *
 * The machine is shared: each run records the 1-minute load average; the summary gives
 * min / median / max over runs.
 *
 * @module
 */

import { createHash } from "node:crypto";
import {
  type Child,
  flag,
  intOption,
  loadAverage,
  mbps,
  nodeBench,
  pigeon,
  processCpu,
  round,
  settleDisk,
  sha256File,
  stats,
  tempDir,
  writeSeededFile,
} from "./_harness.ts";

/** Seed of the reference benchmark's data (bench/node/hypercore_replicate.js). */
const DATA_SEED = "hypercore_replicate";
/** Block size both sides use. */
const BLOCK = 65536;

interface PigeonRun {
  transferSeconds: number;
  totalSeconds: number;
  transferMbps: number;
  totalMbps: number;
  recvCpu: { user: number; system: number; total: number };
  kernels: { hash: number; cipher: number; signature: number; total: number };
  outsideKernels: number;
  outsideKernelsShare: number;
  senderCpu: number;
}

interface HypercoreRun {
  seconds: number;
  mbps: number;
  readerCpu: number;
  writerCpu: number;
}

const args = Deno.args;
const mib = intOption(args, "mib", 256);
const runs = intOption(args, "runs", 3);
const outputFile = flag(args, "output-file");
const stdoutPipe = !outputFile && flag(args, "stdout-pipe");
const bytes = mib * 1024 * 1024;
if (bytes % BLOCK !== 0) throw new Error("--mib must give a whole number of 64 KiB blocks");

const work = tempDir("pigeon-bench-sr-");
try {
  const input = `${work.path}/input`;
  await writeSeededFile(input, bytes, DATA_SEED);
  const inputSha = await sha256File(input);
  log(`data: ${mib} MiB (${bytes} bytes), sha256 ${inputSha.slice(0, 16)}…`);

  const rows: { load: number; pigeon: PigeonRun; hypercore: HypercoreRun }[] = [];
  for (let run = 1; run <= runs; run++) {
    const load = loadAverage();
    // Alternate who goes first so a burst of load from elsewhere hits both equally often.
    let p: PigeonRun;
    let h: HypercoreRun;
    if (run % 2 === 1) {
      p = await runPigeon(input, inputSha, `${work.path}/run${run}`);
      h = await runHypercore();
    } else {
      h = await runHypercore();
      p = await runPigeon(input, inputSha, `${work.path}/run${run}`);
    }
    rows.push({ load, pigeon: p, hypercore: h });
    log(
      `run ${run}/${runs} (load ${load}): pigeon ${p.transferMbps} MB/s transfer ` +
        `(${p.totalMbps} total, recv CPU ${p.recvCpu.total} s, kernels ${p.kernels.total} s, ` +
        `outside ${round(p.outsideKernelsShare * 100, 1)} %)  hypercore ${h.mbps} MB/s ` +
        `(reader CPU ${h.readerCpu} s)  ratio ${round(p.transferMbps / h.mbps)}`,
    );
  }
  report(rows);
} finally {
  await work.remove();
}

async function runPigeon(input: string, inputSha: string, dir: string): Promise<PigeonRun> {
  const sender = pigeon([
    "send",
    input,
    "--port",
    "0",
    "--host",
    "127.0.0.1",
    "--store",
    `${dir}/send`,
    "--json",
    "--no-lan",
  ]);
  let receiver: Child | null = null;
  try {
    const logged = await sender.waitFor("log");
    const listening = await sender.waitFor("listening");
    const link = String(logged.line.link);
    const port = Number(listening.line.port);
    await settleDisk();
    const senderCpu0 = processCpu(sender.pid);

    const hash = createHash("sha256");
    const out = `${dir}/out`;
    let cpuAtConnect: { user: number; system: number } | null = null;
    let cpuAtDone: { user: number; system: number } | null = null;
    let senderCpu1: { user: number; system: number } | null = null;
    receiver = pigeon(
      [
        "recv",
        link,
        "--peer",
        `127.0.0.1:${port}`,
        "--store",
        `${dir}/recv`,
        "--json",
        "--no-lan",
        ...(outputFile ? ["-o", out] : []),
      ],
      {
        ...(stdoutPipe ? { onStdout: (chunk: Uint8Array) => hash.update(chunk) } : {}),
        onEvent: (e) => {
          // Read /proc as the events arrive: the process is still alive.
          if (e.line.event === "connected" && !cpuAtConnect) {
            cpuAtConnect = processCpu(receiver!.pid);
          }
          if (e.line.event === "done" && !cpuAtDone) {
            cpuAtDone = processCpu(receiver!.pid);
            senderCpu1 = processCpu(sender.pid);
          }
        },
      },
    );
    const connected = await receiver.waitFor("connected");
    const done = await receiver.waitFor("done");
    const status = await receiver.status;
    if (!status.success) throw new Error(`pigeon recv exited ${status.code}:\n${receiver.text}`);
    const profile = (await receiver.waitFor("profile")).line as unknown as Profile;
    const sha = outputFile
      ? await sha256File(out)
      : stdoutPipe
      ? hash.digest("hex")
      : await sha256File(await storedData(`${dir}/recv`));
    if (sha !== inputSha) throw new Error(`pigeon recv output differs from the input (${sha})`);
    if (Number(done.line.bytes) !== bytes) {
      throw new Error(`recv reported ${done.line.bytes} bytes`);
    }

    const transferSeconds = (done.at - connected.at) / 1000;
    const totalSeconds = (receiver.exitedAt - receiver.started) / 1000;
    const c0 = cpuAtConnect as { user: number; system: number } | null;
    const c1 = cpuAtDone as { user: number; system: number } | null;
    if (!c0 || !c1) throw new Error("could not read the receiver's CPU from /proc");
    const user = round(c1.user - c0.user);
    const system = round(c1.system - c0.system);
    const total = round(user + system);
    const k = profile.kernels;
    const kernels = {
      hash: round(k.hash.ms / 1000),
      cipher: round(k.cipher.ms / 1000),
      signature: round(k.signature.ms / 1000),
      total: round((k.hash.ms + k.cipher.ms + k.signature.ms) / 1000),
    };
    const s1 = senderCpu1 as { user: number; system: number } | null;
    const senderCpu = s1 && senderCpu0
      ? round(s1.user + s1.system - senderCpu0.user - senderCpu0.system)
      : NaN;
    return {
      transferSeconds: round(transferSeconds, 3),
      totalSeconds: round(totalSeconds, 3),
      transferMbps: mbps(bytes, transferSeconds),
      totalMbps: mbps(bytes, totalSeconds),
      recvCpu: { user, system, total },
      kernels,
      outsideKernels: round(total - kernels.total),
      outsideKernelsShare: total > 0 ? (total - kernels.total) / total : NaN,
      senderCpu,
    };
  } finally {
    receiver?.kill("SIGKILL");
    await receiver?.status;
    await sender.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** The `data` file of the one log in a store (`<store>/cores/<discovery key>/data`). */
async function storedData(store: string): Promise<string> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(`${store}/cores`)) {
    if (entry.isDirectory && !entry.name.startsWith(".")) names.push(entry.name);
  }
  if (names.length !== 1) throw new Error(`expected one log in ${store}, found ${names.length}`);
  return `${store}/cores/${names[0]}/data`;
}

interface Profile {
  cpu: { user: number; system: number };
  kernels: Record<"hash" | "cipher" | "signature", { calls: number; ms: number }>;
}

async function runHypercore(): Promise<HypercoreRun> {
  await settleDisk();
  const r = await nodeBench("hypercore_replicate.js", ["--bytes", String(bytes)]);
  return {
    seconds: Number(r.seconds),
    mbps: Number(r.mbps),
    readerCpu: Number(r.readerCpuSeconds),
    writerCpu: Number(r.writerCpuSeconds),
  };
}

function report(rows: { load: number; pigeon: PigeonRun; hypercore: HypercoreRun }[]): void {
  const line = (name: string, values: number[], unit: string) => {
    const s = stats(values);
    return `${name.padEnd(40)} ${fmt(s.min)} / ${fmt(s.median)} / ${fmt(s.max)} ${unit}`;
  };
  const p = rows.map((r) => r.pigeon);
  const h = rows.map((r) => r.hypercore);
  const summary = {
    bench: "send_recv_vs_hypercore",
    bytes,
    runs: rows.length,
    loads: rows.map((r) => r.load),
    pigeonTransferMbps: stats(p.map((x) => x.transferMbps)),
    pigeonTotalMbps: stats(p.map((x) => x.totalMbps)),
    hypercoreMbps: stats(h.map((x) => x.mbps)),
    ratioTransfer: stats(rows.map((r) => round(r.pigeon.transferMbps / r.hypercore.mbps))),
    ratioTotal: stats(rows.map((r) => round(r.pigeon.totalMbps / r.hypercore.mbps))),
    recvCpu: stats(p.map((x) => x.recvCpu.total)),
    recvKernels: stats(p.map((x) => x.kernels.total)),
    outsideKernelsShare: stats(p.map((x) => round(x.outsideKernelsShare, 3))),
    runsDetail: rows,
  };
  if (flag(Deno.args, "json")) {
    console.log(JSON.stringify(summary));
    return;
  }
  console.log(`\n${mib} MiB, ${rows.length} runs, load averages ${summary.loads.join(", ")}`);
  console.log(`${"".padEnd(40)} min / median / max`);
  console.log(line("pigeon send→recv (transfer)", p.map((x) => x.transferMbps), "MB/s"));
  console.log(line("pigeon send→recv (recv start→exit)", p.map((x) => x.totalMbps), "MB/s"));
  console.log(line("hypercore 11 replicate", h.map((x) => x.mbps), "MB/s"));
  console.log(
    line(
      "ratio pigeon/hypercore (transfer)",
      rows.map((r) => r.pigeon.transferMbps / r.hypercore.mbps),
      "×",
    ),
  );
  console.log(
    line(
      "ratio pigeon/hypercore (total)",
      rows.map((r) => r.pigeon.totalMbps / r.hypercore.mbps),
      "×",
    ),
  );
  console.log(line("pigeon recv CPU over transfer", p.map((x) => x.recvCpu.total), "s"));
  console.log(line("  user", p.map((x) => x.recvCpu.user), "s"));
  console.log(line("  system", p.map((x) => x.recvCpu.system), "s"));
  console.log(line("  kernels: hash (BLAKE2b)", p.map((x) => x.kernels.hash), "s"));
  console.log(line("  kernels: cipher (secretstream)", p.map((x) => x.kernels.cipher), "s"));
  console.log(line("  kernels: signature (Ed25519)", p.map((x) => x.kernels.signature), "s"));
  console.log(line("  outside the kernels", p.map((x) => x.outsideKernels), "s"));
  console.log(line("  outside the kernels, share", p.map((x) => x.outsideKernelsShare * 100), "%"));
  console.log(line("pigeon send CPU over transfer", p.map((x) => x.senderCpu), "s"));
  console.log(line("hypercore reader CPU", h.map((x) => x.readerCpu), "s"));
  console.log(line("hypercore writer CPU", h.map((x) => x.writerCpu), "s"));
}

function fmt(x: number): string {
  return Number.isFinite(x) ? String(round(x, 2)) : "n/a";
}

function log(text: string): void {
  console.error(text);
}
