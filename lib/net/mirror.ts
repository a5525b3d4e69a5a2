/**
 * Mirrors a drive version from the network into a clone's folder: only the
 * selected files, each written complete (temp file + rename) after every
 * block verified, and only when it changed since the last mirror.
 *
 * `.pigeon/mirror.json` records what was written — `{version, files: {path:
 * {blob, size, mtimeMs}}}` — so a resumed or repeated pull rewrites only files
 * whose content changed, and deletes only files it wrote itself (a file the
 * user edited since is left alone).
 *
 * @module
 */

import type { DriveEntry, DriveReader } from "../drive/drive.ts";
import { exportDrive, type ExportResult } from "../drive/export.ts";
import { PigeonError } from "../errors.ts";
import type { DriveReplication } from "./drive_replication.ts";

/** Longest mirror record read. */
const MAX_STATE_BYTES = 64 * 1024 * 1024;

/** What was written for one path. */
interface MirroredFile {
  /** The entry's content id (`byteOffset:byteLength`) or symlink target. */
  blob: string;
  /** Size and mtime of the file as written, to notice later local edits. */
  size: number;
  mtimeMs: number;
}

/** The mirror record of a clone folder. */
export interface MirrorState {
  /** Version mirrored last (0 before the first). */
  version: number;
  /** Paths written. */
  files: Record<string, MirroredFile>;
}

/** Options of {@link mirrorVersion}. */
export interface MirrorOptions {
  /** Which paths to fetch (default: all). */
  select?: (path: string) => boolean;
  /** Cancels (`CLOSED`). */
  signal?: AbortSignal;
  /** Called after each file is written. */
  onFile?: (path: string, bytes: number) => void;
}

/** What a mirror did. */
export interface MirrorResult extends ExportResult {
  /** The version mirrored. */
  version: number;
  /** Paths removed because the version no longer has them. */
  removed: string[];
  /** Entries selected. */
  selected: number;
}

/** Reads the mirror record (an empty one when absent). */
export function readMirrorState(path: string): MirrorState {
  try {
    const info = Deno.statSync(path);
    if (info.size > MAX_STATE_BYTES) throw new Error("too large");
    const state = JSON.parse(Deno.readTextFileSync(path)) as MirrorState;
    if (typeof state.version !== "number" || typeof state.files !== "object") {
      throw new Error("bad shape");
    }
    return state;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return { version: 0, files: {} };
    throw new PigeonError("CORRUPT_STORAGE", `Cannot read ${path}: ${(err as Error).message}`);
  }
}

function writeMirrorState(path: string, state: MirrorState): void {
  const temp = `${path}.tmp`;
  Deno.writeTextFileSync(temp, JSON.stringify(state));
  Deno.renameSync(temp, path);
}

function contentId(entry: DriveEntry): string {
  const v = entry.value;
  if (v.linkname !== null) return `link:${v.linkname}`;
  if (!v.blob) return "empty";
  return `${v.blob.byteOffset}:${v.blob.byteLength}${v.executable ? ":x" : ""}`;
}

/**
 * Writes `version` of the replicated drive into `dir`, fetching only the
 * content of selected files that changed. The record at `statePath` is
 * updated as files land, so an interrupted mirror resumes where it stopped.
 */
export async function mirrorVersion(
  replication: DriveReplication,
  version: number,
  dir: string,
  statePath: string,
  options: MirrorOptions = {},
): Promise<MirrorResult> {
  const state = readMirrorState(statePath);
  const reader = await replication.checkout(version);
  const select = options.select ?? (() => true);
  const selected: DriveEntry[] = [];
  for await (const entry of reader.listAll()) {
    if (select(entry.path)) selected.push(entry);
  }
  // Queue every needed content block now so downloads pipeline across files.
  for (const entry of selected) {
    const blob = entry.value.blob;
    if (blob && blob.blockLength > 0 && !unchanged(state, dir, entry)) {
      replication.prefetch(blob.blockOffset, blob.blockOffset + blob.blockLength);
    }
  }
  const filtered = {
    listAll: async function* () {
      yield* selected;
    },
    read: (path: string) => reader.read(path),
  } as unknown as DriveReader;
  let sinceSave = 0;
  const result = await exportDrive(filtered, dir, {
    ...(options.signal ? { signal: options.signal } : {}),
    shouldWrite: (entry) => !unchanged(state, dir, entry),
    onEntry: (entry) => {
      const info = Deno.lstatSync(`${dir}${entry.path}`);
      state.files[entry.path] = {
        blob: contentId(entry),
        size: info.size,
        mtimeMs: info.mtime?.getTime() ?? 0,
      };
      options.onFile?.(entry.path, entry.value.blob?.byteLength ?? 0);
      if (++sinceSave >= 64) {
        sinceSave = 0;
        writeMirrorState(statePath, state);
      }
    },
  });
  const keep = new Set(selected.map((e) => e.path));
  const removed: string[] = [];
  for (const [path, record] of Object.entries(state.files)) {
    if (keep.has(path)) continue;
    const full = `${dir}${path}`;
    let info: Deno.FileInfo | null = null;
    try {
      info = Deno.lstatSync(full);
    } catch { /* already gone */ }
    // Only delete what we wrote and nobody changed since.
    if (info && info.size === record.size && (info.mtime?.getTime() ?? 0) === record.mtimeMs) {
      Deno.removeSync(full);
      removed.push(path);
    }
    delete state.files[path];
  }
  state.version = version;
  writeMirrorState(statePath, state);
  return { ...result, version, removed, selected: selected.length };
}

function unchanged(state: MirrorState, dir: string, entry: DriveEntry): boolean {
  const record = state.files[entry.path];
  if (!record || record.blob !== contentId(entry)) return false;
  try {
    const info = Deno.lstatSync(`${dir}${entry.path}`);
    return info.size === record.size && (info.mtime?.getTime() ?? 0) === record.mtimeMs;
  } catch {
    return false;
  }
}
