/**
 * Folder import: pigeon (`FolderDrive.create` + `add`) against hyperdrive
 * 13.3.4 + localdrive + mirror-drive (`bench/node/hyperdrive_import.js`) on
 * folders of the same content, in the same run; then `add` again on the
 * unchanged folder.
 *
 *   deno run -A bench/drive_import.ts                 # 8 × 128 MiB and 10,000 × 4 KiB
 *   deno run -A bench/drive_import.ts --many 100000   # also 100,000 × 1 KiB (pigeon only)
 *   deno run -A bench/drive_import.ts --only small    # one case: big | small
 *
 * Folders hold files f000000 … of pseudo-random bytes: the AES-256-CTR
 * keystream of SHA-256("hyperdrive_import"), as the Node script makes them,
 * so both sides import the same bytes. Files are written, then left alone for
 * longer than the racy window (2 s), as files usually are when imported.
 * pigeon runs in a child process so its peak memory (VmHWM) is its own.
 * Prints one JSON line per measurement and a summary table. MB = 10^6 bytes.
 *
 * @module
 */

import { createCipheriv, createHash } from "node:crypto";
import { parseArgs } from "node:util";
import { FolderDrive } from "../lib/drive/folder_drive.ts";

const HERE = new URL(".", import.meta.url).pathname;
const SEED = "hyperdrive_import";
/** Files are left alone this long before importing (RACY_WINDOW_MS + margin). */
const SETTLE_MS = 2100;

interface Case {
  name: string;
  files: number;
  size: number;
  node: boolean;
}

interface Measured {
  seconds: number;
  maxRssMB: number;
  version?: number;
  changes?: number;
  verified?: number;
  bytes?: number;
}

function peakRssMB(): number {
  try {
    const status = Deno.readTextFileSync("/proc/self/status");
    const m = /VmHWM:\s+(\d+) kB/.exec(status);
    if (m) return Math.round(Number(m[1]) / 1024);
  } catch { /* not Linux */ }
  return Math.round(Deno.memoryUsage().rss / 1e6);
}

/** Child mode: one measured operation on `dir`, one JSON line on stdout. */
async function child(op: string, dir: string, keys: string): Promise<void> {
  const t0 = performance.now();
  let drive: FolderDrive;
  if (op === "import") drive = await FolderDrive.create(dir, { keysDir: keys });
  else drive = await FolderDrive.open(dir, { keysDir: keys, writable: true });
  const r = await drive.add();
  await drive.close();
  const seconds = (performance.now() - t0) / 1000;
  const out: Measured = {
    seconds: Math.round(seconds * 1000) / 1000,
    maxRssMB: peakRssMB(),
    version: r.version,
    changes: r.changes.length,
    verified: r.verified,
    bytes: r.bytesAppended,
  };
  console.log(JSON.stringify(out));
}

function makeFolder(dir: string, files: number, size: number): void {
  Deno.mkdirSync(dir, { recursive: true });
  const key = createHash("sha256").update(SEED, "utf8").digest();
  const cipher = createCipheriv("aes-256-ctr", key, new Uint8Array(16));
  const zeros = new Uint8Array(Math.min(size, 8 * 1024 * 1024));
  for (let i = 0; i < files; i++) {
    const file = Deno.openSync(`${dir}/f${String(i).padStart(6, "0")}`, {
      write: true,
      create: true,
      truncate: true,
    });
    for (let left = size; left > 0;) {
      const n = Math.min(left, zeros.byteLength);
      const chunk = cipher.update(zeros.subarray(0, n));
      let done = 0;
      while (done < chunk.byteLength) done += file.writeSync(chunk.subarray(done));
      left -= n;
    }
    file.close();
  }
}

async function runChild(op: string, dir: string, keys: string): Promise<Measured> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", new URL(import.meta.url).pathname, "--child", op, dir, keys],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (out.code !== 0) throw new Error(`pigeon ${op} failed (exit ${out.code})`);
  return JSON.parse(new TextDecoder().decode(out.stdout).trim());
}

async function runNode(files: number, size: number): Promise<Measured & { mbps: number }> {
  const out = await new Deno.Command("node", {
    args: [`${HERE}node/hyperdrive_import.js`, "--files", String(files), "--size", String(size)],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (out.code !== 0) throw new Error(`hyperdrive_import.js failed (exit ${out.code})`);
  return JSON.parse(new TextDecoder().decode(out.stdout).trim());
}

function mbps(bytes: number, seconds: number): number {
  return Math.round(bytes / 1e6 / seconds * 10) / 10;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      many: { type: "string" },
      only: { type: "string" },
    },
  });
  const cases: Case[] = [
    { name: "big", files: 8, size: 128 * 1024 * 1024, node: true },
    { name: "small", files: 10_000, size: 4096, node: true },
  ].filter((c) => values.only === undefined || c.name === values.only);
  if (values.many !== undefined) {
    cases.push({ name: "many", files: Number(values.many), size: 1024, node: false });
  }
  const rows: string[] = [];
  for (const c of cases) {
    const root = Deno.makeTempDirSync({ prefix: `pigeon-bench-import-${c.name}-` });
    try {
      const dir = `${root}/data`;
      const t = performance.now();
      makeFolder(dir, c.files, c.size);
      const made = (performance.now() - t) / 1000;
      await new Promise((r) => setTimeout(r, SETTLE_MS));
      const bytes = c.files * c.size;
      const imp = await runChild("import", dir, `${root}/keys`);
      const re1 = await runChild("readd", dir, `${root}/keys`);
      const re2 = await runChild("readd", dir, `${root}/keys`);
      const lines: Record<string, unknown>[] = [
        {
          bench: "drive_import",
          impl: "pigeon",
          case: c.name,
          files: c.files,
          size: c.size,
          ...imp,
          mbps: mbps(bytes, imp.seconds),
          filesPerSecond: Math.round(c.files / imp.seconds),
          folderSeconds: Math.round(made * 1000) / 1000,
        },
        { bench: "drive_readd", impl: "pigeon", case: c.name, files: c.files, ...re1 },
        { bench: "drive_readd", impl: "pigeon", case: c.name, files: c.files, run: 2, ...re2 },
      ];
      let nodeSeconds: number | null = null;
      if (c.node) {
        const n = await runNode(c.files, c.size);
        nodeSeconds = n.seconds;
        lines.push({ ...n, case: c.name });
      }
      for (const l of lines) console.log(JSON.stringify(l));
      rows.push(
        `${c.name.padEnd(6)} ${String(c.files).padStart(7)} × ${String(c.size).padStart(9)} B | ` +
          `pigeon ${imp.seconds.toFixed(2)} s (${mbps(bytes, imp.seconds)} MB/s, ` +
          `${imp.maxRssMB} MB RSS) | re-add ${re1.seconds.toFixed(2)} s ` +
          `(${re1.verified} read back) | ` +
          (nodeSeconds === null
            ? "hyperdrive —"
            : `hyperdrive ${nodeSeconds.toFixed(2)} s → ${
              (nodeSeconds / imp.seconds).toFixed(1)
            }×`),
      );
    } finally {
      Deno.removeSync(root, { recursive: true });
    }
  }
  console.log(rows.join("\n"));
}

if (import.meta.main) {
  if (Deno.args[0] === "--child") await child(Deno.args[1]!, Deno.args[2]!, Deno.args[3]!);
  else await main();
}
