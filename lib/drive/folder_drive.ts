/**
 * A folder that is a drive: its state in `<folder>/.pigeon/`, its files as
 * plain files next to it.
 *
 * | path in `.pigeon/` | what                                                        |
 * |--------------------|-------------------------------------------------------------|
 * | `drive.json`       | `{"format":1,"key":<hex db key>,"kind":"writer"\|"clone"}`  |
 * | `db/`              | the db core (Hyperbee of entries), `lib/core` file storage  |
 * | `blobs/`           | the blobs core; a writer's has no `data` file (see below)   |
 * | `index`            | writer: the folder index (`folder_index.ts`)                |
 * | `history`          | writer: one JSON line per import `{version, previous, …}`   |
 * | `lock`             | held (flock) by the process that opened the drive writable  |
 *
 * Two kinds:
 * - **writer** (made by {@link FolderDrive.create}): a fresh Ed25519 key pair
 *   signs a manifest-v1 db core, as Hyperdrive on Corestore makes it, and the
 *   blobs core uses `contentManifest` with the same key pair (SPEC g.3). The
 *   secret key lives outside the folder, in `<keysDir>/<db discovery key hex>`
 *   (mode 0600), so copying the folder never copies the right to write it.
 *   Its blobs content is read from the working files (`file_content.ts`),
 *   never copied; the blobs core verifies every read.
 * - **clone** (made by {@link FolderDrive.createClone}): opened by key, no
 *   secret key, blobs stored normally in `.pigeon/blobs/` (a verified copy);
 *   its blobs core is opened once the db manifest is known ({@link openBlobs}).
 *
 * Opened `writable`, a process holds `.pigeon/lock` (one writer per folder,
 * `LOCKED` otherwise). Opened without, nothing takes the lock and nothing is
 * written to disk, so status, ls or cat run while an import is under way.
 *
 * @module
 */

import { PigeonError } from "../errors.ts";
import { Core } from "../core/core.ts";
import { FileStorage } from "../core/file_storage.ts";
import type { CoreStorage, FileName, RandomAccess } from "../core/storage.ts";
import { defaultManifest, manifestHash } from "../core/manifest.ts";
import { discoveryKey } from "../core/caps.ts";
import { type KeyPair, keyPair as makeKeyPair, validateKeyPair } from "../crypto/ed25519.ts";
import { equals, fromHex, toHex } from "../crypto/bytes.ts";
import { blobsKey, contentManifest } from "./blobs_key.ts";
import { Drive, DRIVE_HEADER_METADATA, type DriveReader } from "./drive.ts";
import { encodeHeader, HYPERBEE_PROTOCOL } from "./hyperbee_codec.ts";
import { Hyperbee } from "./hyperbee.ts";
import {
  emptyIndex,
  type FolderIndexState,
  readIndexFile,
  writeIndexFile,
} from "./folder_index.ts";
import { segmentsOf, WorkingFileContent } from "./file_content.ts";
import { importFolder, type ImportOptions, type ImportResult, reconcileIndex } from "./import.ts";
import { STATE_DIR } from "./ignore.ts";

export { STATE_DIR };

/** Format number of `drive.json`. */
export const DRIVE_FORMAT = 1;
/** Longest `drive.json` or history file read, in bytes. */
export const MAX_STATE_FILE_BYTES = 64 * 1024 * 1024;

/** A writer folder (content from working files) or a clone (content stored). */
export type FolderDriveKind = "writer" | "clone";

/** One import, as recorded in `.pigeon/history`. */
export interface VersionRecord {
  /** Drive version (db length) after the import. */
  version: number;
  /** Drive version before it. */
  previous: number;
  /** When it was made (ISO 8601). */
  time: string;
  /** Paths added. */
  added: number;
  /** Paths whose content, mode or target changed. */
  changed: number;
  /** Paths deleted. */
  deleted: number;
}

/** Options shared by the constructors. */
export interface FolderDriveOptions {
  /** Where secret keys live (`<data folder>/keys`). */
  keysDir: string;
}

/** Options of {@link FolderDrive.open}. */
export interface OpenOptions extends FolderDriveOptions {
  /** Take the write lock and the secret key (for import); default false. */
  writable?: boolean;
}

/** Options of {@link FolderDrive.create}. */
export interface CreateOptions extends FolderDriveOptions {
  /** The key pair to sign with (default: a fresh one). */
  keyPair?: KeyPair;
}

interface DriveJson {
  format: number;
  key: string;
  kind: FolderDriveKind;
}

/** The state folder of `dir`. */
export function stateDir(dir: string): string {
  return `${trimSlash(dir)}/${STATE_DIR}`;
}

/** Where the secret key of the drive with `key` lives under `keysDir`. */
export function secretKeyPath(keysDir: string, key: Uint8Array): string {
  return `${trimSlash(keysDir)}/${toHex(discoveryKey(key))}`;
}

function trimSlash(dir: string): string {
  return dir.length > 1 && dir.endsWith("/") ? dir.slice(0, -1) : dir;
}

/** A drive kept in a folder (see the module doc). */
export class FolderDrive {
  /** The folder. */
  readonly dir: string;
  /** Writer or clone. */
  readonly kind: FolderDriveKind;
  /** The db core. */
  readonly db: Core;
  /** Where this drive's secret key is (or would be). */
  readonly keyPath: string;
  #blobs: Core | null;
  #drive: Drive | null = null;
  #content: WorkingFileContent | null;
  #index: FolderIndexState | null;
  readonly #writable: boolean;
  #lock: Deno.FsFile | null;
  #closed = false;

  private constructor(init: {
    dir: string;
    kind: FolderDriveKind;
    db: Core;
    blobs: Core | null;
    content: WorkingFileContent | null;
    index: FolderIndexState | null;
    keyPath: string;
    writable: boolean;
    lock: Deno.FsFile | null;
  }) {
    this.dir = init.dir;
    this.kind = init.kind;
    this.db = init.db;
    this.#blobs = init.blobs;
    this.#content = init.content;
    this.#index = init.index;
    this.keyPath = init.keyPath;
    this.#writable = init.writable;
    this.#lock = init.lock;
  }

  /** True when `dir` holds a drive (`.pigeon/drive.json`). */
  static isDrive(dir: string): boolean {
    try {
      return Deno.statSync(`${stateDir(dir)}/drive.json`).isFile;
    } catch {
      return false;
    }
  }

  /**
   * Makes `dir` a new writer drive (empty: version 1 is the db header alone);
   * import its files with {@link add}. `BAD_ARGUMENT` if it is a drive already.
   */
  static async create(dir: string, options: CreateOptions): Promise<FolderDrive> {
    const root = trimSlash(dir);
    const info = statOrNull(root);
    if (info === null || !info.isDirectory) {
      throw new PigeonError("BAD_ARGUMENT", `Not a folder: ${root}`);
    }
    if (FolderDrive.isDrive(root) || statOrNull(stateDir(root)) !== null) {
      throw new PigeonError("BAD_ARGUMENT", `${root} is already a drive (${STATE_DIR}/ exists)`);
    }
    const pair = options.keyPair ?? makeKeyPair();
    if (!validateKeyPair(pair)) throw new PigeonError("BAD_ARGUMENT", "Invalid key pair");
    const manifest = defaultManifest(pair.publicKey);
    const key = manifestHash(manifest);
    const keyPath = secretKeyPath(options.keysDir, key);
    const state = stateDir(root);
    Deno.mkdirSync(state, { recursive: true });
    let db: Core | null = null;
    let blobs: Core | null = null;
    let lock: Deno.FsFile | null = null;
    try {
      lock = lockFolder(state);
      db = await Core.open(new FileStorage(`${state}/db`, { secretKeyPath: keyPath }), {
        keyPair: pair,
        manifest,
      });
      const content = new WorkingFileContent(root);
      blobs = await Core.open(
        new FileStorage(`${state}/blobs`, { secretKeyPath: keyPath, data: content }),
        { keyPair: pair, manifest: contentManifest(manifest, key)!, verifyReads: true },
      );
      // Hyperbee's header, as hyperdrive writes it with the first entry.
      await db.append([
        encodeHeader({ protocol: HYPERBEE_PROTOCOL, metadata: DRIVE_HEADER_METADATA }),
      ]);
      const index = emptyIndex();
      index.version = db.length;
      writeIndexFile(`${state}/index`, index);
      writeJson(`${state}/drive.json`, { format: DRIVE_FORMAT, key: toHex(key), kind: "writer" });
      return new FolderDrive({
        dir: root,
        kind: "writer",
        db,
        blobs,
        content,
        index,
        keyPath,
        writable: true,
        lock,
      });
    } catch (err) {
      await blobs?.close();
      await db?.close();
      lock?.close();
      Deno.removeSync(state, { recursive: true });
      try {
        Deno.removeSync(keyPath);
      } catch { /* never written */ }
      throw err;
    }
  }

  /**
   * Makes `dir` (created if missing) a clone of the drive with `key`: an
   * empty reader whose blocks arrive by replication.
   */
  static async createClone(
    dir: string,
    key: Uint8Array,
    options: FolderDriveOptions,
  ): Promise<FolderDrive> {
    const root = trimSlash(dir);
    if (FolderDrive.isDrive(root)) {
      throw new PigeonError("BAD_ARGUMENT", `${root} is already a drive (${STATE_DIR}/ exists)`);
    }
    const state = stateDir(root);
    Deno.mkdirSync(state, { recursive: true });
    writeJson(`${state}/drive.json`, { format: DRIVE_FORMAT, key: toHex(key), kind: "clone" });
    return await FolderDrive.open(root, { ...options, writable: true });
  }

  /**
   * Opens the drive in `dir`. With `writable` it takes the write lock, and a
   * writer folder also its secret key (`NOT_WRITABLE` if this machine has
   * none; see `keys import`). `NOT_FOUND` when `dir` is not a drive.
   */
  static async open(dir: string, options: OpenOptions): Promise<FolderDrive> {
    const root = trimSlash(dir);
    const meta = readDriveJson(root);
    const key = fromHex(meta.key);
    const state = stateDir(root);
    const keyPath = secretKeyPath(options.keysDir, key);
    const writable = options.writable === true;
    const storage = (name: string, data?: RandomAccess): CoreStorage => {
      const secret = meta.kind === "writer" ? keyPath : `${state}/${name}/secret-key`;
      const opts = data ? { secretKeyPath: secret, data } : { secretKeyPath: secret };
      return writable
        ? new FileStorage(`${state}/${name}`, opts)
        : new ReadOnlyStorage(new FileStorage(`${state}/${name}`, { ...opts, readOnly: true }));
    };
    const lock = writable ? lockFolder(state) : null;
    let db: Core;
    try {
      db = await Core.open(storage("db"), { key });
    } catch (err) {
      lock?.close();
      throw err;
    }
    try {
      if (meta.kind === "clone") {
        const drive = new FolderDrive({
          dir: root,
          kind: "clone",
          db,
          blobs: null,
          content: null,
          index: null,
          keyPath,
          writable,
          lock,
        });
        if (db.manifest !== null || db.length > 0) await drive.openBlobs();
        return drive;
      }
      if (writable && !db.writable) {
        throw new PigeonError(
          "NOT_WRITABLE",
          `This machine has no secret key for the drive in ${root} (expected at ${keyPath}); ` +
            `import it with: pigeon keys import ${root}`,
        );
      }
      const saved = readIndexFile(`${state}/index`);
      const content = new WorkingFileContent(root, segmentsOf(saved?.entries.values() ?? []));
      const manifest = db.manifest;
      if (manifest === null) throw new PigeonError("CORRUPT_STORAGE", `No manifest in ${state}/db`);
      const blobs = await Core.open(storage("blobs", content), {
        key: blobsKey({ dbKey: key, manifest, header: null })!,
        verifyReads: true,
      });
      const drive = new FolderDrive({
        dir: root,
        kind: "writer",
        db,
        blobs,
        content,
        index: saved,
        keyPath,
        writable,
        lock,
      });
      return drive;
    } catch (err) {
      await db.close();
      lock?.close();
      throw err;
    }
  }

  /** The db key: the drive's public identity (its link). */
  get key(): Uint8Array {
    return this.db.key;
  }

  /** The db discovery key (announced on networks). */
  get discoveryKey(): Uint8Array {
    return this.db.discoveryKey;
  }

  /** True when this process holds the secret key (opened `writable` with the key present). */
  get writable(): boolean {
    return this.db.writable;
  }

  /** True when the secret key is on this machine (whether or not it was opened writable). */
  get hasSecretKey(): boolean {
    if (this.kind !== "writer") return false;
    try {
      const secret = Deno.readFileSync(this.keyPath);
      const pair = { publicKey: secret.slice(32), secretKey: secret };
      return secret.byteLength === 64 && validateKeyPair(pair) &&
        this.db.manifest !== null &&
        this.db.manifest.signers.some((s) => equals(s.publicKey, pair.publicKey));
    } catch {
      return false;
    }
  }

  /** The drive version: the db length (0 for a clone that has nothing yet). */
  get version(): number {
    return this.db.length;
  }

  /** The blobs core, or null for a clone whose db manifest has not arrived yet. */
  get blobs(): Core | null {
    return this.#blobs;
  }

  /** The drive (throws `NOT_AVAILABLE` until a clone's blobs core is open). */
  get drive(): Drive {
    if (this.#drive === null) {
      if (this.#blobs === null) {
        throw new PigeonError("NOT_AVAILABLE", "The drive's content log is not known yet");
      }
      this.#drive = new Drive(this.db, this.#blobs);
    }
    return this.#drive;
  }

  /** A read-only view of `version` (1 … {@link version}). */
  checkout(version: number): DriveReader {
    if (!Number.isSafeInteger(version) || version < 1 || version > Math.max(1, this.version)) {
      throw new PigeonError(
        "BAD_ARGUMENT",
        `No version ${version}: versions go from 1 to ${this.version}`,
      );
    }
    return this.drive.checkout(version);
  }

  /**
   * Opens a clone's blobs core from the db manifest (or header); resolves to
   * it. `NOT_AVAILABLE` while neither is known.
   */
  async openBlobs(): Promise<Core> {
    if (this.#blobs !== null) return this.#blobs;
    const header = this.db.length > 0 && this.db.has(0)
      ? await new Hyperbee(this.db).getHeader()
      : null;
    const key = blobsKey({ dbKey: this.key, manifest: this.db.manifest, header });
    if (key === null) {
      throw new PigeonError("NOT_AVAILABLE", "The drive's content log key is not known yet");
    }
    const state = stateDir(this.dir);
    const opts = { secretKeyPath: `${state}/blobs/secret-key` };
    const storage = this.#writable
      ? new FileStorage(`${state}/blobs`, opts)
      : new ReadOnlyStorage(new FileStorage(`${state}/blobs`, { ...opts, readOnly: true }));
    this.#blobs = await Core.open(storage, { key });
    return this.#blobs;
  }

  /**
   * Records the folder's changes as one new version (writer, opened
   * `writable`). Resolves to what changed; the version moves only if
   * something did.
   */
  async add(options: Omit<ImportOptions, "dryRun"> = {}): Promise<ImportResult> {
    this.#assertOpen();
    if (this.kind !== "writer" || !this.writable) {
      throw new PigeonError("NOT_WRITABLE", `The drive in ${this.dir} is not writable here`);
    }
    const saved = this.#index;
    const index = await this.#currentIndex();
    const { result, index: next } = await importFolder(this.#target(index), options);
    // Unchanged, nothing read back, index as saved: the file on disk is still right.
    if (result.changes.length > 0 || result.verified > 0 || index !== saved) {
      writeIndexFile(`${stateDir(this.dir)}/index`, next);
      this.#index = next;
    }
    if (result.version !== result.previous) {
      const record: VersionRecord = {
        version: result.version,
        previous: result.previous,
        time: new Date().toISOString(),
        added: result.changes.filter((c) => c.type === "add").length,
        changed: result.changes.filter((c) => c.type === "change").length,
        deleted: result.changes.filter((c) => c.type === "delete").length,
      };
      Deno.writeTextFileSync(`${stateDir(this.dir)}/history`, JSON.stringify(record) + "\n", {
        append: true,
      });
    }
    return result;
  }

  /** The changes {@link add} would record now, without writing anything. */
  async status(options: Pick<ImportOptions, "signal" | "onWarning"> = {}): Promise<ImportResult> {
    this.#assertOpen();
    if (this.kind !== "writer") {
      throw new PigeonError(
        "BAD_ARGUMENT",
        `The drive in ${this.dir} is a clone; it has no local changes`,
      );
    }
    const index = await this.#currentIndex();
    const { result } = await importFolder(this.#target(index), { ...options, dryRun: true });
    return result;
  }

  /**
   * The versions made by imports here, oldest first (from `.pigeon/history`);
   * empty for a clone or a folder without history.
   */
  history(): VersionRecord[] {
    let text: string;
    try {
      text = Deno.readTextFileSync(`${stateDir(this.dir)}/history`);
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return [];
      throw err;
    }
    const out: VersionRecord[] = [];
    for (const line of text.split("\n")) {
      if (line.trim() === "") continue;
      try {
        const r = JSON.parse(line) as VersionRecord;
        if (Number.isSafeInteger(r.version) && r.version <= this.version) out.push(r);
      } catch {
        // a torn last line after a crash: ignore it
      }
    }
    return out;
  }

  /** Releases the cores (and the write lock). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#blobs?.close();
    await this.db.close();
    this.#lock?.close();
    this.#lock = null;
  }

  #target(index: FolderIndexState) {
    return {
      root: this.dir,
      drive: this.drive,
      blobs: this.#blobs!,
      content: this.#content!,
      index,
    };
  }

  /** The saved index if it matches the drive, else one rebuilt from the drive. */
  async #currentIndex(): Promise<FolderIndexState> {
    const saved = this.#index;
    if (saved !== null && saved.version === this.version) return saved;
    const rebuilt = await reconcileIndex(this.drive, saved);
    this.#content!.setSegments(segmentsOf(rebuilt.entries.values()));
    return rebuilt;
  }

  #assertOpen(): void {
    if (this.#closed) throw new PigeonError("CLOSED", "Folder drive is closed");
  }
}

/**
 * File storage opened read-only whose bitfield changes stay in memory: a
 * reader that finds a changed working file marks its blocks as not held for
 * this session without writing to the folder.
 */
class ReadOnlyStorage implements CoreStorage {
  readonly #inner: FileStorage;

  constructor(inner: FileStorage) {
    this.#inner = inner;
  }

  get name(): string {
    return this.#inner.name;
  }

  get readOnly(): boolean {
    return true;
  }

  lock(): void {
    this.#inner.lock();
  }

  open(name: FileName): RandomAccess {
    const file = this.#inner.open(name);
    if (name !== "bitfield") return file;
    return {
      read: (offset, length) => file.read(offset, length),
      write: () => {},
      size: () => file.size(),
      truncate: () => {},
      sync: () => {},
      close: () => file.close(),
    };
  }

  readHeader(): Uint8Array | null {
    return this.#inner.readHeader();
  }

  writeHeader(): void {
    throw new PigeonError("NOT_WRITABLE", `Storage ${this.name} is opened read-only`);
  }

  readSecretKey(): Uint8Array | null {
    return null;
  }

  writeSecretKey(): void {
    throw new PigeonError("NOT_WRITABLE", `Storage ${this.name} is opened read-only`);
  }

  close(): void {
    this.#inner.close();
  }
}

/**
 * Takes the folder's write lock (`.pigeon/lock`): one writing process per
 * drive folder, writer or clone. `LOCKED` when another process holds it.
 */
function lockFolder(state: string): Deno.FsFile {
  const path = `${state}/lock`;
  const file = Deno.openSync(path, { read: true, write: true, create: true });
  if (!file.tryLockSync(true)) {
    file.close();
    throw new PigeonError(
      "LOCKED",
      `The drive in ${state.slice(0, -STATE_DIR.length - 1)} is in use by another process`,
    );
  }
  return file;
}

function statOrNull(path: string): Deno.FileInfo | null {
  try {
    return Deno.statSync(path);
  } catch {
    return null;
  }
}

function writeJson(path: string, value: DriveJson): void {
  const temp = `${path}.tmp`;
  Deno.writeTextFileSync(temp, JSON.stringify(value) + "\n");
  Deno.renameSync(temp, path);
}

function readDriveJson(root: string): DriveJson {
  const path = `${stateDir(root)}/drive.json`;
  let text: string;
  try {
    const info = Deno.statSync(path);
    if (info.size > MAX_STATE_FILE_BYTES) {
      throw new PigeonError("CORRUPT_STORAGE", `${path} is too large`);
    }
    text = Deno.readTextFileSync(path);
  } catch (err) {
    if (err instanceof PigeonError) throw err;
    if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory) {
      throw new PigeonError(
        "NOT_FOUND",
        `${root} is not a pigeon drive (no ${STATE_DIR}/drive.json); make it one with: pigeon create ${root}`,
      );
    }
    throw err;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new PigeonError("CORRUPT_STORAGE", `${path} is not JSON`, { cause });
  }
  const v = parsed as Partial<DriveJson>;
  if (
    v === null || typeof v !== "object" || v.format !== DRIVE_FORMAT ||
    typeof v.key !== "string" || !/^[0-9a-f]{64}$/.test(v.key) ||
    (v.kind !== "writer" && v.kind !== "clone")
  ) {
    throw new PigeonError(
      "CORRUPT_STORAGE",
      `${path} is not a drive description of format ${DRIVE_FORMAT}`,
    );
  }
  return v as DriveJson;
}
