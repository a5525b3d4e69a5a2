/**
 * Export: one version of a drive written out as a folder.
 *
 * - Atomic per file: content goes to a temporary file in the same folder
 *   (`.pigeon-tmp-…`), which is then renamed over the final name, so a reader
 *   sees the old file or the new one, never a half-written one. Symlinks are
 *   made the same way. The executable bit becomes mode 0755 (else 0644).
 * - Safe: every entry path is checked before anything is written. A path
 *   that is not absolute, has an empty, `.` or `..` segment, a NUL or a `\`,
 *   starts with `.pigeon/`, or lies under another entry (say a symlink `evil`
 *   and a file `evil/x`) is refused with `DECODE_ERROR` and nothing is
 *   written. While writing, no symlink is ever followed: a folder on the way
 *   that is a symlink in the target (made earlier or already there) is
 *   refused with `BAD_ARGUMENT`, so nothing is written outside the target.
 * - Files whose content is not available (changed working files of a
 *   writer, blocks not downloaded) are skipped and listed; the rest is written.
 * - Files in the target that are not in the drive are left alone, unless
 *   `prune` is set; then they are removed (except `.pigeon/` and what the
 *   ignore rules leave out), and folders that become empty with them.
 *
 * @module
 */

import { PigeonError } from "../errors.ts";
import type { DriveEntry, DriveReader } from "./drive.ts";
import { IgnoreRules, STATE_DIR, TEMP_PREFIX } from "./ignore.ts";

/** Longest path segment written, in UTF-8 bytes (the usual file-name limit). */
export const MAX_NAME_BYTES = 255;

const FILE_MODE = 0o644;
const EXEC_MODE = 0o755;
const DIR_MODE = 0o755;

/** Options of {@link exportDrive}. */
export interface ExportOptions {
  /** Remove files in the target that are not in this version. */
  prune?: boolean;
  /** Cancels between files (`CLOSED`). */
  signal?: AbortSignal;
  /**
   * Decides whether an entry is written, given what is at its place now
   * (null when nothing is); default: always. Lets a sync skip unchanged files.
   */
  shouldWrite?: (entry: DriveEntry, existing: Deno.FileInfo | null) => boolean;
  /** Called after each entry is written. */
  onEntry?: (entry: DriveEntry) => void;
}

/** What an export did. */
export interface ExportResult {
  /** Files written. */
  files: number;
  /** Symlinks written. */
  symlinks: number;
  /** Entries left as they were (`shouldWrite` said no). */
  unchanged: number;
  /** Content bytes written. */
  bytes: number;
  /** Paths of files whose content is not available (not written). */
  unavailable: string[];
  /** Paths removed by `prune`. */
  pruned: string[];
}

const encoder = new TextEncoder();

/**
 * The segments of an entry path if it is safe to write under a folder;
 * otherwise `DECODE_ERROR` naming the path and the reason.
 *
 * @example
 * ```ts
 * import { safeSegments } from "./export.ts";
 * if (safeSegments("/docs/a.txt").join("|") !== "docs|a.txt") throw new Error("unexpected");
 * let refused = false;
 * try {
 *   safeSegments("/a/../../etc/passwd");
 * } catch {
 *   refused = true;
 * }
 * if (!refused) throw new Error("'..' must be refused");
 * ```
 */
export function safeSegments(path: string): string[] {
  const refuse = (why: string) =>
    new PigeonError(
      "DECODE_ERROR",
      `Unsafe path in drive: ${JSON.stringify(path)} (${why}); nothing was written`,
    );
  if (!path.startsWith("/")) throw refuse("not absolute");
  if (path.includes("\0")) throw refuse("contains NUL");
  if (path.includes("\\")) throw refuse("contains '\\'");
  const segments = path.slice(1).split("/");
  for (const s of segments) {
    if (s === "" || s === "." || s === "..") throw refuse(`has a '${s}' segment`);
    if (encoder.encode(s).byteLength > MAX_NAME_BYTES) {
      throw refuse(`a name is longer than ${MAX_NAME_BYTES} bytes`);
    }
  }
  if (segments[0] === STATE_DIR) throw refuse(`inside ${STATE_DIR}/`);
  return segments;
}

/** Writes version `reader` of a drive into the folder `target` (see the module doc). */
export async function exportDrive(
  reader: DriveReader,
  target: string,
  options: ExportOptions = {},
): Promise<ExportResult> {
  const entries: DriveEntry[] = [];
  for await (const e of reader.listAll()) entries.push(e);
  const plan = planExport(entries);

  Deno.mkdirSync(target, { recursive: true });
  const base = Deno.realPathSync(target);
  const result: ExportResult = {
    files: 0,
    symlinks: 0,
    unchanged: 0,
    bytes: 0,
    unavailable: [],
    pruned: [],
  };
  const paths = new Set(entries.map((e) => e.path));
  const madeDirs = new Set<string>();
  for (const { entry, segments } of plan) {
    if (options.signal?.aborted) throw new PigeonError("CLOSED", "Export was interrupted");
    const dir = ensureFolders(base, segments.slice(0, -1), madeDirs, paths, options, result);
    const full = `${dir}/${segments.at(-1)!}`;
    const existing = lstatOrNull(full);
    if (existing?.isDirectory) {
      throw new PigeonError(
        "BAD_ARGUMENT",
        `Cannot write ${entry.path}: a folder is in the way in ${base}`,
      );
    }
    if (options.shouldWrite && !options.shouldWrite(entry, existing)) {
      result.unchanged++;
      continue;
    }
    if (entry.value.linkname !== null) {
      const temp = tempName(dir);
      Deno.symlinkSync(entry.value.linkname, temp);
      renameInto(temp, full);
      result.symlinks++;
    } else {
      const written = await writeFile(reader, entry, dir, full);
      if (written === null) {
        result.unavailable.push(entry.path);
        continue;
      }
      result.files++;
      result.bytes += written;
    }
    options.onEntry?.(entry);
  }
  if (options.prune) prune(base, "", paths, result);
  return result;
}

/** The entries with their segments, after refusing unsafe paths and paths under other entries. */
function planExport(entries: DriveEntry[]): { entry: DriveEntry; segments: string[] }[] {
  const paths = new Set(entries.map((e) => e.path));
  return entries.map((entry) => {
    const segments = safeSegments(entry.path);
    let prefix = "";
    for (let i = 0; i < segments.length - 1; i++) {
      prefix += "/" + segments[i]!;
      if (paths.has(prefix)) {
        throw new PigeonError(
          "DECODE_ERROR",
          `Unsafe path in drive: ${JSON.stringify(entry.path)} lies under ${
            JSON.stringify(prefix)
          }, which is a file or symlink; nothing was written`,
        );
      }
    }
    return { entry, segments };
  });
}

/**
 * Makes sure `segments` below `base` are real folders (never symlinks);
 * resolves to the deepest one's path.
 */
function ensureFolders(
  base: string,
  segments: string[],
  made: Set<string>,
  paths: Set<string>,
  options: ExportOptions,
  result: ExportResult,
): string {
  let dir = base;
  let rel = "";
  for (const s of segments) {
    dir += "/" + s;
    rel += "/" + s;
    if (made.has(dir)) continue;
    const info = lstatOrNull(dir);
    if (info === null) {
      Deno.mkdirSync(dir, { mode: DIR_MODE });
    } else if (info.isSymlink) {
      throw new PigeonError(
        "BAD_ARGUMENT",
        `Cannot write under ${rel}: it is a symlink in ${base}, and pigeon never writes through symlinks`,
      );
    } else if (!info.isDirectory) {
      if (!options.prune || paths.has(rel)) {
        throw new PigeonError(
          "BAD_ARGUMENT",
          `Cannot write under ${rel}: it is a file in ${base} (use --prune to replace it)`,
        );
      }
      Deno.removeSync(dir);
      result.pruned.push(rel);
      Deno.mkdirSync(dir, { mode: DIR_MODE });
    }
    made.add(dir);
  }
  return dir;
}

/** Streams a file's content to a temp file and renames it into place; bytes, or null if unavailable. */
async function writeFile(
  reader: DriveReader,
  entry: DriveEntry,
  dir: string,
  full: string,
): Promise<number | null> {
  const temp = tempName(dir);
  const mode = entry.value.executable ? EXEC_MODE : FILE_MODE;
  const file = Deno.openSync(temp, { write: true, createNew: true, mode });
  let bytes = 0;
  let ok = false;
  try {
    for await (const chunk of reader.read(entry.path)) {
      let done = 0;
      while (done < chunk.byteLength) done += file.writeSync(chunk.subarray(done));
      bytes += chunk.byteLength;
    }
    ok = true;
  } catch (err) {
    if (!(err instanceof PigeonError && err.code === "NOT_AVAILABLE")) throw err;
  } finally {
    file.close();
    if (!ok) Deno.removeSync(temp);
  }
  if (!ok) return null;
  try {
    Deno.chmodSync(temp, mode); // the exact mode, whatever the umask
    renameInto(temp, full);
  } catch (err) {
    Deno.removeSync(temp);
    throw err;
  }
  return bytes;
}

function renameInto(temp: string, full: string): void {
  try {
    Deno.renameSync(temp, full); // replaces a file or symlink itself, never what a symlink names
  } catch (err) {
    try {
      Deno.removeSync(temp);
    } catch { /* already gone */ }
    throw err;
  }
}

function tempName(dir: string): string {
  return `${dir}/${TEMP_PREFIX}${crypto.randomUUID()}`;
}

function lstatOrNull(path: string): Deno.FileInfo | null {
  try {
    return Deno.lstatSync(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw err;
  }
}

/** Removes what is not in `paths` below `base` (see the module doc). */
function prune(base: string, rel: string, paths: Set<string>, result: ExportResult): void {
  pruneIn(base, rel, paths, IgnoreRules.forFolder(base), result);
}

/** Prunes one folder; `empty`: nothing is left in it, `removed`: this call removed something. */
function pruneIn(
  base: string,
  rel: string,
  paths: Set<string>,
  rules: IgnoreRules,
  result: ExportResult,
): { empty: boolean; removed: boolean } {
  let empty = true;
  let removed = false;
  for (const d of Deno.readDirSync(base + rel)) {
    const path = `${rel}/${d.name}`;
    if (rules.ignores(path.slice(1), d.isDirectory)) {
      empty = false;
      continue;
    }
    if (d.isDirectory) {
      const inner = pruneIn(base, path, paths, rules, result);
      if (inner.empty && inner.removed) {
        Deno.removeSync(base + path);
        removed = true;
      } else {
        empty = false;
      }
      continue;
    }
    if (paths.has(path)) {
      empty = false;
      continue;
    }
    Deno.removeSync(base + path);
    result.pruned.push(path);
    removed = true;
  }
  return { empty, removed };
}
