/**
 * Stored Merkle tree nodes of one core, with a small cache.
 *
 * | file | layout                                                         |
 * |------|----------------------------------------------------------------|
 * | tree | node i at byte i·40: u64le size, 32-byte hash; all zero = absent |
 *
 * A node is written only once it is trusted: computed by the writer, or
 * verified against a signed tree by a reader.
 *
 * @module
 */

import { readU64le, writeU64le } from "../crypto/bytes.ts";
import { PigeonError } from "../errors.ts";
import * as ft from "../tree/flat_tree.ts";
import type { TreeNode } from "../tree/node.ts";
import type { RandomAccess } from "./storage.ts";

/** Bytes per stored node. */
export const NODE_BYTES = 40;
/** Nodes kept in memory; enough for the upper levels of any tree and a batch. */
const MAX_CACHED_NODES = 65536;

/** Stored tree nodes of a core. */
export class TreeStore {
  readonly #file: RandomAccess;
  readonly #source: string;
  /** Known nodes, and null for indexes known to be absent (a reader probes many). */
  #cache = new Map<number, TreeNode | null>();
  /**
   * With `exclusive`: nodes at or past this index were not in the file when it
   * was opened, so one is stored only if {@link put} wrote it ({@link #written}).
   */
  #firstUnopened = 0;
  /** Bit i set: node i was written by this store (only with `exclusive`). */
  #written: Uint8Array | null = null;

  /**
   * Nodes in `file`; `source` names it in errors. With `exclusive` (nobody
   * else writes the file while this store is open) a node past the file's
   * opening size that this store never wrote is known absent without a read:
   * a reader probes the new leaf and ancestors of every block it requests.
   */
  constructor(file: RandomAccess, source: string, options: { exclusive?: boolean } = {}) {
    this.#file = file;
    this.#source = source;
    if (options.exclusive) {
      this.#firstUnopened = Math.ceil(file.size() / NODE_BYTES);
      this.#written = new Uint8Array(0);
    }
  }

  /** The stored node at `index`, or null. */
  get(index: number): TreeNode | null {
    const cached = this.#cache.get(index);
    if (cached !== undefined) return cached;
    if (this.#written && index >= this.#firstUnopened && !this.#wasWritten(index)) return null;
    const bytes = this.#file.read(index * NODE_BYTES, NODE_BYTES);
    const node = isZero(bytes)
      ? null
      : { index, size: readU64le(bytes, 0), hash: bytes.slice(8, 40) };
    this.#remember(index, node);
    return node;
  }

  /** The stored node at `index`; throws `CORRUPT_STORAGE` if it is missing. */
  require(index: number): TreeNode {
    const node = this.get(index);
    if (!node) {
      throw new PigeonError(
        "CORRUPT_STORAGE",
        `Tree node ${index} is missing from ${this.#source}`,
      );
    }
    return node;
  }

  /** True iff a node is stored at `index`. */
  has(index: number): boolean {
    return this.get(index) !== null;
  }

  /** Writes `nodes`, coalescing runs of consecutive indexes into one write. */
  put(nodes: readonly TreeNode[]): void {
    if (nodes.length === 0) return;
    const sorted = [...nodes].sort((a, b) => a.index - b.index);
    let runStart = 0;
    for (let i = 1; i <= sorted.length; i++) {
      const prev = sorted[i - 1]!;
      const next = sorted[i];
      if (next && next.index === prev.index) {
        throw new PigeonError("BAD_ARGUMENT", `Node ${next.index} written twice in one batch`);
      }
      if (next && next.index === prev.index + 1) continue;
      const run = sorted.slice(runStart, i);
      const bytes = new Uint8Array(run.length * NODE_BYTES);
      run.forEach((node, j) => {
        writeU64le(bytes, j * NODE_BYTES, node.size);
        bytes.set(node.hash, j * NODE_BYTES + 8);
      });
      this.#file.write(run[0]!.index * NODE_BYTES, bytes);
      runStart = i;
    }
    for (const node of sorted) {
      this.#remember(node.index, node);
      this.#markWritten(node.index);
    }
  }

  /** Drops every node at or above `index` (a writer's uncommitted tail). */
  truncate(index: number): void {
    if (this.#file.size() > index * NODE_BYTES) this.#file.truncate(index * NODE_BYTES);
    for (const key of this.#cache.keys()) if (key >= index) this.#cache.delete(key);
    const written = this.#written;
    if (written) {
      this.#firstUnopened = Math.min(this.#firstUnopened, index);
      const byte = Math.ceil(index / 8);
      for (let i = index; i < Math.min(byte, written.byteLength) * 8; i++) {
        written[Math.floor(i / 8)]! &= ~(1 << (i % 8));
      }
      if (byte < written.byteLength) written.fill(0, byte);
    }
  }

  /** The roots of the tree of `length` blocks; throws if one is missing. */
  roots(length: number): TreeNode[] {
    return ft.fullRoots(2 * length).map((i) => this.require(i));
  }

  /** The roots of `length` if all are stored, else null. */
  tryRoots(length: number): TreeNode[] | null {
    const out: TreeNode[] = [];
    for (const index of ft.fullRoots(2 * length)) {
      const node = this.get(index);
      if (!node) return null;
      out.push(node);
    }
    return out;
  }

  /**
   * Byte offset of block `block` in a log whose roots are `roots`: the sizes
   * of every subtree to its left. Needs the left children along its path.
   */
  byteOffset(block: number, roots: readonly TreeNode[]): number {
    const target = 2 * block;
    let offset = 0;
    for (const root of roots) {
      // A node of depth d spans index ± (2^d − 1); its children are at index ± 2^(d−1).
      let half = 2 ** ft.depth(root.index) / 2;
      if (root.index + 2 * half - 1 < target) {
        offset += root.size;
        continue;
      }
      let index = root.index;
      while (index !== target && half >= 1) {
        if (target < index) {
          index -= half;
        } else {
          offset += this.require(index - half).size;
          index += half;
        }
        half /= 2;
      }
      return offset;
    }
    throw new PigeonError("NOT_AVAILABLE", `Block ${block} is beyond the tree`);
  }

  /**
   * The block holding byte `byteOffset` of a log whose roots are `roots`, and
   * the offset inside it; `{ index: blocks, offset: 0 }` at or past the end.
   */
  seek(byteOffset: number, roots: readonly TreeNode[]): { index: number; offset: number } {
    let rest = byteOffset;
    let blocks = 0;
    for (const root of roots) {
      if (rest >= root.size) {
        rest -= root.size;
        blocks += ft.countLeaves(root.index);
        continue;
      }
      let index = root.index;
      while (index % 2 === 1) {
        const left = this.require(ft.leftChild(index));
        if (rest < left.size) {
          index = left.index;
        } else {
          rest -= left.size;
          index = ft.rightChild(index);
        }
      }
      return { index: index / 2, offset: rest };
    }
    return { index: blocks, offset: 0 };
  }

  /** Flushes the file. */
  sync(): void {
    this.#file.sync();
  }

  #wasWritten(index: number): boolean {
    const byte = this.#written![Math.floor(index / 8)];
    return byte !== undefined && (byte & (1 << (index % 8))) !== 0;
  }

  #markWritten(index: number): void {
    const written = this.#written;
    if (!written) return;
    const at = Math.floor(index / 8);
    if (at >= written.byteLength) {
      const grown = new Uint8Array(Math.max(at + 1, 2 * written.byteLength, 64));
      grown.set(written);
      this.#written = grown;
    }
    this.#written![at]! |= 1 << (index % 8);
  }

  #remember(index: number, node: TreeNode | null): void {
    // Start over when full: evicting the oldest entry one at a time makes
    // `keys().next()` skip ever more deleted slots (quadratic on big appends).
    if (this.#cache.size >= MAX_CACHED_NODES) this.#cache.clear();
    this.#cache.set(index, node);
  }
}

function isZero(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.byteLength; i++) if (bytes[i] !== 0) return false;
  return true;
}
