/**
 * Hypercore replication (`hypercore/alpha`, SPEC f.3) for one core over any
 * number of peers.
 *
 * Flow. When a channel opens, each side sends `sync` (its fork, signed length,
 * the remote length it has seen, and flags) and, if it holds a prefix, a
 * `range {0, prefix}`. A side that sees a longer remote length on its fork
 * asks for an upgrade proof (with the manifest if it has none); a side that
 * wants blocks sends pipelined `request`s, each answered by exactly one
 * `data` (a proof, see lib/core/proof.ts) or `noData`. New appends are
 * announced with `sync` + `range`, so readers follow live.
 *
 * Defences. Every proof is verified before anything is stored; a peer that
 * sends an invalid proof is dropped and its requests go to other peers.
 * Requests are answered one at a time under the channel's backpressure, so a
 * flood pauses that connection only; invalid requests are counted and a peer
 * past {@link MAX_INVALID_REQUESTS} is dropped. A replayed older upgrade is
 * ignored, never treated as a fork. Requests that get no answer within
 * {@link REQUEST_TIMEOUT_MS} are retried elsewhere.
 *
 * @module
 */

import type { Core, CoreUpdate } from "../core/core.ts";
import { PigeonError } from "../errors.ts";
import { BlockSet } from "./block_set.ts";
import {
  type Bitfield,
  type Data,
  MessageType,
  type NoData,
  NoDataReason,
  type Range,
  type Request,
  type Sync,
  type Want,
} from "./messages.ts";

/** Requests one peer may have in flight from us at once. */
export const MAX_INFLIGHT_PER_PEER = 64;
/** Requests a peer may queue with us while we wait for the transport; more is a flood. */
export const MAX_QUEUED_REQUESTS = 4096;
/** Invalid requests a peer may send before it is dropped. */
export const MAX_INVALID_REQUESTS = 64;
/** How long a request may go unanswered before it is retried elsewhere. */
export const REQUEST_TIMEOUT_MS = 20_000;
/**
 * How often unanswered requests are looked for: one timer per replicator
 * instead of one per request (a timer per block cost ~4 µs to set and clear),
 * so a request times out between REQUEST_TIMEOUT_MS and this much later.
 */
const REQUEST_SWEEP_MS = REQUEST_TIMEOUT_MS / 4;
/** Largest window a `want` may cover (the reference's batch size). */
export const MAX_WANT_LENGTH = 2 ** 21;
/** Words per `bitfield` reply (hypercore accepts any; keep messages small). */
const BITFIELD_WORDS_PER_MESSAGE = 2048;

/** The channel a {@link Peer} talks through (a protomux channel, or a test pipe). */
export interface ChannelPort {
  /** Sends message `type`; false means wait for {@link drained} before sending more. */
  send(type: number, message: unknown): boolean;
  /** Resolves when the transport can take more. */
  drained(): Promise<void>;
  /** Closes the channel (idle, protocol error, or shutdown). */
  close(reason?: PigeonError): void;
}

/** Events a replicator reports (for progress output and exit codes). */
export type ReplicatorEvent =
  | { type: "peer-add"; peer: Peer }
  | { type: "peer-remove"; peer: Peer; reason: string }
  | { type: "sync"; length: number; peer: Peer }
  | { type: "upgrade"; length: number; peer: Peer }
  | { type: "block"; index: number; bytes: number; peer: Peer }
  | { type: "invalid"; peer: Peer; error: PigeonError };

/** What a replicator should download. */
export interface ReplicatorOptions {
  /** Answer requests (default true). */
  upload?: boolean;
  /** Download every block up to the remote length as it grows (default false). */
  downloadAll?: boolean;
}

/** A wanted range: `cursor` is its first missing block, `scan` where the last look stopped. */
interface WantedRange {
  start: number;
  end: number;
  cursor: number;
  /** Every block in [cursor, scan) was held or requested when last looked at. */
  scan: number;
}

interface Inflight {
  id: number;
  block: number;
  upgrade: boolean;
  peer: Peer;
  /** `Date.now()` when it was sent. */
  sentAt: number;
}

/** Replication state of one core, shared by all its peers. */
export class Replicator {
  readonly core: Core;
  readonly #options: Required<ReplicatorOptions>;
  readonly #peers = new Set<Peer>();
  readonly #ranges: WantedRange[] = [];
  /** Everything, when downloading all. */
  readonly #all: WantedRange = { start: 0, end: Infinity, cursor: 0, scan: 0 };
  readonly #inflightBlocks = new Map<number, Inflight>();
  readonly #waiters = new Map<number, Set<() => void>>();
  readonly #listeners = new Set<(event: ReplicatorEvent) => void>();
  #upgradeInflight: Inflight | null = null;
  #sweepTimer: ReturnType<typeof setTimeout> | undefined;
  #unsubscribe: () => void;
  #closed = false;
  #downloadAll: boolean;

  /** Replication for `core`. */
  constructor(core: Core, options: ReplicatorOptions = {}) {
    this.core = core;
    this.#options = { upload: options.upload ?? true, downloadAll: options.downloadAll ?? false };
    this.#downloadAll = this.#options.downloadAll;
    this.#unsubscribe = core.onUpdate((update) => this.#onLocalUpdate(update));
  }

  /** True while this side wants blocks it does not have. */
  get downloading(): boolean {
    return this.#downloadAll || this.#waiters.size > 0 || this.#ranges.length > 0;
  }

  /** Peers with an open channel. */
  get peers(): readonly Peer[] {
    return [...this.#peers];
  }

  /** Subscribes to events; returns an unsubscribe function. */
  on(listener: (event: ReplicatorEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Starts replicating with a peer over an opened channel. */
  attach(port: ChannelPort, name: string): Peer {
    const peer = new Peer(this, port, name);
    this.#peers.add(peer);
    this.#emit({ type: "peer-add", peer });
    peer.start();
    return peer;
  }

  /** Downloads every block up to the remote length from now on. */
  downloadAll(): void {
    this.#downloadAll = true;
    this.#refresh();
  }

  /** Downloads blocks `[start, end)` (once the core is long enough to hold them). */
  download(start: number, end: number): void {
    if (end > start) this.#ranges.push({ start, end, cursor: start, scan: start });
    this.#refresh();
  }

  /** True when every block of `[start, end)` is held. */
  hasRange(start: number, end: number): boolean {
    for (let i = start; i < end; i++) if (!this.core.has(i)) return false;
    return true;
  }

  /** Resolves with block `index` once it is held (downloading it if needed). */
  get(index: number, signal?: AbortSignal): Promise<Uint8Array> {
    if (this.core.has(index)) return this.core.get(index);
    return new Promise((resolve, reject) => {
      const set = this.#waiters.get(index) ?? new Set();
      const done = () => {
        signal?.removeEventListener("abort", abort);
        this.core.get(index).then(resolve, reject);
      };
      const abort = () => {
        set.delete(done);
        if (set.size === 0) this.#waiters.delete(index);
        reject(new PigeonError("CLOSED", `Wait for block ${index} was cancelled`));
      };
      signal?.addEventListener("abort", abort, { once: true });
      set.add(done);
      this.#waiters.set(index, set);
      this.#refresh();
    });
  }

  /** Closes every peer channel and stops listening to the core. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#unsubscribe();
    for (const peer of [...this.#peers]) peer.close("replicator closed");
    clearTimeout(this.#sweepTimer);
    this.#sweepTimer = undefined;
  }

  // -- called by peers --------------------------------------------------------

  /** @internal */
  emit(event: ReplicatorEvent): void {
    this.#emit(event);
  }

  /** @internal A peer's channel ended. */
  removePeer(peer: Peer, reason: string): void {
    if (!this.#peers.delete(peer)) return;
    for (const inflight of [...this.#inflightBlocks.values()]) {
      if (inflight.peer === peer) this.#finish(inflight);
    }
    if (this.#upgradeInflight?.peer === peer) this.#finish(this.#upgradeInflight);
    this.#emit({ type: "peer-remove", peer, reason });
    this.#refresh();
  }

  /**
   * @internal Block indexes worth requesting, most urgent first: waited-for
   * blocks, then wanted ranges (or everything) from the first missing block.
   */
  *candidates(limit: number): Generator<number> {
    const length = this.core.length;
    for (const index of this.#waiters.keys()) if (index < length) yield index;
    const ranges = this.#downloadAll ? [this.#all] : this.#ranges;
    for (const range of ranges) {
      const end = Math.min(range.end, length);
      while (range.cursor < end && this.core.has(range.cursor)) range.cursor++;
      // Skip what is held or already requested, from where the last look stopped: a full
      // pipeline is then not walked again for every block that arrives.
      let i = Math.max(range.cursor, range.scan);
      while (i < end && (this.core.has(i) || this.#inflightBlocks.has(i))) i++;
      range.scan = i;
      for (let n = 0; i < end && n < limit; i++, n++) {
        if (!this.core.has(i)) yield i;
      }
    }
    // Ranges that are complete stop counting as downloading.
    for (let k = this.#ranges.length - 1; k >= 0; k--) {
      if (this.#ranges[k]!.cursor >= this.#ranges[k]!.end) this.#ranges.splice(k, 1);
    }
  }

  /** @internal Asks peers for what is wanted, within each peer's pipeline limit. */
  refresh(): void {
    this.#refresh();
  }

  /** @internal A request was answered, failed or timed out. */
  settle(inflight: Inflight, retry: boolean): void {
    this.#finish(inflight);
    if (retry) inflight.peer.avoid(inflight.block);
    this.#refresh();
  }

  /** @internal Registers a request before it is sent. */
  track(peer: Peer, id: number, block: number, upgrade: boolean): Inflight {
    const inflight: Inflight = {
      id,
      block,
      upgrade,
      peer,
      sentAt: Date.now(),
    };
    this.#sweepTimer ??= setTimeout(() => this.#sweep(), REQUEST_SWEEP_MS);
    if (block >= 0) this.#inflightBlocks.set(block, inflight);
    if (upgrade) this.#upgradeInflight = inflight;
    return inflight;
  }

  /** @internal A verified block arrived. */
  blockArrived(index: number): void {
    const waiters = this.#waiters.get(index);
    if (waiters) {
      this.#waiters.delete(index);
      for (const wake of waiters) wake();
    }
  }

  /** @internal Whether an upgrade request is already out. */
  get upgrading(): boolean {
    return this.#upgradeInflight !== null;
  }

  /** @internal Whether block `index` is already requested. */
  isInflight(index: number): boolean {
    return this.#inflightBlocks.has(index);
  }

  /** @internal Whether uploads are allowed. */
  get uploading(): boolean {
    return this.#options.upload;
  }

  #finish(inflight: Inflight): void {
    const block = inflight.block;
    if (block >= 0 && this.#inflightBlocks.get(block) === inflight) {
      this.#inflightBlocks.delete(block);
      // A request that ended without the block: look at it again next time.
      if (!this.core.has(block)) {
        for (const range of [this.#all, ...this.#ranges]) {
          if (block >= range.start && block < range.end) range.scan = Math.min(range.scan, block);
        }
      }
    }
    if (this.#upgradeInflight === inflight) this.#upgradeInflight = null;
    inflight.peer.untrack(inflight);
    if (this.#inflightBlocks.size === 0 && this.#upgradeInflight === null) {
      clearTimeout(this.#sweepTimer);
      this.#sweepTimer = undefined;
    }
  }

  /** Times out requests sent more than {@link REQUEST_TIMEOUT_MS} ago. */
  #sweep(): void {
    this.#sweepTimer = undefined;
    if (this.#closed) return;
    const sentBefore = Date.now() - REQUEST_TIMEOUT_MS;
    const late = [...this.#inflightBlocks.values()].filter((i) => i.sentAt <= sentBefore);
    if (this.#upgradeInflight && this.#upgradeInflight.sentAt <= sentBefore) {
      late.push(this.#upgradeInflight);
    }
    for (const inflight of late) inflight.peer.timeout(inflight);
    if (!this.#closed && (this.#inflightBlocks.size > 0 || this.#upgradeInflight !== null)) {
      this.#sweepTimer ??= setTimeout(() => this.#sweep(), REQUEST_SWEEP_MS);
    }
  }

  #refresh(): void {
    if (this.#closed) return;
    for (const peer of this.#peers) peer.pump();
  }

  #onLocalUpdate(update: CoreUpdate): void {
    for (const peer of this.#peers) peer.localUpdate(update);
    if (update.block >= 0) this.blockArrived(update.block);
  }

  #emit(event: ReplicatorEvent): void {
    for (const listener of this.#listeners) listener(event);
  }
}

/** One peer replicating one core over one channel. */
export class Peer {
  readonly name: string;
  readonly #replicator: Replicator;
  readonly #port: ChannelPort;
  readonly #remoteHas = new BlockSet();
  readonly #avoid = new Set<number>();
  readonly #inflight = new Map<number, Inflight>();
  #nextId = 1;
  #freeIds: number[] = [];
  #remote: Sync | null = null;
  #lastSent = "";
  #invalidRequests = 0;
  #requests: Request[] = [];
  #serving = false;
  #closed = false;
  #sentWant = -1;
  /**
   * The remote length at which this peer answered an upgrade request without
   * growing our tree (a replayed old proof, or noData): it is not asked for an
   * upgrade again until it announces another length, so other peers get asked.
   */
  #noUpgradeAt = -1;

  /** @internal */
  constructor(replicator: Replicator, port: ChannelPort, name: string) {
    this.#replicator = replicator;
    this.#port = port;
    this.name = name;
  }

  /** The remote's last sync, or null before the first. */
  get remote(): Sync | null {
    return this.#remote;
  }

  /** @internal Sends the opening sync and prefix. */
  start(): void {
    this.#sendSync();
    const contiguous = this.#replicator.core.contiguousLength;
    if (contiguous > 0) {
      this.#send(MessageType.range, { drop: false, start: 0, length: contiguous });
    }
  }

  /** Handles one decoded channel message. */
  onmessage(type: number, message: unknown): void | Promise<void> {
    if (this.#closed) return;
    switch (type) {
      case MessageType.sync:
        return this.#onSync(message as Sync);
      case MessageType.request:
        return this.#queueRequest(message as Request);
      case MessageType.cancel:
        return;
      case MessageType.data:
        return this.#onData(message as Data);
      case MessageType.noData:
        return this.#onNoData(message as NoData);
      case MessageType.want:
        return this.#onWant(message as Want);
      case MessageType.range:
        return this.#onRange(message as Range);
      case MessageType.bitfield:
        return this.#onBitfield(message as Bitfield);
      default:
        return; // unwant, extension and unknown types are ignored
    }
  }

  /** The channel closed (by either side). */
  onclose(reason = "channel closed"): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#replicator.removePeer(this, reason);
  }

  /** Closes the channel and forgets the peer. */
  close(reason: string, error?: PigeonError): void {
    if (this.#closed) return;
    this.#port.close(error);
    this.onclose(reason);
  }

  /** @internal */
  avoid(block: number): void {
    this.#avoid.add(block);
  }

  /** @internal */
  untrack(inflight: Inflight): void {
    if (this.#inflight.get(inflight.id) === inflight) {
      this.#inflight.delete(inflight.id);
      this.#freeIds.push(inflight.id);
    }
  }

  /** @internal A request got no answer in time: retry elsewhere. */
  timeout(inflight: Inflight): void {
    if (this.#closed) return;
    this.#send(MessageType.cancel, { request: inflight.id });
    this.#replicator.settle(inflight, true);
  }

  /** @internal The local core changed: tell the peer. */
  localUpdate(update: CoreUpdate): void {
    if (this.#closed) return;
    if (update.upgraded) this.#sendSync();
    if (update.block >= 0) {
      // As hypercore: a peer that has the block (usually the one that sent it) is not told.
      if (!this.#remoteHas.has(update.block)) {
        this.#send(MessageType.range, { drop: false, start: update.block, length: 1 });
      }
    } else if (update.upgraded && this.#replicator.core.writable) {
      const remoteKnown = this.#remote?.remoteLength ?? 0;
      const start = Math.min(remoteKnown, update.length);
      if (update.length > start) {
        this.#send(MessageType.range, { drop: false, start, length: update.length - start });
      }
    }
    this.pump();
  }

  /** @internal Sends as many requests as the pipeline allows. */
  pump(): void {
    if (this.#closed || !this.#remote) return;
    const core = this.#replicator.core;
    const remote = this.#remote;
    if (remote.fork !== core.fork) return;
    if (
      remote.length > core.length && remote.length !== this.#noUpgradeAt &&
      !this.#replicator.upgrading &&
      this.#inflight.size < MAX_INFLIGHT_PER_PEER
    ) {
      this.#request(-1, true);
    }
    this.#maybeWant();
    for (const i of this.#replicator.candidates(4 * MAX_INFLIGHT_PER_PEER)) {
      if (this.#inflight.size >= MAX_INFLIGHT_PER_PEER) break;
      if (i >= remote.length || this.#replicator.isInflight(i) || this.#avoid.has(i)) continue;
      if (!this.#remoteHas.has(i)) continue;
      this.#request(i, false);
    }
  }

  #maybeWant(): void {
    // Sparse remotes announce nothing until asked: want the first window we need.
    if (this.#remoteHas.contiguous >= (this.#remote?.length ?? 0)) return;
    const window = 0;
    if (this.#sentWant === window) return;
    this.#sentWant = window;
    this.#send(MessageType.want, { start: window, length: MAX_WANT_LENGTH, any: false });
  }

  #request(block: number, upgrade: boolean): void {
    const core = this.#replicator.core;
    const id = this.#freeIds.pop() ?? this.#nextId++;
    const remoteLength = this.#remote!.length;
    const req: Request = {
      id,
      fork: core.fork,
      block: block >= 0 ? { index: block, nodes: core.missingNodes(block) } : null,
      hash: null,
      seek: null,
      upgrade: upgrade ? { start: core.length, length: remoteLength - core.length } : null,
      manifest: core.manifest === null,
      priority: block >= 0 ? 1 : 0,
    };
    const inflight = this.#replicator.track(this, id, block, upgrade);
    this.#inflight.set(id, inflight);
    this.#send(MessageType.request, req);
  }

  #onSync(sync: Sync): void {
    const core = this.#replicator.core;
    const first = this.#remote === null;
    this.#remote = sync;
    if (first) this.#replicator.emit({ type: "sync", length: sync.length, peer: this });
    if (sync.fork !== core.fork) return; // forks are not followed; never declared by us
    this.#sendSync();
    if (first || sync.length > core.length) this.pump();
  }

  #queueRequest(req: Request): void {
    if (this.#requests.length >= MAX_QUEUED_REQUESTS) {
      this.close("request flood", new PigeonError("PROTOCOL_ERROR", "Too many queued requests"));
      return;
    }
    this.#requests.push(req);
    if (!this.#serving) void this.#serveRequests();
  }

  /** Answers queued requests in order, pausing while the transport is congested. */
  async #serveRequests(): Promise<void> {
    this.#serving = true;
    try {
      let req: Request | undefined;
      while (!this.#closed && (req = this.#requests.shift())) await this.#onRequest(req);
    } finally {
      this.#serving = false;
    }
  }

  async #onRequest(req: Request): Promise<void> {
    const core = this.#replicator.core;
    if (!this.#replicator.uploading) {
      this.#send(MessageType.noData, { request: req.id, reason: NoDataReason.notAvailable });
      return;
    }
    let reply: Data | null = null;
    try {
      const proof = core.proof(req);
      reply = { request: req.id, ...proof };
    } catch (err) {
      const invalid = err instanceof PigeonError && err.code === "BAD_ARGUMENT";
      if (invalid && ++this.#invalidRequests > MAX_INVALID_REQUESTS) {
        this.close(
          "too many invalid requests",
          new PigeonError("PROTOCOL_ERROR", "Too many invalid requests"),
        );
        return;
      }
      const reason = invalid ? NoDataReason.invalidRequest : NoDataReason.notAvailable;
      this.#send(MessageType.noData, { request: req.id, reason });
    }
    if (reply && !this.#send(MessageType.data, reply)) await this.#port.drained();
  }

  #onData(data: Data): void {
    const inflight = this.#inflight.get(data.request);
    if (!inflight) return; // unsolicited or cancelled: ignore
    const core = this.#replicator.core;
    let update: CoreUpdate;
    try {
      update = core.verify(data);
    } catch (err) {
      const error = err instanceof PigeonError
        ? err
        : new PigeonError("INVALID_PROOF", String(err));
      this.#replicator.settle(inflight, true);
      if (error.code === "INVALID_PROOF" || error.code === "INVALID_SIGNATURE") {
        this.#replicator.emit({ type: "invalid", peer: this, error });
        this.close(`sent an invalid proof: ${error.message}`, error);
        return;
      }
      throw err;
    }
    if (inflight.upgrade && !update.upgraded) this.#noUpgradeAt = this.#remote?.length ?? -1;
    this.#replicator.settle(inflight, false);
    if (update.upgraded) {
      this.#replicator.emit({ type: "upgrade", length: update.length, peer: this });
    }
    if (data.block && core.has(data.block.index)) {
      this.#remoteHas.set(data.block.index, 1, true);
      this.#replicator.emit({
        type: "block",
        index: data.block.index,
        bytes: data.block.value.byteLength,
        peer: this,
      });
    }
  }

  #onNoData(noData: NoData): void {
    const inflight = this.#inflight.get(noData.request);
    if (!inflight) return;
    if (inflight.block >= 0) this.#remoteHas.set(inflight.block, 1, false);
    if (inflight.upgrade) this.#noUpgradeAt = this.#remote?.length ?? -1;
    this.#replicator.settle(inflight, true);
  }

  #onWant(want: Want): void {
    const core = this.#replicator.core;
    const length = Math.min(want.length, MAX_WANT_LENGTH);
    if (want.start % 32 !== 0 || length <= 0) return;
    const contiguous = core.contiguousLength;
    if (
      want.start + length <= contiguous || (want.start < contiguous && core.length === contiguous)
    ) {
      this.#send(MessageType.range, { drop: false, start: 0, length: contiguous });
      return;
    }
    const end = Math.min(want.start + length, core.length);
    for (let start = want.start; start < end; start += 32 * BITFIELD_WORDS_PER_MESSAGE) {
      const words = new Uint32Array(
        Math.ceil(Math.min(end - start, 32 * BITFIELD_WORDS_PER_MESSAGE) / 32),
      );
      let any = false;
      for (let i = 0; i < words.length * 32 && start + i < end; i++) {
        if (core.has(start + i)) {
          words[i >>> 5]! |= 1 << (i & 31);
          any = true;
        }
      }
      if (any) this.#send(MessageType.bitfield, { start, bitfield: words });
    }
  }

  #onRange(range: Range): void {
    this.#remoteHas.set(range.start, range.length, !range.drop);
    if (!range.drop) this.pump();
  }

  #onBitfield(bitfield: Bitfield): void {
    if (bitfield.start % 32 !== 0) return;
    this.#remoteHas.setWords(bitfield.start, bitfield.bitfield);
    this.pump();
  }

  #sendSync(): void {
    const core = this.#replicator.core;
    const remote = this.#remote;
    const sync: Sync = {
      fork: core.fork,
      length: core.length,
      remoteLength: remote && remote.fork === core.fork ? remote.length : 0,
      canUpgrade: core.signature !== null,
      uploading: this.#replicator.uploading,
      downloading: this.#replicator.downloading,
      hasManifest: core.manifest !== null && !core.compat,
      allowPush: false,
    };
    const key = JSON.stringify(sync);
    if (key === this.#lastSent) return;
    this.#lastSent = key;
    this.#send(MessageType.sync, sync);
  }

  #send(type: number, message: unknown): boolean {
    if (this.#closed) return false;
    return this.#port.send(type, message);
  }
}
