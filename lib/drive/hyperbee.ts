/**
 * Hyperbee: an append-only B-tree over a {@link Log}, byte-compatible with
 * hyperbee 2.27.3 (SPEC g.1).
 *
 * Block 0 is a header, written lazily by the first write. Every write appends
 * one node block carrying the key, the value (none for a deletion) and a
 * YoloIndex of every tree node the write changed; version `v` (= log length)
 * is the tree whose root is level 0 of block `v − 1`. Old versions stay
 * readable: {@link Hyperbee.checkout} gives a read-only view of one.
 *
 * Writes are serialised by a lock. A {@link HyperbeeBatch} holds the lock from
 * its first write until it is flushed or closed, and appends all its blocks as
 * one signed batch, encoded exactly as hyperbee encodes a batch.
 *
 * @example
 * ```ts ignore
 * const bee = new Hyperbee(log);
 * await bee.put(utf8("a"), utf8("1"));
 * for await (const e of bee.range({ gte: utf8("a") })) console.log(e.key, e.value);
 * ```
 *
 * @module
 */

import { PigeonError } from "../errors.ts";
import type { Log } from "./log.ts";
import {
  type BeeNode,
  decodeHeader,
  decodeNode,
  decodeYoloIndex,
  encodeHeader,
  encodeNode,
  type Header,
  type HeaderMetadata,
  HYPERBEE_PROTOCOL,
  type Level,
} from "./hyperbee_codec.ts";
import {
  BlockEntry,
  type BlockSource,
  checkDepth,
  ChildRef,
  compactPendingIndex,
  deflate,
  KeyRef,
  PendingEntry,
  rebalance,
  setKeyToNearestLeaf,
  TreeNode,
} from "./hyperbee_tree.ts";
import {
  type BeeEntry,
  entryOf,
  historyEntries,
  type HistoryEntry,
  type HistoryOptions,
  rangeEntries,
  type RangeOptions,
  type TreeReader,
} from "./hyperbee_iterator.ts";

export type { BeeEntry, HistoryEntry, HistoryOptions, RangeOptions };

/** Decoded blocks kept in memory per Hyperbee (shared by its views). */
export const MAX_CACHED_BLOCKS = 4096;
/** Committed blocks one read or batch keeps as editable entries. */
export const MAX_SESSION_BLOCKS = 128;

/** Options of a {@link Hyperbee}. */
export interface HyperbeeOptions {
  /**
   * Header metadata written with the first write; null or absent writes none.
   * Hyperdrive passes `{ contentFeed: null, userData: null }`.
   */
  metadata?: HeaderMetadata | null;
}

interface Decoded {
  node: BeeNode;
  levels: Level[] | null;
}

/** State shared by a Hyperbee and its views: the log and decoded blocks. */
class Store {
  readonly log: Log;
  readonly metadata: HeaderMetadata | null;
  #cache = new Map<number, Decoded>();
  #seenLength = 0;
  #lockTail: Promise<void> = Promise.resolve();

  constructor(log: Log, metadata: HeaderMetadata | null) {
    this.log = log;
    this.metadata = metadata;
  }

  async block(seq: number): Promise<Decoded> {
    if (this.log.length < this.#seenLength) this.#cache.clear();
    this.#seenLength = this.log.length;
    const hit = this.#cache.get(seq);
    if (hit !== undefined) return hit;
    let bytes = await this.log.get(seq);
    if (bytes.buffer.byteLength > 2 * bytes.byteLength) bytes = bytes.slice();
    const decoded: Decoded = { node: decodeNode(bytes), levels: null };
    if (this.#cache.size >= MAX_CACHED_BLOCKS) {
      this.#cache.delete(this.#cache.keys().next().value!);
    }
    this.#cache.set(seq, decoded);
    return decoded;
  }

  /** Waits for the write lock; resolves to its release function. */
  lock(): Promise<() => void> {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const acquired = this.#lockTail.then(() => release);
    this.#lockTail = this.#lockTail.then(() => held);
    return acquired;
  }
}

/** One consistent view of the tree: a version, plus pending batch blocks. */
class Session implements TreeReader, BlockSource {
  readonly store: Store;
  readonly pending: PendingEntry[] = [];
  #fixedLength: number | null;
  #blocks = new Map<number, BlockEntry>();

  /** A view of `length` blocks, or of the live log when null. */
  constructor(store: Store, length: number | null) {
    this.store = store;
    this.#fixedLength = length;
  }

  get length(): number {
    return (this.#fixedLength ?? this.store.log.length) + this.pending.length;
  }

  get version(): number {
    return Math.max(1, this.length);
  }

  #checkSeq(seq: number): void {
    if (!Number.isSafeInteger(seq) || seq < 1 || seq >= this.length) {
      throw new PigeonError(
        "DECODE_ERROR",
        `Hyperbee index points at block ${seq}, outside 1…${this.length - 1}`,
      );
    }
  }

  async getBlock(seq: number): Promise<BlockEntry> {
    this.#checkSeq(seq);
    const cached = this.#blocks.get(seq);
    if (cached !== undefined) return cached;
    const decoded = await this.store.block(seq);
    const again = this.#blocks.get(seq);
    if (again !== undefined) return again;
    const entry = new BlockEntry(seq, decoded.node, () => {
      decoded.levels ??= decodeYoloIndex(decoded.node.index).levels;
      return decoded.levels;
    });
    if (this.#blocks.size - this.pending.length < MAX_SESSION_BLOCKS) this.#blocks.set(seq, entry);
    return entry;
  }

  async getKey(seq: number): Promise<Uint8Array> {
    const entry = this.#blocks.get(seq);
    if (entry !== undefined) return entry.key;
    this.#checkSeq(seq);
    return (await this.store.block(seq)).node.key;
  }

  async getRoot(): Promise<TreeNode | null> {
    if (this.version < 2) return null;
    return (await this.getBlock(this.version - 1)).treeNode(this, 0);
  }

  addPending(entry: PendingEntry): void {
    this.pending.push(entry);
    this.#blocks.set(entry.seq, entry);
  }

  clearPending(): void {
    for (const p of this.pending) this.#blocks.delete(p.seq);
    this.pending.length = 0;
  }
}

async function getEntry(session: Session, key: Uint8Array): Promise<BeeEntry | null> {
  let node = await session.getRoot();
  for (let depth = 0; node !== null; depth++) {
    checkDepth(depth);
    if (node.block !== null && bytesEqual(node.block.key, key)) {
      return node.block.isDeletion() ? null : entryOf(node.block);
    }
    const at = await node.search(key);
    if (at.found) return entryOf(await session.getBlock(node.keys[at.index]!.seq));
    if (!node.children.length) return null;
    node = await node.getChildNode(at.index);
  }
  return null;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Read operations shared by a Hyperbee, its checkouts and its batches. */
abstract class BeeReader {
  /** The session a read runs on. */
  protected abstract session(): Session;

  /** The version read (log length, at least 1). */
  get version(): number {
    return this.session().version;
  }

  /** The live entry for `key`, or null. */
  get(key: Uint8Array): Promise<BeeEntry | null> {
    return getEntry(this.session(), key);
  }

  /** The key and value block `seq` wrote (for a deletion, value is null). */
  async getBySeq(seq: number): Promise<BeeEntry> {
    return entryOf(await this.session().getBlock(seq));
  }

  /** Live entries within `options`, ordered by key. */
  range(options: RangeOptions = {}): AsyncGenerator<BeeEntry> {
    return rangeEntries(this.session(), options);
  }

  /** Blocks of this version within `options`, oldest first unless reversed. */
  history(options: HistoryOptions = {}): AsyncGenerator<HistoryEntry> {
    return historyEntries(this.session(), options);
  }
}

/** An append-only B-tree on a log. */
export class Hyperbee extends BeeReader {
  #store: Store;

  /** A Hyperbee over `log` (empty, or holding Hyperbee blocks). */
  constructor(log: Log, options: HyperbeeOptions = {}) {
    super();
    this.#store = new Store(log, options.metadata ?? null);
  }

  /** The log underneath. */
  get log(): Log {
    return this.#store.log;
  }

  protected session(): Session {
    return new Session(this.#store, null);
  }

  /** The header (block 0), or null while the log is empty. */
  async getHeader(): Promise<Header | null> {
    if (this.#store.log.length === 0) return null;
    return decodeHeader(await this.#store.log.get(0));
  }

  /** Writes `key` = `value` (always appends, even when the value is unchanged). */
  async put(key: Uint8Array, value: Uint8Array): Promise<void> {
    const release = await this.#store.lock();
    try {
      const session = this.session();
      await writePut(session, key, value);
      await this.#store.log.append(toBlocks(session.pending));
    } finally {
      release();
    }
  }

  /** Deletes `key`; appends nothing when it is absent (but writes the header). */
  async del(key: Uint8Array): Promise<void> {
    const release = await this.#store.lock();
    try {
      const session = this.session();
      if (await writeDel(session, key)) await this.#store.log.append(toBlocks(session.pending));
    } finally {
      release();
    }
  }

  /** A read-only view of version `version` (1 … current version). */
  checkout(version: number): HyperbeeSnapshot {
    if (version === 0) version = 1;
    if (!Number.isSafeInteger(version) || version < 1 || version > Math.max(1, this.log.length)) {
      throw new PigeonError(
        "BAD_ARGUMENT",
        `Cannot check out version ${version} of a Hyperbee at version ${this.version}`,
      );
    }
    return new HyperbeeSnapshot(this.#store, version);
  }

  /** A read-only view of the current version. */
  snapshot(): HyperbeeSnapshot {
    return new HyperbeeSnapshot(this.#store, Math.max(1, this.log.length));
  }

  /** A batch of writes appended together by {@link HyperbeeBatch.flush}. */
  batch(): HyperbeeBatch {
    return new HyperbeeBatch(this.#store);
  }
}

/** A read-only view of one version of a Hyperbee. */
export class HyperbeeSnapshot extends BeeReader {
  #store: Store;
  #length: number;

  /** Use {@link Hyperbee.checkout}. */
  constructor(store: Store, length: number) {
    super();
    this.#store = store;
    this.#length = length;
  }

  protected session(): Session {
    return new Session(this.#store, this.#length);
  }

  /** A read-only view of an older version. */
  checkout(version: number): HyperbeeSnapshot {
    if (version === 0) version = 1;
    if (!Number.isSafeInteger(version) || version < 1 || version > this.#length) {
      throw new PigeonError("BAD_ARGUMENT", `Cannot check out version ${version}`);
    }
    return new HyperbeeSnapshot(this.#store, version);
  }
}

/**
 * Writes gathered in memory and appended as one signed batch. Reads through
 * the batch see its pending writes. Holds the Hyperbee's write lock from the
 * first write until {@link flush} or {@link close}.
 */
export class HyperbeeBatch extends BeeReader {
  #store: Store;
  #session: Session;
  #release: (() => void) | null = null;

  /** Use {@link Hyperbee.batch}. */
  constructor(store: Store) {
    super();
    this.#store = store;
    this.#session = new Session(store, null);
  }

  protected session(): Session {
    return this.#session;
  }

  /** Number of pending (unflushed) blocks. */
  get pendingLength(): number {
    return this.#session.pending.length;
  }

  /** Adds a put of `key` = `value`. */
  async put(key: Uint8Array, value: Uint8Array): Promise<void> {
    await this.#lock();
    await writePut(this.#session, key, value);
  }

  /** Adds a deletion of `key` (nothing if it is absent). */
  async del(key: Uint8Array): Promise<void> {
    await this.#lock();
    await writeDel(this.#session, key);
  }

  /** Appends the pending blocks as one batch and releases the lock. */
  async flush(): Promise<void> {
    try {
      const blocks = toBlocks(this.#session.pending);
      if (blocks.length) await this.#store.log.append(blocks);
    } finally {
      this.close();
    }
  }

  /** Drops pending writes and releases the lock. The batch can be reused. */
  close(): void {
    this.#session.clearPending();
    this.#session = new Session(this.#store, null);
    const release = this.#release;
    this.#release = null;
    if (release !== null) release();
  }

  async #lock(): Promise<void> {
    if (this.#release === null) this.#release = await this.#store.lock();
  }
}

/** Appends the header when the log is empty (hyperbee writes it lazily). */
async function ensureHeader(session: Session): Promise<void> {
  const log = session.store.log;
  if (log.length !== 0) return;
  const header = encodeHeader({ protocol: HYPERBEE_PROTOCOL, metadata: session.store.metadata });
  await log.append([header]);
}

/** Computes the tree after putting `key` = `value`; records it as a pending block of `session`. */
async function writePut(session: Session, key: Uint8Array, value: Uint8Array): Promise<void> {
  await ensureHeader(session);
  let root = await session.getRoot() ?? TreeNode.create(session, null);
  const seq = session.length;
  const target = new KeyRef(seq, key);
  const stack: TreeNode[] = [];
  let node = root;

  while (node.children.length) {
    checkDepth(stack.length);
    stack.push(node);
    node.changed = true;
    const at = await node.search(key);
    if (at.found) {
      node.keys[at.index] = target;
      return record(session, root, seq, key, value);
    }
    node = await node.getChildNode(at.index);
  }

  let needsSplit = !(await node.insertKey(target, null));
  while (needsSplit) {
    const parent = stack.pop();
    const { median, right } = await node.split();
    if (parent !== undefined) {
      needsSplit = !(await parent.insertKey(median, right));
      node = parent;
    } else {
      root = TreeNode.create(session, node.block);
      root.keys.push(median);
      root.children.push(new ChildRef(0, 0, node), new ChildRef(0, 0, right));
      needsSplit = false;
    }
  }
  return record(session, root, seq, key, value);
}

/** Like {@link writePut} for a deletion; false (nothing recorded) when `key` is absent. */
async function writeDel(session: Session, key: Uint8Array): Promise<boolean> {
  await ensureHeader(session);
  let node = await session.getRoot();
  if (node === null) return false;
  const seq = session.length;
  const stack: TreeNode[] = [];

  for (;;) {
    checkDepth(stack.length);
    stack.push(node);
    const at = await node.search(key);
    if (at.found) {
      if (node.children.length) await setKeyToNearestLeaf(node, at.index, stack);
      else node.removeKey(at.index);
      for (const n of stack) n.changed = true;
      record(session, await rebalance(stack), seq, key, null);
      return true;
    }
    if (!node.children.length) return false;
    node = await node.getChildNode(at.index);
  }
}

/** Indexes the changed nodes under `root` into block `seq`. */
function record(
  session: Session,
  root: TreeNode,
  seq: number,
  key: Uint8Array,
  value: Uint8Array | null,
): void {
  const index: (ChildRef | null)[] = [];
  root.indexChanges(index, seq);
  index[0] = new ChildRef(seq, 0, root);
  const entry = new PendingEntry(seq, key, value, index as ChildRef[]);
  root.block = entry;
  root.updateChildren(seq, entry);
  session.addPending(entry);
}

/** Encodes a batch's pending blocks as hyperbee does at flush. */
function toBlocks(pending: readonly PendingEntry[]): Uint8Array[] {
  return pending.map((entry, i) => {
    if (i < pending.length - 1) compactPendingIndex(entry);
    return encodeNode({ key: entry.key, value: entry.value, index: deflate(entry.pendingIndex) });
  });
}
