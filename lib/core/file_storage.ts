/**
 * A core's storage in one folder: `header`, `tree`, `data`, `bitfield`,
 * `secret-key` (mode 0600) and `lock` (see `storage.ts` for the layouts).
 *
 * @module
 */

import { PigeonError } from "../errors.ts";
import type { CoreStorage, FileName, RandomAccess } from "./storage.ts";

const SECRET_KEY_MODE = 0o600;

/** A {@link RandomAccess} over a file on disk. */
export class DiskFile implements RandomAccess {
  readonly #file: Deno.FsFile | null;
  readonly #path: string;
  #size = 0;
  /** A second handle for appends written off the main thread (see writeAsync). */
  #appender: Deno.FsFile | null = null;
  /** The file offset after the last read or write, or -1 when unknown: a sequential access skips the seek. */
  #position = -1;

  /** Opens the file at `path`, creating it when writable; a missing read-only file reads as empty. */
  constructor(path: string, writable: boolean) {
    this.#path = path;
    let file: Deno.FsFile | null = null;
    try {
      file = Deno.openSync(path, { read: true, write: writable, create: writable });
      this.#size = file.statSync().size;
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound) || writable) throw storageError(path, err);
    }
    this.#file = file;
  }

  #handle(): Deno.FsFile {
    if (!this.#file) {
      throw new PigeonError("NOT_WRITABLE", `Storage file ${this.#path} is read-only`);
    }
    return this.#file;
  }

  read(offset: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    const available = Math.min(length, this.#size - offset);
    if (available <= 0 || !this.#file) return out;
    try {
      if (this.#position !== offset) this.#file.seekSync(offset, Deno.SeekMode.Start);
      this.#position = -1;
      let done = 0;
      while (done < available) {
        const n = this.#file.readSync(out.subarray(done, available));
        if (n === null || n === 0) break;
        done += n;
      }
      this.#position = offset + done;
    } catch (err) {
      throw storageError(this.#path, err);
    }
    return out;
  }

  write(offset: number, bytes: Uint8Array): void {
    const file = this.#handle();
    try {
      if (this.#position !== offset) file.seekSync(offset, Deno.SeekMode.Start);
      this.#position = -1;
      let done = 0;
      while (done < bytes.byteLength) done += file.writeSync(bytes.subarray(done));
      this.#position = offset + done;
    } catch (err) {
      throw storageError(this.#path, err);
    }
    if (offset + bytes.byteLength > this.#size) this.#size = offset + bytes.byteLength;
  }

  async writeAsync(offset: number, bytes: Uint8Array): Promise<void> {
    this.#handle();
    try {
      // Its own file handle: its seek position never races the synchronous reads.
      this.#appender ??= await Deno.open(this.#path, { write: true });
      await this.#appender.seek(offset, Deno.SeekMode.Start);
      let done = 0;
      while (done < bytes.byteLength) done += await this.#appender.write(bytes.subarray(done));
    } catch (err) {
      throw storageError(this.#path, err);
    }
    if (offset + bytes.byteLength > this.#size) this.#size = offset + bytes.byteLength;
  }

  size(): number {
    return this.#size;
  }

  truncate(size: number): void {
    this.#handle().truncateSync(size);
    this.#size = size;
  }

  sync(): void {
    this.#file?.syncDataSync();
    this.#appender?.syncDataSync();
  }

  close(): void {
    this.#file?.close();
    this.#appender?.close();
    this.#appender = null;
  }
}

function storageError(path: string, err: unknown): PigeonError {
  const reason = err instanceof Error ? err.message : String(err);
  return new PigeonError("CORRUPT_STORAGE", `Cannot use storage file ${path}: ${reason}`, {
    cause: err,
  });
}

/** Options for {@link FileStorage}. */
export interface FileStorageOptions {
  /** Open read-only: no lock, no writes (default false). */
  readOnly?: boolean;
  /**
   * Where the secret key lives (default `<dir>/secret-key`). Drives keep it
   * outside the shared folder, so copying a folder never copies the right to write.
   */
  secretKeyPath?: string;
  /** A replacement for the `data` file (e.g. one that reads blocks from working files). */
  data?: RandomAccess;
}

/** One core's storage in the folder `dir` (created when writable). */
export class FileStorage implements CoreStorage {
  readonly name: string;
  readonly #dir: string;
  readonly #readOnly: boolean;
  readonly #secretKeyPath: string;
  readonly #data: RandomAccess | undefined;
  #lockFile: Deno.FsFile | null = null;
  #open: RandomAccess[] = [];

  /** Storage in `dir`. */
  constructor(dir: string, options: FileStorageOptions = {}) {
    this.#dir = dir;
    this.name = dir;
    this.#readOnly = options.readOnly ?? false;
    this.#secretKeyPath = options.secretKeyPath ?? `${dir}/secret-key`;
    this.#data = options.data;
    if (!this.#readOnly) Deno.mkdirSync(dir, { recursive: true });
  }

  /** True when opened read-only. */
  get readOnly(): boolean {
    return this.#readOnly;
  }

  #path(name: string): string {
    return `${this.#dir}/${name}`;
  }

  lock(): void {
    if (this.#readOnly) throw new PigeonError("NOT_WRITABLE", `Storage ${this.#dir} is read-only`);
    if (this.#lockFile) return;
    const path = this.#path("lock");
    const file = Deno.openSync(path, { read: true, write: true, create: true });
    if (!file.tryLockSync(true)) {
      file.close();
      throw new PigeonError(
        "LOCKED",
        `Storage ${this.#dir} is in use by another process (lock ${path})`,
      );
    }
    this.#lockFile = file;
  }

  open(name: FileName): RandomAccess {
    if (name === "data" && this.#data) {
      this.#open.push(this.#data);
      return this.#data;
    }
    const file = new DiskFile(this.#path(name), !this.#readOnly);
    this.#open.push(file);
    return file;
  }

  readHeader(): Uint8Array | null {
    try {
      return Deno.readFileSync(this.#path("header"));
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return null;
      throw storageError(this.#path("header"), err);
    }
  }

  writeHeader(bytes: Uint8Array, sync: boolean): void {
    const temp = this.#path("header.tmp");
    const file = Deno.openSync(temp, { write: true, create: true, truncate: true });
    try {
      let done = 0;
      while (done < bytes.byteLength) done += file.writeSync(bytes.subarray(done));
      if (sync) file.syncSync();
    } finally {
      file.close();
    }
    Deno.renameSync(temp, this.#path("header"));
  }

  readSecretKey(): Uint8Array | null {
    try {
      return Deno.readFileSync(this.#secretKeyPath);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return null;
      throw storageError(this.#secretKeyPath, err);
    }
  }

  writeSecretKey(secretKey: Uint8Array): void {
    const path = this.#secretKeyPath;
    const parent = path.slice(0, path.lastIndexOf("/"));
    if (parent) Deno.mkdirSync(parent, { recursive: true, mode: 0o700 });
    Deno.writeFileSync(path, secretKey, { mode: SECRET_KEY_MODE });
    Deno.chmodSync(path, SECRET_KEY_MODE);
  }

  close(): void {
    for (const file of this.#open) file.close();
    this.#open = [];
    if (this.#lockFile) {
      this.#lockFile.close();
      this.#lockFile = null;
    }
  }
}
