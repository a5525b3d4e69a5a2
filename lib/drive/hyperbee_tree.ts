/**
 * The mutable in-memory B-tree that Hyperbee writes are computed on (SPEC g.1).
 *
 * A write loads the nodes on its path from their blocks, edits them, marks what
 * it edited as changed and serialises the changed nodes into the new block's
 * YoloIndex: the root at offset 0, then changed children depth first, left to
 * right. To reproduce hyperbee 2.27.3 byte for byte this module follows its
 * choices exactly:
 *
 * - a node holds at most {@link MAX_KEYS} keys; inserting one more splits it
 *   into 4 keys, the median (moved up) and 4 keys;
 * - a put marks every node on its path changed (even if only a leaf changes);
 * - deleting a key of an inner node replaces it by its neighbour from the leaf
 *   side holding more keys (the predecessor on a tie), then rebalances: borrow
 *   from the left sibling, else from the right, else merge (with the left one
 *   if there is one); siblings only count as changed when they are edited;
 * - inside one batch, nodes stay live between writes and are moved to the newest
 *   block that changed them (see {@link compactPendingIndex}).
 *
 * @module
 */

import { PigeonError } from "../errors.ts";
import { type BeeNode, encodeYoloIndex, type Level } from "./hyperbee_codec.ts";

/** Largest number of keys in one node (hyperbee's `MAX_CHILDREN − 1` with T = 5). */
export const MAX_KEYS = 8;
/** Fewest keys a non-root node keeps before it is rebalanced (T − 1). */
export const MIN_KEYS = 4;
/**
 * Deepest tree walked. A B-tree of this depth holds more than 5^63 keys, so a
 * deeper walk means a malformed (cyclic) index.
 */
export const MAX_TREE_DEPTH = 64;

/** A key reference: the block seq holding the key, and the key bytes once read. */
export class KeyRef {
  /** Block seq whose `key` field is this key. */
  seq: number;
  /** The key bytes, or null until read. */
  value: Uint8Array | null;

  /** A reference to the key of block `seq`. */
  constructor(seq: number, value: Uint8Array | null) {
    this.seq = seq;
    this.value = value;
  }
}

/** A child pointer: level `offset` of block `seq`, and the node once loaded. */
export class ChildRef {
  /** Block seq holding the child node. */
  seq: number;
  /** Level of that block's YoloIndex. */
  offset: number;
  /** The loaded node, or null. */
  node: TreeNode | null;

  /** A pointer to level `offset` of block `seq`. */
  constructor(seq: number, offset: number, node: TreeNode | null) {
    this.seq = seq;
    this.offset = offset;
    this.node = node;
  }
}

/** Where tree nodes fetch blocks and keys from. */
export interface BlockSource {
  /** The block `seq`, decoded. */
  getBlock(seq: number): Promise<BlockEntry>;
  /** The key of block `seq`. */
  getKey(seq: number): Promise<Uint8Array>;
}

/** One node level as edited: key references and child pointers. */
export interface LevelRefs {
  /** Keys in order. */
  keys: KeyRef[];
  /** Children (keys.length + 1 of them, or none for a leaf). */
  children: ChildRef[];
}

/** A Hyperbee block (seq ≥ 1) with its index inflated on demand. */
export class BlockEntry {
  /** Block seq. */
  readonly seq: number;
  /** The key this block writes or deletes. */
  readonly key: Uint8Array;
  /** The value; null for a deletion. */
  readonly value: Uint8Array | null;
  #levels: LevelRefs[] | null = null;
  #decoded: () => Level[];

  /** Wraps block `seq`; `levels` decodes its YoloIndex when first needed. */
  constructor(seq: number, node: Pick<BeeNode, "key" | "value">, levels: () => Level[]) {
    this.seq = seq;
    this.key = node.key;
    this.value = node.value;
    this.#decoded = levels;
  }

  /** The levels as editable references, created once per entry. */
  levels(): LevelRefs[] {
    if (this.#levels === null) {
      this.#levels = this.#decoded().map((l) => {
        const keys = l.keys.map((seq) => new KeyRef(seq, null));
        const children: ChildRef[] = [];
        for (let i = 0; i < l.children.length; i += 2) {
          children.push(new ChildRef(l.children[i]!, l.children[i + 1]!, null));
        }
        return { keys, children };
      });
    }
    return this.#levels;
  }

  /** The node at level `offset`. */
  treeNode(source: BlockSource, offset: number): TreeNode {
    const levels = this.levels();
    const level = levels[offset];
    if (level === undefined) {
      throw new PigeonError(
        "DECODE_ERROR",
        `Block ${this.seq} has no index level ${offset} (it has ${levels.length})`,
      );
    }
    return new TreeNode(source, this, level.keys, level.children, offset);
  }

  /** True when this block deletes its key (no value, key not in its own index). */
  isDeletion(): boolean {
    if (this.value !== null) return false;
    for (const l of this.levels()) {
      for (const k of l.keys) if (k.seq === this.seq) return false;
    }
    return true;
  }
}

/** A block written inside a batch and not yet appended: its nodes are live. */
export class PendingEntry extends BlockEntry {
  /** The nodes this block holds, by offset (compacted when the batch flushes). */
  pendingIndex: (ChildRef | null)[];

  /** A pending block `seq` holding the nodes of `index`. */
  constructor(seq: number, key: Uint8Array, value: Uint8Array | null, index: ChildRef[]) {
    super(seq, { key, value }, () => []);
    this.pendingIndex = index;
  }

  /** The live node at `offset`. */
  override treeNode(_source: BlockSource, offset: number): TreeNode {
    const node = this.pendingIndex[offset]?.node;
    if (!node) throw new PigeonError("BAD_ARGUMENT", `Pending block has no node ${offset}`);
    return node;
  }

  /** A pending block with no value is a deletion (puts always carry one). */
  override isDeletion(): boolean {
    return this.value === null;
  }
}

/** Compares two byte strings (like `Buffer.compare`). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.byteLength, b.byteLength);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return a.byteLength === b.byteLength ? 0 : a.byteLength < b.byteLength ? -1 : 1;
}

/** Throws when a walk goes deeper than {@link MAX_TREE_DEPTH}. */
export function checkDepth(depth: number): void {
  if (depth > MAX_TREE_DEPTH) {
    throw new PigeonError("DECODE_ERROR", `B-tree deeper than ${MAX_TREE_DEPTH} levels`);
  }
}

/** Result of a binary search in a node: found index, or insertion index. */
export interface Search {
  /** True when the key is at `index`. */
  found: boolean;
  /** Position of the key, or of the child to descend into. */
  index: number;
}

/** One B-tree node being read or edited. */
export class TreeNode {
  /** The block this node was read from (null for a fresh root of an empty tree). */
  block: BlockEntry | null;
  /** Level of the block's index this node was read from. */
  offset: number;
  /** Keys in order. */
  keys: KeyRef[];
  /** Child pointers; empty for a leaf. */
  children: ChildRef[];
  /** True when this node must be written into the next block. */
  changed = false;
  #source: BlockSource;

  /** A node over existing key and child arrays (shared with its block). */
  constructor(
    source: BlockSource,
    block: BlockEntry | null,
    keys: KeyRef[],
    children: ChildRef[],
    offset: number,
  ) {
    this.#source = source;
    this.block = block;
    this.keys = keys;
    this.children = children;
    this.offset = offset;
  }

  /** A new, empty, changed node. */
  static create(source: BlockSource, block: BlockEntry | null): TreeNode {
    const node = new TreeNode(source, block, [], [], 0);
    node.changed = true;
    return node;
  }

  /** The bytes of key `index`, read once. */
  async getKey(index: number): Promise<Uint8Array> {
    const ref = this.keys[index]!;
    if (ref.value !== null) return ref.value;
    const value = this.block !== null && ref.seq === this.block.seq
      ? this.block.key
      : await this.#source.getKey(ref.seq);
    ref.value = value;
    return value;
  }

  /** The child node at `index`, loaded once. */
  async getChildNode(index: number): Promise<TreeNode> {
    const child = this.children[index]!;
    if (child.node !== null) return child.node;
    const block = this.block !== null && child.seq === this.block.seq
      ? this.block
      : await this.#source.getBlock(child.seq);
    child.node = block.treeNode(this.#source, child.offset);
    return child.node;
  }

  /** Binary search for `key` among this node's keys. */
  async search(key: Uint8Array): Promise<Search> {
    let lo = 0;
    let hi = this.keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const c = compareBytes(key, await this.getKey(mid));
      if (c === 0) return { found: true, index: mid };
      if (c < 0) hi = mid;
      else lo = mid + 1;
    }
    return { found: false, index: lo };
  }

  /**
   * Inserts `key` in order (replacing an equal key), with `child` as the
   * pointer right of it. Returns false when the node now needs a split.
   */
  async insertKey(key: KeyRef, child: TreeNode | null): Promise<boolean> {
    const at = await this.search(key.value!);
    this.changed = true;
    if (at.found) {
      this.keys[at.index] = key;
      return true;
    }
    this.keys.splice(at.index, 0, key);
    if (child !== null) this.children.splice(at.index + 1, 0, new ChildRef(0, 0, child));
    return this.keys.length <= MAX_KEYS;
  }

  /**
   * Removes key `index` and the child right of it. The child pointer is marked
   * freed (seq 0) so that a pending batch block listing it drops it.
   */
  removeKey(index: number): void {
    this.keys.splice(index, 1);
    if (this.children.length) {
      this.children[index + 1]!.seq = 0;
      this.children.splice(index + 1, 1);
    }
    this.changed = true;
  }

  /** Splits an overfull node: this keeps the left half, the median moves up. */
  async split(): Promise<{ median: KeyRef; right: TreeNode }> {
    const half = this.keys.length >> 1;
    const right = TreeNode.create(this.#source, this.block);
    right.keys = this.keys.splice(this.keys.length - half, half);
    await this.getKey(this.keys.length - 1);
    const median = this.keys.pop()!;
    if (this.children.length) {
      right.children = this.children.splice(this.children.length - (half + 1), half + 1);
    }
    this.changed = true;
    return { median, right };
  }

  /** Appends `median` and all of `node` to this node. */
  merge(node: TreeNode, median: KeyRef): void {
    this.changed = true;
    this.keys.push(median, ...node.keys);
    this.children.push(...node.children);
  }

  /** This node's siblings under `parent` (loaded), and its position there. */
  async siblings(
    parent: TreeNode,
  ): Promise<{ left: TreeNode | null; index: number; right: TreeNode | null }> {
    const index = parent.children.findIndex((c) => c.node === this);
    if (index === -1) throw new PigeonError("BAD_ARGUMENT", "Node is not a child of its parent");
    const [left, right] = await Promise.all([
      index > 0 ? parent.getChildNode(index - 1) : null,
      index < parent.children.length - 1 ? parent.getChildNode(index + 1) : null,
    ]);
    return { left, index, right };
  }

  /**
   * Assigns changed nodes (this one first, then changed children depth first)
   * to offsets of `index`, pointing their parents at block `seq`. Returns
   * this node's offset.
   */
  indexChanges(index: (ChildRef | null)[], seq: number, depth = 0): number {
    checkDepth(depth);
    const offset = index.push(null) - 1;
    this.changed = false;
    for (const child of this.children) {
      if (child.node === null || !child.node.changed) continue;
      child.seq = seq;
      child.offset = child.node.indexChanges(index, seq, depth + 1);
      index[child.offset] = child;
    }
    return offset;
  }

  /** Points every node that now lives in block `seq` at `block`. */
  updateChildren(seq: number, block: BlockEntry): void {
    for (const child of this.children) {
      if (child.node === null || child.seq !== seq) continue;
      child.node.block = block;
      child.node.updateChildren(seq, block);
    }
  }
}

/** The YoloIndex bytes of the nodes listed in `index`. */
export function deflate(index: readonly (ChildRef | null)[]): Uint8Array {
  const levels: Level[] = index.map((ref) => {
    const node = ref!.node!;
    const children: number[] = [];
    for (const c of node.children) children.push(c.seq, c.offset);
    return { keys: node.keys.map((k) => k.seq), children };
  });
  return encodeYoloIndex({ levels });
}

/**
 * Drops from a non-final batch block the nodes a later write moved away (and
 * its root, always replaced later), filling holes from the end, as hyperbee
 * does before it encodes a batch.
 */
export function compactPendingIndex(entry: PendingEntry): void {
  const index = entry.pendingIndex;
  index[0] = null;
  let j = 0;
  while (j < index.length) {
    const ref = index[j];
    if (ref && ref.seq === entry.seq) {
      ref.offset = j++;
      continue;
    }
    if (j === index.length - 1) index.pop();
    else index[j] = index.pop()!;
  }
}

async function leafSize(node: TreeNode, goLeft: boolean): Promise<number> {
  for (let depth = 0; node.children.length; depth++) {
    checkDepth(depth);
    node = await node.getChildNode(goLeft ? 0 : node.children.length - 1);
  }
  return node.keys.length;
}

/**
 * Replaces inner key `index` of `node` by its neighbour from the leaf side
 * with more keys, pushing the nodes walked onto `stack`.
 */
export async function setKeyToNearestLeaf(
  node: TreeNode,
  index: number,
  stack: TreeNode[],
): Promise<void> {
  let [left, right] = await Promise.all([node.getChildNode(index), node.getChildNode(index + 1)]);
  const [ls, rs] = await Promise.all([leafSize(left, false), leafSize(right, true)]);
  if (ls < rs) {
    stack.push(right);
    while (right.children.length) {
      checkDepth(stack.length);
      right = right.children[0]!.node!;
      stack.push(right);
    }
    node.keys[index] = right.keys.shift()!;
  } else {
    stack.push(left);
    while (left.children.length) {
      checkDepth(stack.length);
      left = left.children[left.children.length - 1]!.node!;
      stack.push(left);
    }
    node.keys[index] = left.keys.pop()!;
  }
}

/**
 * Restores the minimum fill along `stack` (root first) after a deletion and
 * returns the root to write, which is the only child when the root emptied.
 */
export async function rebalance(stack: TreeNode[]): Promise<TreeNode> {
  const root = stack[0]!;
  while (stack.length > 1) {
    const node = stack.pop()!;
    const parent = stack[stack.length - 1]!;
    if (node.keys.length >= MIN_KEYS) return root;

    const sib = await node.siblings(parent);
    let { left, right, index } = sib;

    if (left && left.keys.length > MIN_KEYS) {
      left.changed = true;
      node.keys.unshift(parent.keys[index - 1]!);
      if (left.children.length) node.children.unshift(left.children.pop()!);
      parent.keys[index - 1] = left.keys.pop()!;
      return root;
    }
    if (right && right.keys.length > MIN_KEYS) {
      right.changed = true;
      node.keys.push(parent.keys[index]!);
      if (right.children.length) node.children.push(right.children.shift()!);
      parent.keys[index] = right.keys.shift()!;
      return root;
    }

    if (left) {
      index--;
      right = node;
    } else {
      left = node;
    }
    left.merge(right!, parent.keys[index]!);
    parent.removeKey(index);
  }
  if (!root.keys.length && root.children.length) return root.getChildNode(0);
  return root;
}
