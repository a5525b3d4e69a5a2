/**
 * Ordered range iteration and history over one version of a Hyperbee.
 *
 * A range walk keeps a stack of `(node, position)` frames. Positions run over
 * the interleaving `child 0, key 0, child 1, key 1, …, child n` of a node
 * (even = child, odd = key), forwards or backwards, so each step costs O(1)
 * amortised and only the nodes on the current path stay in memory.
 *
 * @module
 */

import { PigeonError } from "../errors.ts";
import {
  type BlockEntry,
  type BlockSource,
  checkDepth,
  compareBytes,
  type TreeNode,
} from "./hyperbee_tree.ts";

/** One key/value entry as read from a Hyperbee. */
export interface BeeEntry {
  /** Block seq that wrote this entry. */
  seq: number;
  /** Key bytes. */
  key: Uint8Array;
  /** Value bytes (null only for a put written without a value). */
  value: Uint8Array | null;
}

/** One block of a Hyperbee's history. */
export interface HistoryEntry extends BeeEntry {
  /** Whether the block wrote or deleted its key. */
  type: "put" | "del";
}

/** Bounds and direction of a range walk. Keys compare bytewise. */
export interface RangeOptions {
  /** Only keys greater than this. */
  gt?: Uint8Array;
  /** Only keys greater than or equal to this (ignored if `gt` is set). */
  gte?: Uint8Array;
  /** Only keys less than this. */
  lt?: Uint8Array;
  /** Only keys less than or equal to this (ignored if `lt` is set). */
  lte?: Uint8Array;
  /** Largest key first. */
  reverse?: boolean;
  /** At most this many entries (no limit when absent). */
  limit?: number;
}

/**
 * Bounds of a history walk, in block seqs of this version (a negative number
 * counts back from the version, as hyperbee does). Defaults: all blocks from 1.
 */
export interface HistoryOptions {
  /** Only seqs greater than this. */
  gt?: number;
  /** Only seqs greater than or equal to this. */
  gte?: number;
  /** Only seqs less than this. */
  lt?: number;
  /** Only seqs less than or equal to this. */
  lte?: number;
  /** Newest first. */
  reverse?: boolean;
  /** At most this many entries. */
  limit?: number;
}

/** What a walk needs: blocks, and the root of the version walked. */
export interface TreeReader extends BlockSource {
  /** The version (length) read. */
  readonly version: number;
  /** The root node, or null for an empty tree. */
  getRoot(): Promise<TreeNode | null>;
}

interface Frame {
  node: TreeNode;
  pos: number;
}

/** The entry a block holds. */
export function entryOf(block: BlockEntry): BeeEntry {
  return { seq: block.seq, key: block.key, value: block.value };
}

function checkLimit(limit: number | undefined): number {
  if (limit === undefined) return Infinity;
  if (!Number.isInteger(limit) || limit < 0) {
    throw new PigeonError("BAD_ARGUMENT", `Limit must be a non-negative integer, got ${limit}`);
  }
  return limit;
}

/** Entries of `reader` within `options`, in key order (or reversed). */
export async function* rangeEntries(
  reader: TreeReader,
  options: RangeOptions = {},
): AsyncGenerator<BeeEntry> {
  let remaining = checkLimit(options.limit);
  if (remaining === 0) return;
  const reverse = options.reverse === true;
  const low = options.gt ?? options.gte ?? null;
  const lowIncl = options.gt === undefined;
  const high = options.lt ?? options.lte ?? null;
  const highIncl = options.lt === undefined;

  const root = await reader.getRoot();
  if (root === null) return;
  const stack = await seek(root, reverse ? high : low, reverse ? highIncl : lowIncl, reverse);
  const end = reverse ? low : high;
  const endIncl = reverse ? lowIncl : highIncl;

  while (stack.length) {
    const top = stack[stack.length - 1]!;
    const last = top.node.keys.length * 2;
    if (top.pos < 0 || top.pos > last) {
      stack.pop();
      continue;
    }
    const pos = top.pos;
    top.pos += reverse ? -1 : 1;
    if ((pos & 1) === 0) {
      if (!top.node.children.length) continue;
      checkDepth(stack.length);
      const child = await top.node.getChildNode(pos >> 1);
      stack.push({ node: child, pos: reverse ? child.keys.length * 2 : 0 });
      continue;
    }
    const block = await reader.getBlock(top.node.keys[pos >> 1]!.seq);
    if (end !== null) {
      const c = compareBytes(block.key, end);
      if (c === 0 ? !endIncl : reverse ? c < 0 : c > 0) return;
    }
    yield entryOf(block);
    if (--remaining === 0) return;
  }
}

/** The frames positioned just before the first key at or past `start`. */
async function seek(
  root: TreeNode,
  start: Uint8Array | null,
  incl: boolean,
  reverse: boolean,
): Promise<Frame[]> {
  const stack: Frame[] = [];
  if (start === null) {
    stack.push({ node: root, pos: reverse ? root.keys.length * 2 : 0 });
    return stack;
  }
  for (let node = root;;) {
    checkDepth(stack.length);
    const at = await node.search(start);
    if (at.found) {
      const keyPos = at.index * 2 + 1;
      stack.push({ node, pos: incl ? keyPos : keyPos + (reverse ? -1 : 1) });
      return stack;
    }
    // Next key after start is key `index`; before it is key `index - 1`.
    const pos = at.index * 2 + (reverse ? -1 : 1);
    if (pos >= 0 && pos <= node.keys.length * 2) stack.push({ node, pos });
    if (!node.children.length) return stack;
    node = await node.getChildNode(at.index);
  }
}

function relative(n: number, version: number): number {
  return n < 0 ? n + version : n;
}

/** Blocks of `reader`'s version within `options`, as put/del entries. */
export async function* historyEntries(
  reader: TreeReader,
  options: HistoryOptions = {},
): AsyncGenerator<HistoryEntry> {
  let remaining = checkLimit(options.limit);
  const version = reader.version;
  let gte = options.gt !== undefined
    ? relative(options.gt, version) + 1
    : relative(options.gte || 1, version);
  let lt = options.lte !== undefined
    ? relative(options.lte, version) + 1
    : options.lt !== undefined
    ? relative(options.lt, version)
    : version;
  gte = Math.max(1, gte);
  lt = Math.min(version, lt);
  while (remaining > 0 && gte < lt) {
    remaining--;
    const seq = options.reverse ? --lt : gte++;
    const block = await reader.getBlock(seq);
    yield { type: block.isDeletion() ? "del" : "put", ...entryOf(block) };
  }
}
