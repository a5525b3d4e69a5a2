/**
 * Import: a folder's current state becomes one new version of its drive.
 *
 * 1. Scan (synchronous): walk the folder, leaving out what the ignore rules
 *    say (`ignore.ts`); lstat every file and read every symlink. Symlinks to
 *    folders are kept as symlinks, never followed. Names a drive cannot hold
 *    (a `\`, invalid Unicode) and special files are skipped with a warning.
 * 2. Compare with the folder index (`folder_index.ts`): a file whose size,
 *    mtime and inode match its index entry is unchanged and not read. One
 *    whose mtime is within {@link RACY_WINDOW_MS} of the scan that recorded
 *    it, or whose size matches but mtime does not, is checked by reading its
 *    blocks back through the hash-verifying blobs log: same bytes, unchanged.
 * 3. Append contents (streaming): every new or changed file is read in 64 KiB
 *    blocks appended to the blobs log in batches of up to
 *    {@link MAX_BATCH_BYTES} (one signature per batch, many small files per
 *    batch). The file is stat'ed again after reading; if it changed while it
 *    was read, its blocks are dropped (or left unavailable if already
 *    appended) and it is read again, up to {@link MAX_FILE_RETRIES} times,
 *    then skipped with a warning (its previous version stays).
 * 4. Write entries: Hyperbee batches of puts and deletions, each of up to
 *    {@link MAX_DB_BATCH} entries appended to the db log at once (one batch
 *    for most imports). The drive version (db length) after the last is the
 *    import's version; it moves only if something changed.
 *
 * @module
 */

import { PigeonError } from "../errors.ts";
import type { Core } from "../core/core.ts";
import type { Drive } from "./drive.ts";
import { encodeEntry, type Entry, entryKey, normalizePath } from "./entry.ts";
import { DEFAULT_BLOCK_SIZE } from "./hyperblobs.ts";
import type { BlobId } from "./hyperblobs.ts";
import { IgnoreRules } from "./ignore.ts";
import type { FolderIndexState, IndexedFile, IndexEntry } from "./folder_index.ts";
import { segmentsOf, type WorkingFileContent } from "./file_content.ts";

/** Content bytes gathered before one blobs append (one signature). */
export const MAX_BATCH_BYTES = 4 * 1024 * 1024;
/** Blocks gathered before one blobs append, whatever their size. */
export const MAX_BATCH_BLOCKS = 1024;
/**
 * Entries written per db append. An import of more changes appends several
 * batches (its version is the db length after the last): this bounds the
 * memory a Hyperbee batch holds. Measured with bench/drive_import.ts
 * (100,000 files): peak RSS ~390 MB with 256, ~460–500 MB with 1024, same time.
 */
export const MAX_DB_BATCH = 256;
/** Times a file that changes while it is read is read again before it is skipped. */
export const MAX_FILE_RETRIES = 3;
/**
 * A file whose mtime is this close to (or after) the start of the scan that
 * recorded it may have changed within the same timestamp tick; the next
 * import checks its bytes (git's "racily clean" rule; 2 s covers FAT).
 */
export const RACY_WINDOW_MS = 2000;
/** Deepest folder nesting walked. */
export const MAX_WALK_DEPTH = 256;

/** Owner-execute bit of a file mode (S_IXUSR), which becomes the entry's executable flag. */
const S_IXUSR = 0o100;

/** A file or symlink found by the scan. */
export type ScanItem =
  | {
    kind: "file";
    path: string;
    size: number;
    mtimeMs: number;
    ino: number;
    executable: boolean;
  }
  | { kind: "symlink"; path: string; target: string };

/** One change an import records (or, for status, would record). */
export interface Change {
  /** New path, changed content/mode/target, or gone. */
  type: "add" | "change" | "delete";
  /** Normalised drive path. */
  path: string;
  /** What is at the path now (for deletions: what was). */
  kind: "file" | "symlink";
  /** Content bytes for files (0 for symlinks and deletions). */
  size: number;
}

/** What an import did. */
export interface ImportResult {
  /** Drive version (db length) before. */
  previous: number;
  /** Drive version after (equal to `previous` when nothing changed). */
  version: number;
  /** The changes, ordered by path. */
  changes: Change[];
  /** Files and symlinks in the drive after the import. */
  entries: number;
  /** Content bytes read and appended to the blobs log. */
  bytesAppended: number;
  /** Files read back to check they were unchanged. */
  verified: number;
  /** Paths left out with a reason (unsupported names, changing files). */
  skipped: { path: string; reason: string }[];
}

/** Progress of an import's content phase. */
export interface ImportProgress {
  /** Files whose content is done. */
  files: number;
  /** Of how many to read. */
  totalFiles: number;
  /** Content bytes read so far. */
  bytes: number;
  /** Of how many. */
  totalBytes: number;
}

/** Options of {@link importFolder}. */
export interface ImportOptions {
  /** Only compute the changes (for status): nothing is appended or written. */
  dryRun?: boolean;
  /** Cancels between files (`CLOSED`). */
  signal?: AbortSignal;
  /** Called now and then while contents are read. */
  onProgress?: (progress: ImportProgress) => void;
  /** Called for each file or name that is skipped. */
  onWarning?: (message: string) => void;
  /** The clock (ms since the epoch); tests pass their own. */
  now?: () => number;
  /**
   * Called after a file's bytes were read and before it is stat'ed again
   * (`attempt` counts from 0); tests use it to change a file mid-import.
   */
  afterRead?: (path: string, attempt: number) => void;
}

/** What an import works on: the folder, its drive (writable) and its index. */
export interface ImportTarget {
  /** The folder. */
  root: string;
  /** The drive; its db log receives the entry batch. */
  drive: Drive;
  /** The blobs core (opened with `verifyReads`). */
  blobs: Core;
  /** The working-file content store under the blobs core. */
  content: WorkingFileContent;
  /** The index as of the drive's current version (see {@link reconcileIndex}). */
  index: FolderIndexState;
}

/** What {@link importFolder} resolves to: the result and the index to save. */
export interface ImportOutcome {
  /** What was done. */
  result: ImportResult;
  /** The index after the import (unchanged object for a dry run). */
  index: FolderIndexState;
}

/**
 * Scans `root` (see the module doc, step 1). Items come sorted by path.
 * Warnings name what was skipped.
 */
export function scanFolder(
  root: string,
  onSkip: (path: string, reason: string) => void = () => {},
): ScanItem[] {
  const rules = IgnoreRules.forFolder(root);
  const items: ScanItem[] = [];
  walk(root, "", rules, items, onSkip, 0);
  items.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return items;
}

function walk(
  root: string,
  rel: string,
  rules: IgnoreRules,
  out: ScanItem[],
  onSkip: (path: string, reason: string) => void,
  depth: number,
): void {
  if (depth > MAX_WALK_DEPTH) {
    onSkip("/" + rel, `nested deeper than ${MAX_WALK_DEPTH} folders`);
    return;
  }
  const dir = rel === "" ? root : `${root}/${rel}`;
  let names: Deno.DirEntry[];
  try {
    names = [...Deno.readDirSync(dir)];
  } catch (err) {
    if (rel === "") throw err;
    onSkip("/" + rel, `cannot read folder (${errorText(err)})`);
    return;
  }
  for (const d of names) {
    const name = d.name;
    const path = rel === "" ? name : `${rel}/${name}`;
    const isDir = d.isDirectory;
    if (rules.ignores(path, isDir)) continue;
    const why = unsupportedName(name);
    if (why !== null) {
      onSkip("/" + path, why);
      continue;
    }
    if (isDir) {
      walk(root, path, rules, out, onSkip, depth + 1);
      continue;
    }
    let info: Deno.FileInfo;
    try {
      info = Deno.lstatSync(`${root}/${path}`);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) onSkip("/" + path, errorText(err));
      continue; // vanished during the walk
    }
    if (info.isSymlink) {
      try {
        out.push({
          kind: "symlink",
          path: "/" + path,
          target: Deno.readLinkSync(`${root}/${path}`),
        });
      } catch (err) {
        onSkip("/" + path, `cannot read symlink (${errorText(err)})`);
      }
    } else if (info.isFile) {
      out.push({
        kind: "file",
        path: "/" + path,
        size: info.size,
        mtimeMs: info.mtime?.getTime() ?? 0,
        ino: info.ino ?? 0,
        executable: ((info.mode ?? 0) & S_IXUSR) !== 0,
      });
    } else if (info.isDirectory) {
      walk(root, path, rules, out, onSkip, depth + 1); // became a folder during the walk
    } else {
      onSkip("/" + path, "not a regular file, folder or symlink");
    }
  }
}

/** Why a file name cannot be a drive path component, or null. */
function unsupportedName(name: string): string | null {
  if (!name.isWellFormed() || name.includes("\uFFFD")) return "name is not valid Unicode";
  if (name.includes("\\")) return "name contains '\\', which a drive reads as a folder separator";
  try {
    normalizePath("/" + name);
  } catch (err) {
    return errorText(err);
  }
  return null;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** True when the index entry may hide a same-tick change (see {@link RACY_WINDOW_MS}). */
function isRacy(entry: IndexedFile, scanTime: number): boolean {
  return entry.mtimeMs + RACY_WINDOW_MS >= scanTime;
}

/** True when every block of `blob` still reads back with its hash (the file is unchanged). */
async function contentIntact(blobs: Core, blob: BlobId): Promise<boolean> {
  for (let i = blob.blockOffset; i < blob.blockOffset + blob.blockLength; i++) {
    try {
      await blobs.get(i);
    } catch (err) {
      if (err instanceof PigeonError && err.code === "NOT_AVAILABLE") return false;
      throw err;
    }
  }
  return true;
}

/** A file whose content must be read and appended. */
interface Pending {
  item: Extract<ScanItem, { kind: "file" }>;
  type: "add" | "change";
}

/**
 * Imports the folder of `target` as one new drive version (see the module
 * doc). The caller saves the returned index and history.
 */
export async function importFolder(
  target: ImportTarget,
  options: ImportOptions = {},
): Promise<ImportOutcome> {
  const now = options.now ?? Date.now;
  const skipped: { path: string; reason: string }[] = [];
  const skip = (path: string, reason: string) => {
    skipped.push({ path, reason });
    options.onWarning?.(`skipped ${path}: ${reason}`);
  };
  const { index, blobs } = target;
  const scanTime = now();
  let items: ScanItem[] | null = scanFolder(target.root, skip);
  const previous = target.drive.db.log.length;

  const next = new Map<string, IndexEntry>();
  const changes: Change[] = [];
  const pending: Pending[] = [];
  let verified = 0;

  for (const item of items) {
    const old = index.entries.get(item.path);
    if (item.kind === "symlink") {
      const entry: IndexEntry = { kind: "symlink", path: item.path, target: item.target };
      next.set(item.path, entry);
      if (old?.kind === "symlink" && old.target === item.target) continue;
      changes.push({ type: old ? "change" : "add", path: item.path, kind: "symlink", size: 0 });
      continue;
    }
    if (old?.kind === "file" && old.size === item.size) {
      const statSame = old.mtimeMs === item.mtimeMs &&
        (old.ino === 0 || item.ino === 0 || old.ino === item.ino);
      let same = statSame && !isRacy(old, index.scanTime);
      if (!same && item.size === 0) same = true;
      if (!same) {
        checkAborted(options.signal);
        verified++;
        same = await contentIntact(blobs, old.blob);
      }
      if (same) {
        next.set(
          item.path,
          statSame && old.executable === item.executable
            ? old
            : { ...old, mtimeMs: item.mtimeMs, ino: item.ino, executable: item.executable },
        );
        if (old.executable !== item.executable) {
          changes.push({ type: "change", path: item.path, kind: "file", size: item.size });
        }
        continue;
      }
    }
    pending.push({ item, type: old ? "change" : "add" });
    if (old) next.set(item.path, old); // until its new content is in
  }
  items = null; // let the scan go: `next` and `pending` hold what is still needed
  for (const old of index.entries.values()) {
    if (next.has(old.path)) continue; // still there (files being re-read are in `next` too)
    changes.push({
      type: "delete",
      path: old.path,
      kind: old.kind,
      size: 0,
    });
  }

  let bytesAppended = 0;
  if (options.dryRun) {
    for (const p of pending) {
      changes.push({ type: p.type, path: p.item.path, kind: "file", size: p.item.size });
    }
  } else {
    let totalBytes = 0;
    for (const p of pending) totalBytes += p.item.size;
    const appender = new ContentAppender(target, options, pending.length, totalBytes);
    for (const p of pending) {
      checkAborted(options.signal);
      const done = await appender.importFile(p.item);
      if (done === "gone") {
        const old = index.entries.get(p.item.path);
        next.delete(p.item.path);
        if (old) changes.push({ type: "delete", path: old.path, kind: old.kind, size: 0 });
        continue;
      }
      if (done === "changing") {
        skip(p.item.path, `it kept changing while it was read (${MAX_FILE_RETRIES} tries)`);
        continue;
      }
      next.set(p.item.path, done);
      changes.push({ type: p.type, path: p.item.path, kind: "file", size: done.size });
    }
    await appender.flush();
    bytesAppended = appender.bytes;
  }
  changes.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));

  const result: ImportResult = {
    previous,
    version: previous,
    changes,
    entries: next.size,
    bytesAppended,
    verified,
    skipped,
  };
  if (options.dryRun) return { result, index };

  for (let at = 0; at < changes.length; at += MAX_DB_BATCH) {
    const batch = target.drive.db.batch();
    try {
      for (const c of changes.slice(at, at + MAX_DB_BATCH)) {
        if (c.type === "delete") await batch.del(entryKey(c.path));
        else await batch.put(entryKey(c.path), encodeEntry(entryOf(next.get(c.path)!)));
      }
      await batch.flush();
    } finally {
      batch.close();
    }
  }
  result.version = target.drive.db.log.length;
  const newIndex: FolderIndexState = {
    version: result.version,
    blobsLength: blobs.length,
    blobsByteLength: blobs.byteLength,
    scanTime,
    entries: next,
  };
  target.content.setSegments(segmentsOf(next.values()));
  return { result, index: newIndex };
}

/** The drive entry an index entry stands for. */
function entryOf(e: IndexEntry): Entry {
  if (e.kind === "symlink") {
    return { executable: false, linkname: e.target, blob: null, metadata: null };
  }
  return { executable: e.executable, linkname: null, blob: e.blob, metadata: null };
}

function checkAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new PigeonError("CLOSED", "Import was interrupted");
}

/** Reads files in 64 KiB blocks and appends them to the blobs log in batches. */
class ContentAppender {
  readonly #target: ImportTarget;
  readonly #options: ImportOptions;
  #batch: Uint8Array[] = [];
  #batchBytes = 0;
  #arena: Uint8Array | null = null;
  #flushes = 0;
  #progressAt = 0;
  #filesDone = 0;
  /** Content bytes appended (or pending) for accepted files. */
  bytes = 0;

  readonly #totalFiles: number;
  readonly #totalBytes: number;

  constructor(
    target: ImportTarget,
    options: ImportOptions,
    totalFiles: number,
    totalBytes: number,
  ) {
    this.#target = target;
    this.#options = options;
    this.#totalFiles = totalFiles;
    this.#totalBytes = totalBytes;
  }

  /** Blobs length / byte length including pending blocks. */
  #position(): [number, number] {
    const blobs = this.#target.blobs;
    return [blobs.length + this.#batch.length, blobs.byteLength + this.#batchBytes];
  }

  /** Reads and queues one file: its index entry, or why not. */
  async importFile(
    item: Extract<ScanItem, { kind: "file" }>,
  ): Promise<IndexedFile | "gone" | "changing"> {
    for (let attempt = 0; attempt < MAX_FILE_RETRIES; attempt++) {
      const done = await this.#tryFile(item, attempt);
      if (done === "gone") return done;
      if (done !== null) {
        this.#filesDone++;
        this.bytes += done.size;
        return done;
      }
    }
    return "changing";
  }

  async #tryFile(
    item: Extract<ScanItem, { kind: "file" }>,
    attempt: number,
  ): Promise<IndexedFile | null | "gone"> {
    const full = this.#target.root + item.path;
    let file: Deno.FsFile;
    try {
      file = Deno.openSync(full, { read: true });
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return "gone";
      throw err;
    }
    try {
      // The scan's lstat is the first try's "before"; later tries stat the open file.
      let before: FileStat = item;
      if (attempt > 0) {
        const info = file.statSync();
        if (!info.isFile) return "gone";
        before = statOf(info);
      }
      const size = before.size;
      const [blockOffset, byteOffset] = this.#position();
      const batchStart = this.#batch.length;
      const flushesBefore = this.#flushes;
      this.#target.content.register({ byteOffset, byteLength: size, path: item.path });
      let read = 0;
      let intact = true;
      while (read < size) {
        // Queued blocks sit back to back in one arena per batch: a few large
        // allocations instead of one per block keeps the process small.
        this.#arena ??= new Uint8Array(MAX_BATCH_BYTES + DEFAULT_BLOCK_SIZE);
        const start = this.#batchBytes;
        const block = this.#arena.subarray(
          start,
          start + Math.min(DEFAULT_BLOCK_SIZE, size - read),
        );
        const n = readFull(file, block);
        if (n < block.byteLength) {
          intact = false; // shrank while being read
          break;
        }
        read += n;
        this.#batch.push(block);
        this.#batchBytes += n;
        if (this.#batchBytes >= MAX_BATCH_BYTES || this.#batch.length >= MAX_BATCH_BLOCKS) {
          await this.flush();
        }
        this.#progress(read);
      }
      this.#options.afterRead?.(item.path, attempt);
      const after = file.statSync();
      if (!intact || !after.isFile || !sameStat(before, statOf(after))) {
        // Drop what is still queued of this file; appended blocks stay unavailable.
        const keep = this.#flushes === flushesBefore ? batchStart : 0;
        for (const b of this.#batch.splice(keep)) this.#batchBytes -= b.byteLength;
        this.#target.content.dropFrom(byteOffset);
        return null;
      }
      const [endBlock] = this.#position();
      return {
        kind: "file",
        path: item.path,
        executable: before.executable,
        size,
        mtimeMs: before.mtimeMs,
        ino: before.ino,
        blob: { blockOffset, byteOffset, blockLength: endBlock - blockOffset, byteLength: size },
      };
    } finally {
      file.close();
    }
  }

  /** Appends the queued blocks as one batch. */
  async flush(): Promise<void> {
    if (this.#batch.length === 0) return;
    const blocks = this.#batch;
    this.#batch = [];
    this.#batchBytes = 0;
    this.#arena = null;
    this.#flushes++;
    await this.#target.blobs.append(blocks);
  }

  #progress(fileBytes: number): void {
    const report = this.#options.onProgress;
    if (report === undefined) return;
    const t = Date.now();
    if (t - this.#progressAt < 200) return;
    this.#progressAt = t;
    report({
      files: this.#filesDone,
      totalFiles: this.#totalFiles,
      bytes: this.bytes + fileBytes,
      totalBytes: this.#totalBytes,
    });
  }
}

/** What import compares to tell whether a file changed. */
interface FileStat {
  size: number;
  mtimeMs: number;
  ino: number;
  executable: boolean;
}

function statOf(info: Deno.FileInfo): FileStat {
  return {
    size: info.size,
    mtimeMs: info.mtime?.getTime() ?? 0,
    ino: info.ino ?? 0,
    executable: ((info.mode ?? 0) & S_IXUSR) !== 0,
  };
}

function sameStat(a: FileStat, b: FileStat): boolean {
  return a.size === b.size && a.mtimeMs === b.mtimeMs &&
    (a.ino === b.ino || a.ino === 0 || b.ino === 0);
}

/** Reads until `into` is full or the file ends; the count read. */
function readFull(file: Deno.FsFile, into: Uint8Array): number {
  let done = 0;
  while (done < into.byteLength) {
    const n = file.readSync(into.subarray(done));
    if (n === null || n === 0) break;
    done += n;
  }
  return done;
}

/**
 * The index to import against when the saved one does not match the drive
 * (none saved, or a crash between the db append and the index save): one
 * entry per drive entry, keeping the saved file stats only where the saved
 * entry names the same blob, so every other file is checked by content.
 */
export async function reconcileIndex(
  drive: Drive,
  saved: FolderIndexState | null,
): Promise<FolderIndexState> {
  const entries = new Map<string, IndexEntry>();
  for await (const e of drive.list("/")) {
    const v = e.value;
    if (v.linkname !== null) {
      entries.set(e.path, { kind: "symlink", path: e.path, target: v.linkname });
      continue;
    }
    if (v.blob === null || v.blob.blockMap) continue; // not a working-file blob: re-import
    const old = saved?.entries.get(e.path);
    const same = old?.kind === "file" && sameBlob(old.blob, v.blob);
    entries.set(e.path, {
      kind: "file",
      path: e.path,
      executable: v.executable,
      size: v.blob.byteLength,
      mtimeMs: same ? old.mtimeMs : -1,
      ino: same ? old.ino : 0,
      blob: v.blob,
    });
  }
  return {
    version: drive.db.log.length,
    blobsLength: saved?.blobsLength ?? 0,
    blobsByteLength: saved?.blobsByteLength ?? 0,
    scanTime: saved?.scanTime ?? 0,
    entries,
  };
}

function sameBlob(a: BlobId, b: BlobId): boolean {
  return a.blockOffset === b.blockOffset && a.byteOffset === b.byteOffset &&
    a.blockLength === b.blockLength && a.byteLength === b.byteLength;
}
