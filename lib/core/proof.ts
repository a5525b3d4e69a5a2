/**
 * Merkle proofs: what a responder sends for a block, hash or upgrade request
 * (SPEC f.4), and how a requester checks it against a signed tree (f.5).
 *
 * Generation walks the responder's stored tree; verification rebuilds the
 * tree roots from the requester's trusted roots plus the listed nodes, checks
 * the signature over them, and hands back every node that is now trusted.
 * Nothing here touches storage: callers pass a {@link NodeSource}.
 *
 * @module
 */

import { PigeonError } from "../errors.ts";
import * as ft from "../tree/flat_tree.ts";
import { leafNode, parentNode, treeHash } from "../tree/merkle.ts";
import type { TreeNode } from "../tree/node.ts";
import type { Manifest } from "./manifest.ts";

/** Most nodes one proof section may list (a path is at most 53 levels; two walks). */
export const MAX_PROOF_NODES = 256;

/** What a requester asks for (the body of a `request` message). */
export interface ProofRequest {
  /** Fork the requester is on. */
  fork: number;
  /** A block and how many of its ancestors the requester lacks. */
  block: { index: number; nodes: number } | null;
  /** A tree node and how many of its ancestors the requester lacks. */
  hash: { index: number; nodes: number } | null;
  /** Byte seeks are not served by pigeon (answered as unavailable). */
  seek: { bytes: number; padding: number } | null;
  /** Grow the requester's tree from `start` by `length` blocks. */
  upgrade: { start: number; length: number } | null;
  /** Whether the manifest is wanted too. */
  manifest: boolean;
}

/** What a responder sends (the body of a `data` message). */
export interface Proof {
  /** Responder's fork. */
  fork: number;
  /** Block value and the siblings on its path. */
  block: { index: number; value: Uint8Array; nodes: TreeNode[] } | null;
  /** A node (listed first) and the siblings on its path. */
  hash: { index: number; nodes: TreeNode[] } | null;
  /** Seek proofs (never produced by pigeon; rejected when received). */
  seek: { bytes: number; nodes: TreeNode[] } | null;
  /** Nodes growing the requester's tree, and the responder's current signature. */
  upgrade: {
    start: number;
    length: number;
    nodes: TreeNode[];
    additionalNodes: TreeNode[];
    signature: Uint8Array | null;
  } | null;
  /** The manifest, when asked for. */
  manifest: Manifest | null;
}

/** Read access to trusted tree nodes. */
export interface NodeSource {
  /** The stored node at `index`, or null. */
  get(index: number): TreeNode | null;
}

/** The state a responder answers from. */
export interface ResponderView extends NodeSource {
  /** Signed length. */
  length: number;
  /** Fork id. */
  fork: number;
  /** Signature container at `length`. */
  signature: Uint8Array | null;
  /** Block value, or null when not held. */
  block(index: number): Uint8Array | null;
}

function invalid(message: string): PigeonError {
  return new PigeonError("INVALID_PROOF", message);
}

function badRequest(message: string): PigeonError {
  return new PigeonError("BAD_ARGUMENT", message);
}

function unavailable(message: string): PigeonError {
  return new PigeonError("NOT_AVAILABLE", message);
}

function requireNode(source: NodeSource, index: number): TreeNode {
  const node = source.get(index);
  if (!node) throw unavailable(`Tree node ${index} is not stored`);
  return node;
}

/** Siblings from `target` up to, excluding, `top` (optionally the target first). */
function pathProof(
  source: NodeSource,
  target: number,
  top: number,
  includeTarget: boolean,
): TreeNode[] {
  const nodes = includeTarget ? [requireNode(source, target)] : [];
  for (let x = target; x !== top; x = ft.parent(x)) nodes.push(requireNode(source, ft.sibling(x)));
  return nodes;
}

/**
 * Answers `request` from `view` (SPEC f.4).
 *
 * Throws `BAD_ARGUMENT` for a request that can never be answered (answer
 * with noData reason 2) and `NOT_AVAILABLE` when data is missing (reason 1).
 */
export function generateProof(view: ResponderView, request: ProofRequest): Proof {
  if (request.fork !== view.fork) throw unavailable(`Fork ${request.fork} is not ours`);
  if (request.seek) throw unavailable("Seek requests are not served");
  if (request.block && request.hash) throw badRequest("Block and hash in one request");
  const head = 2 * view.length;
  let from = 0;
  let to = head;
  if (request.upgrade) {
    const { start, length } = request.upgrade;
    from = 2 * start;
    to = from + 2 * length;
    if (length < 1 || to > head) throw badRequest(`Upgrade ${start}+${length} is out of range`);
  }
  const isHash = request.hash !== null;
  const target = request.block ? 2 * request.block.index : request.hash ? request.hash.index : -1;
  const climb = request.block?.nodes ?? request.hash?.nodes ?? 0;
  if (target >= 0 && ft.rightSpan(target) >= to) {
    throw unavailable(`Node ${target} is beyond length ${to / 2}`);
  }
  let value: Uint8Array | null = null;
  if (request.block) {
    value = view.block(request.block.index);
    if (!value) throw unavailable(`Block ${request.block.index} is not held`);
  }

  let targetNodes: TreeNode[] | null = null;
  if (target >= 0 && (!request.upgrade || target < from)) {
    let top = target;
    for (let i = 0; i < climb; i++) {
      top = ft.parent(top);
      if (ft.rightSpan(top) >= to) {
        throw badRequest(`Climbing ${climb} from ${target} passes the tree`);
      }
    }
    targetNodes = pathProof(view, target, top, isHash);
  }

  const include = (out: TreeNode[], index: number, withTarget: boolean) => {
    if (withTarget && targetNodes === null && target >= 0 && ft.contains(index, target)) {
      targetNodes = pathProof(view, target, index, isHash);
    } else {
      out.push(requireNode(view, index));
    }
  };

  let upgrade: Proof["upgrade"] = null;
  if (request.upgrade) {
    const nodes = upgradeWalk(from, to, (out, index) => include(out, index, true));
    const additionalNodes = head > to
      ? upgradeWalk(to, head, (out, index) => include(out, index, false))
      : [];
    upgrade = { ...request.upgrade, nodes, additionalNodes, signature: view.signature };
  }

  const finalNodes: TreeNode[] = targetNodes ?? [];
  return {
    fork: view.fork,
    block: request.block && value ? { index: request.block.index, value, nodes: finalNodes } : null,
    hash: request.hash ? { index: request.hash.index, nodes: finalNodes } : null,
    seek: null,
    upgrade,
    manifest: null,
  };
}

/** The nodes a tree at head `from` needs to grow to head `to`, left to right. */
function upgradeWalk(
  from: number,
  to: number,
  include: (out: TreeNode[], index: number) => void,
): TreeNode[] {
  const out: TreeNode[] = [];
  for (const root of ft.fullRoots(to)) {
    if (ft.rightSpan(root) <= from - 2) continue;
    if (from > 0 && ft.contains(root, from - 2)) {
      for (let x = from - 2; x !== root; x = ft.parent(x)) {
        const s = ft.sibling(x);
        if (s > x) include(out, s);
      }
    } else {
      include(out, root);
    }
  }
  return out;
}

/** The state a requester verifies against. */
export interface RequesterView extends NodeSource {
  /** Fork id. */
  fork: number;
  /** Checks a signature container over a tree. */
  verifySignature(
    signature: Uint8Array,
    treeHash: Uint8Array,
    length: number,
    fork: number,
  ): boolean;
}

/** What a verified proof established. */
export interface VerifiedProof {
  /** Every node the proof made trusted (to be stored). */
  nodes: TreeNode[];
  /** The verified block, if any. */
  block: { index: number; value: Uint8Array } | null;
  /** The newly signed tree, if the proof carried an upgrade. */
  upgrade: {
    length: number;
    byteLength: number;
    roots: TreeNode[];
    treeHash: Uint8Array;
    signature: Uint8Array;
  } | null;
}

/**
 * Verifies `proof` against the requester's trusted nodes (SPEC f.5).
 * Throws `INVALID_PROOF` or `INVALID_SIGNATURE`; returns only verified data.
 */
export function verifyProof(view: RequesterView, proof: Proof): VerifiedProof {
  if (proof.fork !== view.fork) throw invalid(`Proof is for fork ${proof.fork}, not ${view.fork}`);
  if (proof.seek) throw invalid("Seek proofs are not accepted");
  if (proof.block && proof.hash) throw invalid("Proof has both a block and a hash");
  const trusted: TreeNode[] = [];

  // 1. The block or hash path up to an untrusted subtree root.
  let subtreeRoot: TreeNode | null = null;
  const path = proof.block?.nodes ?? proof.hash?.nodes ?? [];
  if (path.length > MAX_PROOF_NODES) throw invalid("Too many nodes in block proof");
  if (proof.block || proof.hash) {
    let current: TreeNode;
    let rest: TreeNode[];
    if (proof.block) {
      current = leafNode(proof.block.index, proof.block.value);
      rest = path;
    } else {
      const first = path[0];
      if (!first || first.index !== proof.hash!.index) throw invalid("Hash proof lacks its node");
      current = first;
      rest = path.slice(1);
    }
    trusted.push(current);
    for (const node of rest) {
      if (node.index !== ft.sibling(current.index)) {
        throw invalid(`Node ${node.index} is not the sibling of ${current.index}`);
      }
      current = parentNode(current, node, ft.parent(current.index));
      trusted.push(node, current);
    }
    subtreeRoot = current;
  }

  // 2. The upgrade: grow the trusted roots, then check the signature.
  let upgrade: VerifiedProof["upgrade"] = null;
  let subtreeUsed = false;
  const upgradeNodes = new Map<number, TreeNode>();
  if (proof.upgrade) {
    const u = proof.upgrade;
    if (u.nodes.length + u.additionalNodes.length > MAX_PROOF_NODES) {
      throw invalid("Too many nodes in upgrade proof");
    }
    if (!u.signature) throw invalid("Upgrade without a signature");
    const from = 2 * u.start;
    const to = from + 2 * u.length;
    if (u.length < 1) throw invalid("Empty upgrade");
    const oldRoots = new Map<number, TreeNode>();
    for (const index of ft.fullRoots(from)) {
      const node = view.get(index);
      if (!node) throw invalid(`Upgrade starts at ${u.start}, where root ${index} is unknown`);
      oldRoots.set(index, node);
    }
    let next = 0;
    const take = (index: number): TreeNode => {
      if (subtreeRoot && !subtreeUsed && subtreeRoot.index === index) {
        subtreeUsed = true;
        return subtreeRoot;
      }
      const node = u.nodes[next++];
      if (!node || node.index !== index) throw invalid(`Upgrade proof lacks node ${index}`);
      trusted.push(node);
      return node;
    };
    const roots: TreeNode[] = [];
    const lastOld = ft.fullRoots(from).at(-1);
    for (const root of ft.fullRoots(to)) {
      if (ft.rightSpan(root) <= from - 2) {
        roots.push(oldRoots.get(root)!);
      } else if (from > 0 && lastOld !== undefined && ft.contains(root, from - 2)) {
        let current = oldRoots.get(lastOld)!;
        while (current.index !== root) {
          const s = ft.sibling(current.index);
          const sib = s > current.index ? take(s) : oldRoots.get(s);
          if (!sib) throw invalid(`Upgrade needs old root ${s}`);
          current = parentNode(current, sib, ft.parent(current.index));
          trusted.push(current);
        }
        roots.push(current);
      } else {
        roots.push(take(root));
      }
    }
    if (next !== u.nodes.length) throw invalid("Upgrade proof has unused nodes");
    const finalRoots = extendRoots(roots, u.additionalNodes, trusted);
    let length = 0;
    let byteLength = 0;
    for (const root of finalRoots) {
      length += ft.countLeaves(root.index);
      byteLength += root.size;
    }
    const expected = ft.fullRoots(2 * length);
    if (
      expected.length !== finalRoots.length || expected.some((i, k) => finalRoots[k]!.index !== i)
    ) {
      throw invalid("Upgrade roots do not form a tree");
    }
    const hash = treeHash(finalRoots);
    if (!view.verifySignature(u.signature, hash, length, proof.fork)) {
      throw new PigeonError(
        "INVALID_SIGNATURE",
        `Signature does not match the tree at length ${length}`,
      );
    }
    for (const node of trusted) upgradeNodes.set(node.index, node);
    for (const node of finalRoots) upgradeNodes.set(node.index, node);
    upgrade = { length, byteLength, roots: finalRoots, treeHash: hash, signature: u.signature };
  }

  // 3. Without the upgrade vouching for it, the subtree root must match a trusted node.
  if (subtreeRoot && !subtreeUsed) {
    const known = upgradeNodes.get(subtreeRoot.index) ?? view.get(subtreeRoot.index);
    if (
      !known || known.size !== subtreeRoot.size ||
      !known.hash.every((b, i) => b === subtreeRoot!.hash[i])
    ) {
      throw invalid(`Proof does not connect to a trusted node at ${subtreeRoot.index}`);
    }
  }

  const block = proof.block ? { index: proof.block.index, value: proof.block.value } : null;
  return { nodes: dedupe(trusted), block, upgrade };
}

/** Applies `additionalNodes` to `roots`: right siblings merge, others become new roots. */
function extendRoots(roots: TreeNode[], additional: TreeNode[], trusted: TreeNode[]): TreeNode[] {
  const out = [...roots];
  for (const node of additional) {
    const last = out.at(-1);
    if (last && node.index > last.index && ft.sibling(last.index) === node.index) {
      out.pop();
      let current = parentNode(last, node, ft.parent(last.index));
      trusted.push(node, current);
      while (out.length > 0 && ft.sibling(current.index) === out.at(-1)!.index) {
        current = parentNode(out.pop()!, current, ft.parent(current.index));
        trusted.push(current);
      }
      out.push(current);
    } else {
      const expectedStart = last ? ft.rightSpan(last.index) + 2 : 0;
      if (ft.leftSpan(node.index) !== expectedStart) {
        throw invalid(`Additional node ${node.index} does not continue the tree`);
      }
      trusted.push(node);
      out.push(node);
    }
  }
  return out;
}

function dedupe(nodes: TreeNode[]): TreeNode[] {
  const byIndex = new Map<number, TreeNode>();
  for (const node of nodes) byIndex.set(node.index, node);
  return [...byIndex.values()];
}

/**
 * How many ancestors of block `index`, counting its leaf, the requester lacks
 * (the `nodes` field of a block request; SPEC f.5.4).
 */
export function missingNodes(source: NodeSource, index: number, length: number): number {
  if (index >= length) return 0;
  // Walk up with the flat-tree arithmetic inlined (a request per block pays it): a node
  // of depth d at position o is (2o + 1)·2^d − 1; its parent is ± 2^d away (+ when o is
  // even) and spans up to parent + 2^(d+1) − 1.
  let count = 0;
  let x = 2 * index;
  let position = index;
  let step = 1;
  while (!source.get(x)) {
    count++;
    const parent = position % 2 === 0 ? x + step : x - step;
    if (parent + 2 * step - 1 >= 2 * length) break;
    x = parent;
    position = Math.floor(position / 2);
    step *= 2;
  }
  return count;
}
