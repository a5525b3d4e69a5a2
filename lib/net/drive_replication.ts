/**
 * A drive on the network: its two cores (the db Hyperbee and the blobs
 * content log) replicated over one swarm, found on the LAN by the db's
 * discovery key. Readers see the drive through {@link ReplicatedLog}s, so a
 * read of a missing block fetches exactly that block from peers and verifies
 * it before returning.
 *
 * @module
 */

import type { Core } from "../core/core.ts";
import { PigeonError } from "../errors.ts";
import { blobsKey } from "../drive/blobs_key.ts";
import { Drive, type DriveReader } from "../drive/drive.ts";
import { decodeHeader } from "../drive/hyperbee_codec.ts";
import { ReplicatedLog } from "../wire/replicated_log.ts";
import { Replicator, type ReplicatorEvent } from "../wire/replicator.ts";
import type { LanOptions, Swarm } from "./swarm.ts";

/** Options of a {@link DriveReplication}. */
export interface DriveReplicationOptions {
  /** Serve blocks to peers (default true). */
  upload?: boolean;
  /** Download every db block as it appears (default true: the db is small). */
  downloadDb?: boolean;
  /** Download every content block (a full mirror or seed; default false). */
  downloadContent?: boolean;
  /** LAN discovery scope, or null for none. */
  lan?: LanOptions | null;
  /** Opens the blobs core once its key is known (the folder drive knows where it lives). */
  openBlobs: (key: Uint8Array) => Promise<Core>;
  /** Cancels waits. */
  signal?: AbortSignal;
}

/** The cores of one drive, replicated. */
export class DriveReplication {
  /** The db core. */
  readonly db: Core;
  /** The db core's replication. */
  readonly dbReplicator: Replicator;
  readonly #swarm: Swarm;
  readonly #options: DriveReplicationOptions;
  readonly #listeners = new Set<(event: ReplicatorEvent & { core: "db" | "blobs" }) => void>();
  #blobs: Core | null = null;
  #blobsReplicator: Replicator | null = null;
  #blobsOpening: Promise<Core> | null = null;

  /** Replicates `db` (and, once known, its content log) over `swarm`. */
  constructor(swarm: Swarm, db: Core, options: DriveReplicationOptions) {
    this.#swarm = swarm;
    this.#options = options;
    this.db = db;
    this.dbReplicator = new Replicator(db, { upload: options.upload ?? true });
    this.dbReplicator.on((event) => this.#emit({ ...event, core: "db" }));
  }

  /** The blobs core, once open. */
  get blobs(): Core | null {
    return this.#blobs;
  }

  /** The blobs core's replication, once open. */
  get blobsReplicator(): Replicator | null {
    return this.#blobsReplicator;
  }

  /** Subscribes to replication events of both cores; returns an unsubscribe function. */
  on(listener: (event: ReplicatorEvent & { core: "db" | "blobs" }) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Joins the swarm (and the LAN); the blobs core joins once its key is known. */
  async start(): Promise<void> {
    if (this.#options.downloadDb ?? true) this.dbReplicator.downloadAll();
    this.#swarm.add(this.dbReplicator);
    if (this.#options.lan) await this.#swarm.joinLan(this.db.discoveryKey, this.#options.lan);
    if (this.db.length > 0 && this.db.manifest) void this.content().catch(() => {});
    this.dbReplicator.on((event) => {
      if (event.type === "upgrade") void this.content().catch(() => {});
    });
  }

  /**
   * Resolves with the first signed db length a peer that has the drive
   * reports (or the local one if longer). A peer that reports length 0 (say
   * another clone that has nothing yet) is no answer: it is not waited for.
   */
  firstRemoteLength(): Promise<number> {
    return new Promise((resolve, reject) => {
      const signal = this.#options.signal;
      const known = Math.max(0, ...this.dbReplicator.peers.map((p) => p.remote?.length ?? 0));
      if (known > 0) return resolve(Math.max(known, this.db.length));
      const off = this.dbReplicator.on((event) => {
        if (event.type !== "sync" || event.length === 0) return;
        off();
        signal?.removeEventListener("abort", abort);
        resolve(Math.max(event.length, this.db.length));
      });
      const abort = () => {
        off();
        reject(new PigeonError("CLOSED", "Stopped waiting for peers"));
      };
      signal?.addEventListener("abort", abort, { once: true });
    });
  }

  /** Resolves once the db's signed length is at least `length`. */
  async waitForVersion(length: number): Promise<void> {
    while (this.db.length < length) {
      await new Promise<void>((resolve, reject) => {
        const signal = this.#options.signal;
        if (signal?.aborted) return reject(new PigeonError("CLOSED", "Stopped waiting for peers"));
        const off = this.db.onUpdate(() => {
          off();
          signal?.removeEventListener("abort", abort);
          resolve();
        });
        const abort = () => {
          off();
          reject(new PigeonError("CLOSED", "Stopped waiting for peers"));
        };
        signal?.addEventListener("abort", abort, { once: true });
      });
    }
  }

  /** Opens the blobs core (needs the db manifest or header) and replicates it. */
  content(): Promise<Core> {
    if (this.#blobs) return Promise.resolve(this.#blobs);
    this.#blobsOpening ??= (async () => {
      const log = new ReplicatedLog(this.db, this.dbReplicator, this.#options.signal);
      const header = this.db.length > 0 ? decodeHeader(await log.get(0)) : null;
      const key = blobsKey({
        dbKey: this.db.key,
        manifest: this.db.manifest,
        header,
        compat: this.db.compat,
      });
      if (!key) throw new PigeonError("NOT_AVAILABLE", "The drive's content log is not known yet");
      const blobs = await this.#options.openBlobs(key);
      const replicator = new Replicator(blobs, { upload: this.#options.upload ?? true });
      replicator.on((event) => this.#emit({ ...event, core: "blobs" }));
      if (this.#options.downloadContent) replicator.downloadAll();
      this.#blobs = blobs;
      this.#blobsReplicator = replicator;
      this.#swarm.add(replicator);
      return blobs;
    })();
    this.#blobsOpening.catch(() => (this.#blobsOpening = null));
    return this.#blobsOpening;
  }

  /** The drive as a reader over the network (missing blocks are fetched on read). */
  async drive(): Promise<Drive> {
    const blobs = await this.content();
    const signal = this.#options.signal;
    return new Drive(
      new ReplicatedLog(this.db, this.dbReplicator, signal),
      new ReplicatedLog(blobs, this.#blobsReplicator!, signal),
    );
  }

  /** Version `version` of the drive, read over the network. */
  async checkout(version: number): Promise<DriveReader> {
    await this.waitForVersion(version);
    return (await this.drive()).checkout(version);
  }

  /** Queues the content blocks `[start, end)` for pipelined download. */
  prefetch(start: number, end: number): void {
    this.#blobsReplicator?.download(start, end);
  }

  /** Stops replicating both cores (the swarm and the cores stay open). */
  close(): void {
    this.dbReplicator.close();
    this.#blobsReplicator?.close();
  }

  #emit(event: ReplicatorEvent & { core: "db" | "blobs" }): void {
    for (const listener of this.#listeners) listener(event);
  }
}
