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
 * While a mirror runs, each file written is appended to a journal beside the
 * record (`mirror.json.journal`, one JSON line `{path, blob, size, mtimeMs}`
 * per file) before it is reported, and the record is rewritten once at the
 * end. So a mirror killed at any point (even SIGKILL) loses at most the file
 * being renamed when it died, and a resumed run neither downloads nor writes
 * again a file that was finished; the cost per file is one small append
 * rather than a rewrite of the whole record. Temp files a killed run left
 * behind are removed by the next one.
 *
 * @module
 */

import type { DriveEntry, DriveReader } from "../drive/drive.ts";
import { exportDrive, type ExportResult } from "../drive/export.ts";
import { TEMP_PREFIX } from "../drive/ignore.ts";
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

/** The journal of files written since the record at `path` was last rewritten. */
export function journalPath(path: string): string {
  return `${path}.journal`;
}

/** Reads the mirror record (an empty one when absent) with its journal applied. */
export function readMirrorState(path: string): MirrorState {
  const state = readRecord(path);
  const journal = readBounded(journalPath(path));
  if (journal === null) return state;
  // One line per file written; a line cut short by a crash is the last one and is dropped.
  for (const line of journal.split("\n")) {
    let entry: ({ path: string } & MirroredFile) | null = null;
    try {
      entry = JSON.parse(line);
    } catch {
      continue;
    }
    if (
      entry && typeof entry.path === "string" && typeof entry.blob === "string" &&
      typeof entry.size === "number" && typeof entry.mtimeMs === "number"
    ) {
      state.files[entry.path] = { blob: entry.blob, size: entry.size, mtimeMs: entry.mtimeMs };
    }
  }
  return state;
}

function readRecord(path: string): MirrorState {
  const text = readBounded(path);
  if (text === null) return { version: 0, files: {} };
  try {
    const state = JSON.parse(text) as MirrorState;
    if (typeof state.version !== "number" || typeof state.files !== "object") {
      throw new Error("bad shape");
    }
    return state;
  } catch (err) {
    throw new PigeonError("CORRUPT_STORAGE", `Cannot read ${path}: ${(err as Error).message}`);
  }
}

/** A state file's text, or null when it does not exist. */
function readBounded(path: string): string | null {
  try {
    if (Deno.statSync(path).size > MAX_STATE_BYTES) throw new Error("too large");
    return Deno.readTextFileSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw new PigeonError("CORRUPT_STORAGE", `Cannot read ${path}: ${(err as Error).message}`);
  }
}

/** Rewrites the record (temp + rename) and then drops the journal it now includes. */
function writeMirrorState(path: string, state: MirrorState): void {
  const temp = `${path}.tmp`;
  Deno.writeTextFileSync(temp, JSON.stringify(state));
  Deno.renameSync(temp, path);
  try {
    Deno.removeSync(journalPath(path));
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
}

const encoder = new TextEncoder();

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
  const wanted: [number, number][] = [];
  for (const entry of selected) {
    const blob = entry.value.blob;
    if (blob && blob.blockLength > 0 && !unchanged(state, dir, entry)) {
      wanted.push([blob.blockOffset, blob.blockOffset + blob.blockLength]);
    }
  }
  for (const [start, end] of coalesce(wanted)) replication.prefetch(start, end);
  // The export reads each file by path; the entries are in hand, so read their
  // blobs directly instead of looking each path up in the db again.
  const byPath = new Map(selected.map((e) => [e.path, e]));
  const filtered = {
    listAll: async function* () {
      yield* selected;
    },
    read: (path: string) => {
      const blob = byPath.get(path)?.value.blob;
      return blob ? reader.blobs.read(blob) : reader.read(path);
    },
  } as unknown as DriveReader;
  removeStaleTemps(dir, selected);
  const journal = Deno.openSync(journalPath(statePath), { append: true, create: true });
  let result: ExportResult;
  try {
    result = await exportDrive(filtered, dir, {
      ...(options.signal ? { signal: options.signal } : {}),
      shouldWrite: (entry) => !unchanged(state, dir, entry),
      onEntry: (entry) => {
        const info = Deno.lstatSync(`${dir}${entry.path}`);
        const record = {
          blob: contentId(entry),
          size: info.size,
          mtimeMs: info.mtime?.getTime() ?? 0,
        };
        state.files[entry.path] = record;
        // Journaled before it is reported: a reported file is never written again.
        const line = encoder.encode(JSON.stringify({ path: entry.path, ...record }) + "\n");
        for (let at = 0; at < line.byteLength;) at += journal.writeSync(line.subarray(at));
        options.onFile?.(entry.path, entry.value.blob?.byteLength ?? 0);
      },
    });
  } finally {
    journal.close();
  }
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

/**
 * Merges block ranges that touch or overlap, in block order: files imported
 * together sit next to each other in the content log, so a whole clone is
 * usually one range (the replicator scans its ranges on every request).
 */
export function coalesce(ranges: [number, number][]): [number, number][] {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  for (const [start, end] of sorted) {
    const last = out.at(-1);
    if (last && start <= last[1]) last[1] = Math.max(last[1], end);
    else out.push([start, end]);
  }
  return out;
}

/**
 * Removes temp files an interrupted export left (`.pigeon-tmp-…`) in the
 * folders this mirror writes into; the write lock means none is in use.
 */
function removeStaleTemps(dir: string, entries: DriveEntry[]): void {
  const folders = new Set(entries.map((e) => e.path.slice(0, e.path.lastIndexOf("/"))));
  for (const folder of folders) {
    let listing: Iterable<Deno.DirEntry>;
    try {
      listing = Deno.readDirSync(`${dir}${folder}`);
    } catch {
      continue; // not made yet (or not a folder: export reports that)
    }
    for (const d of listing) {
      if (d.name.startsWith(TEMP_PREFIX) && !d.isDirectory) {
        Deno.removeSync(`${dir}${folder}/${d.name}`);
      }
    }
  }
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
