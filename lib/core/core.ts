/**
 * A core: an append-only log of blocks, hashed into a BLAKE2b Merkle tree
 * whose roots are signed with Ed25519 — byte-compatible with Hypercore 11.
 *
 * A writer appends; a reader (opened by key) holds any subset of blocks and
 * accepts a block only with a valid proof against a signed tree. Every
 * mutation ends with an atomic header replace, so a process killed at any
 * instant leaves a core that reopens at the last committed length.
 *
 * @module
 */

import { equals } from "../crypto/bytes.ts";
import { type KeyPair, keyPair as makeKeyPair, validateKeyPair } from "../crypto/ed25519.ts";
import { PigeonError } from "../errors.ts";
import * as ft from "../tree/flat_tree.ts";
import { leafHash, leafNode, parentNode, treeHash } from "../tree/merkle.ts";
import type { TreeNode } from "../tree/node.ts";
import { Bitfield } from "./bitfield.ts";
import { BlockCache } from "./block_cache.ts";
import { discoveryKey } from "./caps.ts";
import { decodeHeader, encodeHeader, type Header } from "./header.ts";
import {
  compatManifest,
  coreKey,
  defaultManifest,
  isCompat,
  type Manifest,
  manifestHash,
} from "./manifest.ts";
import {
  generateProof,
  missingNodes,
  type Proof,
  type ProofRequest,
  verifyProof,
} from "./proof.ts";
import type { CoreStorage, RandomAccess } from "./storage.ts";
import { TreeStore } from "./tree_store.ts";
import { Verifier } from "./verifier.ts";

/** How to create or open a core. */
export interface CoreOptions {
  /** Open the core with this key (a reader, unless a matching secret key is known). */
  key?: Uint8Array;
  /** Key pair for a new core, or the secret half that makes an existing one writable. */
  keyPair?: KeyPair;
  /** Create a compat core (key = public key) instead of a manifest-v1 core. */
  compat?: boolean;
  /** A manifest for a new core (default: one Ed25519 signer). */
  manifest?: Manifest;
  /** Flush files to disk at every commit (power-loss safety; slower). */
  sync?: boolean;
  /** Hash every block read and refuse one whose bytes changed under us. */
  verifyReads?: boolean;
}

/** What an append or a verified proof changed. */
export interface CoreUpdate {
  /** The signed length after the change. */
  length: number;
  /** Byte length after the change. */
  byteLength: number;
  /** True when the signed length grew. */
  upgraded: boolean;
  /** Index of a block that became available, or -1. */
  block: number;
}

const EMPTY_TREE_HASH = treeHash([]);

/** An append computed but not yet signed and written. */
interface AppendPlan {
  blocks: readonly Uint8Array[];
  dataSize: number;
  nodes: TreeNode[];
  roots: TreeNode[];
  length: number;
  byteLength: number;
  treeHash: Uint8Array;
}

/** An append-only, verified log. */
export class Core {
  readonly #storage: CoreStorage;
  readonly #tree: TreeStore;
  readonly #data: RandomAccess;
  readonly #bitfield: Bitfield;
  readonly #options: CoreOptions;
  readonly #listeners = new Set<(update: CoreUpdate) => void>();
  /** Blocks just verified, handed once to the first reader instead of a read back. */
  readonly #recent = new BlockCache();
  #header: Header;
  #roots: TreeNode[];
  #verifier: Verifier;
  #keyPair: KeyPair | null;
  #discoveryKey: Uint8Array;
  #closed = false;
  #appending: Promise<void> = Promise.resolve();

  private constructor(
    storage: CoreStorage,
    header: Header,
    keyPair: KeyPair | null,
    options: CoreOptions,
  ) {
    this.#storage = storage;
    this.#options = options;
    this.#header = header;
    this.#keyPair = keyPair;
    this.#discoveryKey = discoveryKey(header.key);
    this.#verifier = verifierFor(header);
    this.#tree = new TreeStore(storage.open("tree"), `${storage.name}/tree`, {
      exclusive: !storage.readOnly,
    });
    this.#data = storage.open("data");
    this.#bitfield = new Bitfield(storage.open("bitfield"));
    this.#roots = [];
  }

  /**
   * Opens the core in `storage`, creating it when the storage is empty: with
   * `options.key` as a reader, otherwise as a writer with a fresh or given key pair.
   */
  static open(storage: CoreStorage, options: CoreOptions = {}): Promise<Core> {
    try {
      return Promise.resolve(Core.#openSync(storage, options));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  static #openSync(storage: CoreStorage, options: CoreOptions): Core {
    const stored = storage.readHeader();
    let header: Header;
    let pair: KeyPair | null = null;
    if (stored) {
      header = decodeHeader(stored, `${storage.name}/header`);
      if (options.key && !equals(options.key, header.key)) {
        throw new PigeonError("BAD_ARGUMENT", `Storage ${storage.name} holds a different core`);
      }
    } else if (options.key) {
      header = {
        key: options.key.slice(),
        compat: false,
        manifest: options.manifest ?? null,
        fork: 0,
        length: 0,
        byteLength: 0,
        treeHash: EMPTY_TREE_HASH,
        signature: null,
      };
      if (header.manifest) {
        header.compat = !equals(manifestHash(header.manifest), header.key);
        if (header.compat && !isCompat(header.manifest, header.key)) {
          throw new PigeonError("BAD_ARGUMENT", "Manifest does not belong to this key");
        }
      }
    } else {
      pair = options.keyPair ?? makeKeyPair();
      const compat = options.compat ?? false;
      const manifest = options.manifest ??
        (compat ? compatManifest(pair.publicKey) : defaultManifest(pair.publicKey));
      header = {
        key: coreKey(manifest, compat),
        compat,
        manifest,
        fork: 0,
        length: 0,
        byteLength: 0,
        treeHash: EMPTY_TREE_HASH,
        signature: null,
      };
    }
    pair ??= options.keyPair ?? (storage.readOnly ? null : secretKeyPair(storage));
    if (pair && !isSigner(header, pair)) {
      if (options.keyPair) {
        throw new PigeonError("BAD_ARGUMENT", "Key pair is not a signer of this core");
      }
      pair = null;
    }
    if (pair) storage.lock();
    const core = new Core(storage, header, pair, options);
    try {
      core.#load(stored === null);
    } catch (err) {
      core.#release();
      throw err;
    }
    return core;
  }

  #load(fresh: boolean): void {
    const h = this.#header;
    if (fresh) {
      if (this.#storage.readOnly) {
        throw new PigeonError("NOT_FOUND", `No core in ${this.#storage.name}`);
      }
      if (this.#keyPair) this.#storage.writeSecretKey(this.#keyPair.secretKey);
      this.#commit(this.#header);
    }
    this.#roots = this.#tree.roots(h.length);
    if (!equals(treeHash(this.#roots), h.treeHash)) {
      throw new PigeonError(
        "CORRUPT_STORAGE",
        `Tree in ${this.#storage.name}/tree does not match the header at length ${h.length}`,
      );
    }
    if (
      h.length > 0 &&
      (!h.signature || !this.#verifier.verify(h.signature, h.treeHash, h.length, h.fork))
    ) {
      throw new PigeonError(
        "CORRUPT_STORAGE",
        `Signature in ${this.#storage.name}/header does not verify`,
      );
    }
    if (this.#storage.readOnly) return;
    if (this.#keyPair) {
      // Anything past the committed length is a torn append: drop it.
      this.#tree.truncate(Math.max(0, 2 * h.length - 1));
      if (this.#data.size() > h.byteLength) this.#data.truncate(h.byteLength);
    }
    this.#bitfield.clearFrom(h.length);
  }

  /** 32-byte key: the link's public part. */
  get key(): Uint8Array {
    return this.#header.key;
  }

  /** BLAKE2b-256 of "hypercore" keyed by the key: the only name announced on a network. */
  get discoveryKey(): Uint8Array {
    return this.#discoveryKey;
  }

  /** The manifest (null while a reader has not received one). */
  get manifest(): Manifest | null {
    return this.#header.manifest;
  }

  /** True when the key is the signer's public key. */
  get compat(): boolean {
    return this.#header.compat;
  }

  /** Signed length: the number of blocks in the latest signed version. */
  get length(): number {
    return this.#header.length;
  }

  /** Total bytes of the blocks below `length`. */
  get byteLength(): number {
    return this.#header.byteLength;
  }

  /** Fork id (0 until a truncation). */
  get fork(): number {
    return this.#header.fork;
  }

  /** The signature container at `length` (null while empty). */
  get signature(): Uint8Array | null {
    return this.#header.signature;
  }

  /** True when this process holds the secret key. */
  get writable(): boolean {
    return this.#keyPair !== null;
  }

  /** The key pair, when writable. Never printed by pigeon except by an explicit export. */
  get keyPair(): KeyPair | null {
    return this.#keyPair;
  }

  /** Length of the run of held blocks from 0. */
  get contiguousLength(): number {
    return Math.min(this.#bitfield.contiguousLength(), this.length);
  }

  /** The tree hash at `length` (default: the signed length). */
  treeHash(length: number = this.length): Uint8Array {
    if (length === this.length) return this.#header.treeHash;
    if (length > this.length) {
      throw new PigeonError("BAD_ARGUMENT", `Length ${length} > ${this.length}`);
    }
    const roots = this.#tree.tryRoots(length);
    if (!roots) throw new PigeonError("NOT_AVAILABLE", `Tree at length ${length} is not held`);
    return treeHash(roots);
  }

  /** True iff block `index` is held and verified. */
  has(index: number): boolean {
    return index < this.length && this.#bitfield.get(index);
  }

  /** Number of held blocks in `[start, end)`. */
  countHeld(start = 0, end: number = this.length): number {
    return this.#bitfield.count(start, Math.min(end, this.length));
  }

  /** Block `index`; throws `NOT_AVAILABLE` when it is not held. */
  get(index: number): Promise<Uint8Array> {
    try {
      return Promise.resolve(this.getSync(index));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Block `index`, synchronously (see {@link get}). */
  getSync(index: number): Uint8Array {
    this.#assertOpen();
    if (!this.has(index)) {
      throw new PigeonError("NOT_AVAILABLE", `Block ${index} is not held (length ${this.length})`);
    }
    const recent = this.#recent.take(index);
    if (recent) return recent;
    const leaf = this.#tree.require(2 * index);
    const offset = this.#tree.byteOffset(index, this.#roots);
    const value = this.#data.read(offset, leaf.size);
    if (this.#options.verifyReads && !equals(leafHash(value), leaf.hash)) {
      this.#bitfield.setRange(index, index + 1, false);
      throw new PigeonError(
        "NOT_AVAILABLE",
        `Block ${index} changed on disk; it is no longer held`,
      );
    }
    return value;
  }

  /**
   * Appends `blocks` as one signed batch: one signature per call. Calls are
   * serialised, so concurrent appends land in call order.
   */
  append(blocks: readonly Uint8Array[]): Promise<CoreUpdate> {
    // Leaves are hashed now, in the caller's turn: while an earlier append's
    // data is still being written off the main thread, this batch hashes.
    let leaves: Uint8Array[];
    try {
      this.#assertOpen();
      leaves = blocks.map((block) => leafHash(block));
    } catch (err) {
      return Promise.reject(err);
    }
    const run = this.#appending.then(async () => {
      const plan = this.#prepareAppend(blocks, leaves);
      if (!plan) return this.#update(false, -1);
      const signature = await this.#verifier.signAsync(
        this.#keyPair!,
        plan.treeHash,
        plan.length,
        this.fork,
      );
      if (this.length !== plan.length - blocks.length) {
        throw new PigeonError(
          "BAD_ARGUMENT",
          "Core changed during append (appendSync mixed with append)",
        );
      }
      return await this.#commitAppend(plan, signature);
    });
    this.#appending = run.then(() => {}, () => {});
    return run;
  }

  /** {@link append}, synchronously (signs with the pure-TypeScript Ed25519). */
  appendSync(blocks: readonly Uint8Array[]): CoreUpdate {
    const plan = this.#prepareAppend(blocks, null);
    if (!plan) return this.#update(false, -1);
    const signature = this.#verifier.sign(this.#keyPair!, plan.treeHash, plan.length, this.fork);
    const data = this.#planData(plan);
    this.#data.write(this.#header.byteLength, data);
    return this.#finishAppend(plan, signature);
  }

  #prepareAppend(blocks: readonly Uint8Array[], leaves: Uint8Array[] | null): AppendPlan | null {
    this.#assertOpen();
    if (!this.#keyPair) {
      throw new PigeonError("NOT_WRITABLE", "Core is not writable: no secret key");
    }
    if (blocks.length === 0) return null;
    const h = this.#header;
    const roots = [...this.#roots];
    const nodes: TreeNode[] = [];
    let dataSize = 0;
    for (let i = 0; i < blocks.length; i++) {
      let node: TreeNode = leaves
        ? { index: 2 * (h.length + i), size: blocks[i]!.byteLength, hash: leaves[i]! }
        : leafNode(h.length + i, blocks[i]!);
      nodes.push(node);
      dataSize += blocks[i]!.byteLength;
      // Merge equal-depth siblings like a binary counter.
      while (roots.length > 0 && ft.sibling(node.index) === roots.at(-1)!.index) {
        node = parentNode(roots.pop()!, node, ft.parent(node.index));
        nodes.push(node);
      }
      roots.push(node);
    }
    return {
      blocks,
      dataSize,
      nodes,
      roots,
      length: h.length + blocks.length,
      byteLength: h.byteLength + dataSize,
      treeHash: treeHash(roots),
    };
  }

  /** The batch's bytes as one span (a view when the blocks already lie back to back). */
  #planData(plan: AppendPlan): Uint8Array {
    return plan.blocks.length === 1 ? plan.blocks[0]! : concatBlocks(plan.blocks, plan.dataSize);
  }

  /** Writes the data (off the main thread when the storage can), then the tree and header. */
  async #commitAppend(plan: AppendPlan, signature: Uint8Array): Promise<CoreUpdate> {
    const data = this.#planData(plan);
    const offset = this.#header.byteLength;
    if (this.#data.writeAsync) await this.#data.writeAsync(offset, data);
    else this.#data.write(offset, data);
    this.#assertOpen();
    return this.#finishAppend(plan, signature);
  }

  /** Commits an append whose data is written: tree nodes, bitfield, then the header. */
  #finishAppend(plan: AppendPlan, signature: Uint8Array): CoreUpdate {
    const h = this.#header;
    this.#tree.put(plan.nodes);
    this.#bitfield.setRange(h.length, plan.length, true);
    this.#commit({
      ...h,
      length: plan.length,
      byteLength: plan.byteLength,
      treeHash: plan.treeHash,
      signature,
    });
    this.#roots = plan.roots;
    return this.#update(true, -1);
  }

  /**
   * The block holding byte `byteOffset` and the offset inside it. Throws
   * `NOT_AVAILABLE` when a reader lacks the tree nodes on the way.
   */
  seek(byteOffset: number): Promise<{ index: number; offset: number }> {
    try {
      this.#assertOpen();
      if (byteOffset < 0 || !Number.isInteger(byteOffset)) {
        throw new PigeonError("BAD_ARGUMENT", `Not a byte offset: ${byteOffset}`);
      }
      return Promise.resolve(this.#tree.seek(byteOffset, this.#roots));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** How many ancestors of block `index` this core lacks (a request's `nodes`). */
  missingNodes(index: number): number {
    return missingNodes(this.#tree, index, this.length);
  }

  /**
   * Answers a request with a proof (SPEC f.4). Throws `BAD_ARGUMENT` for an
   * invalid request and `NOT_AVAILABLE` when this core lacks what is needed.
   */
  proof(request: ProofRequest): Proof {
    this.#assertOpen();
    const view = {
      length: this.length,
      fork: this.fork,
      signature: this.signature,
      get: (index: number) => this.#tree.get(index),
      block: (index: number) => (this.has(index) ? this.getSync(index) : null),
    };
    const hasRequest = request.block || request.hash || request.upgrade || request.seek;
    const proof: Proof = hasRequest ? generateProof(view, request) : emptyProof(this.fork);
    if (request.manifest && this.manifest && !this.compat) proof.manifest = this.manifest;
    return proof;
  }

  /**
   * Verifies `proof` and stores what it proves: the manifest, the block, and a
   * longer signed tree. Unverified bytes are never written. Throws
   * `INVALID_PROOF` / `INVALID_SIGNATURE` for a bad proof.
   */
  verify(proof: Proof): CoreUpdate {
    this.#assertOpen();
    if (proof.manifest) this.#acceptManifest(proof.manifest);
    const view = {
      fork: this.fork,
      get: (index: number) => this.#tree.get(index),
      verifySignature: (sig: Uint8Array, hash: Uint8Array, length: number, fork: number) =>
        this.#verifier.verify(sig, hash, length, fork),
    };
    let verified = verifyProof(view, proof);
    if (verified.upgrade && verified.upgrade.length <= this.length) {
      // A stale upgrade (peers replay old proofs): never a fork; keep only a block
      // whose path reaches a node we already trust.
      if (!proof.block) return this.#update(false, -1);
      try {
        verified = verifyProof(view, { ...proof, upgrade: null });
      } catch {
        return this.#update(false, -1);
      }
    }
    const upgrade = verified.upgrade;
    const roots = upgrade ? upgrade.roots : this.#roots;
    const length = upgrade ? upgrade.length : this.length;
    const block = verified.block;
    if (block && block.index >= length) {
      throw new PigeonError("INVALID_PROOF", `Block ${block.index} is beyond length ${length}`);
    }
    this.#tree.put(verified.nodes.filter((node) => !this.#tree.has(node.index)));
    let stored = -1;
    if (block && !this.#bitfield.get(block.index)) {
      this.#data.write(this.#tree.byteOffset(block.index, roots), block.value);
      this.#bitfield.setRange(block.index, block.index + 1, true);
      this.#recent.put(block.index, block.value);
      stored = block.index;
    }
    if (upgrade) {
      // A signature that verified without a manifest proves the key is the signer (compat).
      const manifest = this.manifest ?? compatManifest(this.key);
      this.#commit({
        ...this.#header,
        manifest,
        compat: this.manifest ? this.compat : true,
        length: upgrade.length,
        byteLength: upgrade.byteLength,
        treeHash: upgrade.treeHash,
        signature: upgrade.signature,
      });
      this.#roots = upgrade.roots;
    }
    return this.#update(upgrade !== null, stored);
  }

  /** Calls `listener` after every append or verified change; returns an unsubscribe function. */
  onUpdate(listener: (update: CoreUpdate) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Releases files and the write lock. */
  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#release();
    }
    return Promise.resolve();
  }

  #release(): void {
    this.#recent.clear();
    this.#storage.close();
  }

  #acceptManifest(manifest: Manifest): void {
    if (this.manifest) return;
    if (!equals(manifestHash(manifest), this.key)) {
      throw new PigeonError("INVALID_PROOF", "Received manifest does not hash to the core key");
    }
    this.#commit({ ...this.#header, manifest, compat: false });
    this.#verifier = verifierFor(this.#header);
  }

  #commit(header: Header): void {
    const sync = this.#options.sync ?? false;
    if (sync) {
      this.#data.sync();
      this.#tree.sync();
    }
    this.#storage.writeHeader(encodeHeader(header), sync);
    this.#header = header;
  }

  #update(upgraded: boolean, block: number): CoreUpdate {
    const update = { length: this.length, byteLength: this.byteLength, upgraded, block };
    if (upgraded || block >= 0) { for (const listener of this.#listeners) listener(update); }
    return update;
  }

  #assertOpen(): void {
    if (this.#closed) throw new PigeonError("CLOSED", "Core is closed");
  }
}

function verifierFor(header: Header): Verifier {
  if (header.manifest) return new Verifier(header.manifest, header.compat);
  // No manifest received yet: only a compat signature by the key itself can verify.
  return new Verifier(compatManifest(header.key), true);
}

function isSigner(header: Header, pair: KeyPair): boolean {
  if (!validateKeyPair(pair)) return false;
  const manifest = header.manifest;
  return manifest !== null && manifest.signers.some((s) => equals(s.publicKey, pair.publicKey));
}

function secretKeyPair(storage: CoreStorage): KeyPair | null {
  const secretKey = storage.readSecretKey();
  if (!secretKey) return null;
  if (secretKey.byteLength !== 64) {
    throw new PigeonError("CORRUPT_STORAGE", `Secret key in ${storage.name} has the wrong size`);
  }
  return { publicKey: secretKey.slice(32), secretKey };
}

function concatBlocks(blocks: readonly Uint8Array[], size: number): Uint8Array {
  // Blocks cut from one buffer back to back (pigeon send reads a batch at once) are written
  // as that buffer's span, without copying them together.
  const first = blocks[0]!;
  let end = first.byteOffset;
  let adjacent = true;
  for (const block of blocks) {
    if (block.buffer !== first.buffer || block.byteOffset !== end) {
      adjacent = false;
      break;
    }
    end += block.byteLength;
  }
  if (adjacent) return new Uint8Array(first.buffer, first.byteOffset, size);
  const out = new Uint8Array(size);
  let at = 0;
  for (const block of blocks) {
    out.set(block, at);
    at += block.byteLength;
  }
  return out;
}

function emptyProof(fork: number): Proof {
  return { fork, block: null, hash: null, seek: null, upgrade: null, manifest: null };
}
