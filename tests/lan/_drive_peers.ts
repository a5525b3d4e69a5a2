/**
 * Helpers for the share / clone / pull / sync tests (`share_clone_lan_test.ts`
 * here, `tests/e2e/share_clone_test.ts`, `tests/e2e/drive_interop_test.ts`):
 * folder trees written and compared (contents, exec bits, symlinks), pigeon's
 * `--json` events read from either output, a running `pigeon share`, and what
 * a clone folder holds.
 *
 * @module
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { FolderDrive } from "../../lib/drive/folder_drive.ts";
import { TEMP_PREFIX } from "../../lib/drive/ignore.ts";
import { MAX_WAIT_MS, type PigeonProc, spawnPigeon } from "../e2e/_cli.ts";

/** What to put at one path of a test tree. */
export type TreeItemSpec =
  | string
  | Uint8Array
  | { data: string | Uint8Array; exec: true }
  | { symlink: string };

/** One path of a tree as read back. */
export interface TreeItem {
  type: "file" | "symlink";
  /** Files: executable by the owner. */
  exec?: boolean;
  /** Files: size and SHA-256. */
  size?: number;
  sha256?: string;
  /** Symlinks: the target as stored. */
  target?: string;
}

const encoder = new TextEncoder();

/** Writes `spec` (relative path → content) under `root`, making folders as needed. */
export function writeTree(root: string, spec: Record<string, TreeItemSpec>): void {
  for (const [path, item] of Object.entries(spec)) {
    const full = `${root}/${path}`;
    Deno.mkdirSync(full.slice(0, full.lastIndexOf("/")), { recursive: true });
    if (typeof item === "object" && "symlink" in item) {
      Deno.symlinkSync(item.symlink, full);
      continue;
    }
    const data = typeof item === "object" && "exec" in item ? item.data : item;
    Deno.writeFileSync(full, typeof data === "string" ? encoder.encode(data) : data);
    Deno.chmodSync(full, typeof item === "object" && "exec" in item ? 0o755 : 0o644);
  }
}

/**
 * Every file and symlink under `root` by relative path (`.pigeon/` at the top
 * left out; leftover temp files are included, so a comparison catches them).
 */
export function readTree(root: string): Record<string, TreeItem> {
  const out: Record<string, TreeItem> = {};
  const walk = (rel: string) => {
    for (const d of Deno.readDirSync(rel === "" ? root : `${root}/${rel}`)) {
      const path = rel === "" ? d.name : `${rel}/${d.name}`;
      if (path === ".pigeon") continue;
      const full = `${root}/${path}`;
      if (d.isSymlink) {
        out[path] = { type: "symlink", target: Deno.readLinkSync(full) };
      } else if (d.isDirectory) {
        walk(path);
      } else {
        const data = Deno.readFileSync(full);
        out[path] = {
          type: "file",
          exec: ((Deno.statSync(full).mode ?? 0) & 0o100) !== 0,
          size: data.byteLength,
          sha256: createHash("sha256").update(data).digest("hex"),
        };
      }
    }
  };
  walk("");
  return out;
}

/** Asserts the trees under `actual` and `expected` hold the same paths, bytes, modes and links. */
export function assertSameTree(actual: string, expected: string, what = actual): void {
  const a = readTree(actual);
  const e = readTree(expected);
  assert.deepEqual(Object.keys(a).sort(), Object.keys(e).sort(), `${what}: the same paths`);
  for (const [path, item] of Object.entries(e)) {
    assert.deepEqual(a[path], item, `${what}: ${path}`);
  }
}

/** Paths under `root` that are leftover temp files of an export. */
export function tempFiles(root: string): string[] {
  return Object.keys(readTree(root)).filter((p) => p.split("/").at(-1)!.startsWith(TEMP_PREFIX));
}

/** The modification times (ms) of `paths` under `root`. */
export function mtimes(root: string, paths: string[]): Record<string, number> {
  return Object.fromEntries(
    paths.map((p) => [p, Deno.lstatSync(`${root}/${p}`).mtime?.getTime() ?? 0]),
  );
}

/** Every `--json` event a pigeon process printed so far, from stdout and stderr. */
export function jsonEvents(proc: PigeonProc): Record<string, unknown>[] {
  const text = new TextDecoder().decode(proc.stdout()) + "\n" + proc.stderr;
  const events: Record<string, unknown>[] = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith("{") || !line.endsWith("}")) continue;
    try {
      events.push(JSON.parse(line) as Record<string, unknown>);
    } catch { /* a line still being written */ }
  }
  return events;
}

/** Resolves with the first event named `name` that `test` accepts (bounded by `ms`). */
export function waitJson(
  proc: PigeonProc,
  name: string,
  test: (e: Record<string, unknown>) => boolean = () => true,
  ms: number = MAX_WAIT_MS,
): Promise<Record<string, unknown>> {
  return proc.waitFor(
    () => jsonEvents(proc).find((e) => e.event === name && test(e)),
    `the ${name} event`,
    ms,
  );
}

/** How to run pigeon for these tests. */
export interface PeerOptions {
  /** Data folder (PIGEON_HOME). */
  home: string;
  /** PIGEON_LAN for the process: "off", "loopback" or interface addresses. */
  lan: string;
  /** Command prefix (e.g. `ip netns exec NS`). */
  prefix?: string[];
}

/** Spawns `pigeon ...args` with `peer`'s data folder, LAN scope and prefix. */
export function pigeonAt(peer: PeerOptions, args: string[]): PigeonProc {
  return spawnPigeon(args, {
    env: { PIGEON_HOME: peer.home, PIGEON_LAN: peer.lan },
    ...(peer.prefix ? { prefix: peer.prefix } : {}),
  });
}

/** A running `pigeon share` (or `sync` of a writer folder). */
export interface Sharer {
  proc: PigeonProc;
  /** The drive's link (first stdout line). */
  link: string;
  /** The TCP port it listens on. */
  port: number;
}

/**
 * Starts `pigeon <command> DIR --port 0 --json …extra` (command `share` or
 * `sync`) and resolves once the link is printed and the port is known.
 */
export async function startShare(
  peer: PeerOptions,
  dir: string,
  extra: string[] = [],
  command: "share" | "sync" = "share",
): Promise<Sharer> {
  const port = command === "share" ? ["--port", "0"] : [];
  const proc = pigeonAt(peer, [command, dir, ...port, "--json", ...extra]);
  try {
    const link = await proc.waitStdoutLine(MAX_WAIT_MS * 2);
    const listening = await waitJson(proc, "listening", () => true, MAX_WAIT_MS * 2);
    return { proc, link, port: Number(listening.port) };
  } catch (err) {
    await proc.stop();
    throw err;
  }
}

/** Blocks a clone folder holds of its db and blobs cores (read-only; no lock taken). */
export async function heldBlocks(
  dir: string,
): Promise<{ db: number; dbLength: number; blobs: number; blobsLength: number }> {
  const folder = await FolderDrive.open(dir, { keysDir: `${dir}/.pigeon/no-keys` });
  try {
    const blobs = folder.blobs;
    return {
      db: folder.db.countHeld(),
      dbLength: folder.db.length,
      blobs: blobs?.countHeld() ?? 0,
      blobsLength: blobs?.length ?? 0,
    };
  } finally {
    await folder.close();
  }
}

/** `n` pseudo-random bytes (fast enough for tens of MiB). */
export function noise(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  const words = new Uint32Array(out.buffer, 0, n >>> 2);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
  for (let i = words.length * 4; i < n; i++) out[i] = i & 0xff;
  return out;
}
