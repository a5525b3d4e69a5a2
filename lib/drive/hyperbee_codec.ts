/**
 * Hyperbee block codecs (SPEC g.1): the header in block 0 and a node in every
 * later block, with the node's YoloIndex. Protobuf (proto2) wire format.
 *
 * | message   | field | tag  | type                  | notes                              |
 * |-----------|-------|------|-----------------------|------------------------------------|
 * | Header    | 1     | 0x0a | string protocol       | required, "hyperbee"               |
 * |           | 2     | 0x12 | Metadata metadata     | optional embedded message          |
 * | Metadata  | 1     | 0x0a | bytes contentFeed     | optional                           |
 * |           | 2     | 0x12 | bytes userData        | optional                           |
 * | Node      | 1     | 0x0a | bytes index           | required, an encoded YoloIndex     |
 * |           | 2     | 0x12 | bytes key             | required                           |
 * |           | 3     | 0x1a | bytes value           | absent for a deletion              |
 * | YoloIndex | 1     | 0x0a | Level levels          | repeated embedded message          |
 * | Level     | 1     | 0x0a | packed varint keys    | block seqs; omitted when empty     |
 * |           | 2     | 0x12 | packed varint children| (seq, offset) pairs; omitted empty |
 *
 * Hyperdrive 13 writes the header `0a 08 "hyperbee" 12 00` (metadata present,
 * both fields absent). Unknown fields are skipped on decode.
 *
 * @module
 */

import { PigeonError } from "../errors.ts";
import { Reader, WIRE_BYTES, Writer } from "../encoding/protobuf.ts";

/** The `protocol` string of every Hyperbee header. */
export const HYPERBEE_PROTOCOL = "hyperbee";

/** Optional metadata of a Hyperbee header. */
export interface HeaderMetadata {
  /** Key of the content core (legacy drives); null when absent. */
  contentFeed: Uint8Array | null;
  /** Application bytes; null when absent. */
  userData: Uint8Array | null;
}

/** Block 0 of a Hyperbee. */
export interface Header {
  /** "hyperbee" for a Hyperbee. */
  protocol: string;
  /** Null when the field is absent (not the same as present-but-empty). */
  metadata: HeaderMetadata | null;
}

/** One B-tree node of a YoloIndex. */
export interface Level {
  /** Block seqs holding this node's keys, in key order. */
  keys: number[];
  /** Flattened `(seq, offset)` pairs, one pair per child; empty for a leaf. */
  children: number[];
}

/** The B-tree nodes stored in one block; level 0 is the root of that version. */
export interface YoloIndex {
  /** The nodes, by offset. */
  levels: Level[];
}

/** Block i ≥ 1 of a Hyperbee. */
export interface BeeNode {
  /** The encoded {@link YoloIndex}. */
  index: Uint8Array;
  /** The key this block writes or deletes. */
  key: Uint8Array;
  /** The value; null for a deletion. */
  value: Uint8Array | null;
}

function missing(what: string): PigeonError {
  return new PigeonError("DECODE_ERROR", `Hyperbee ${what} is missing`);
}

/**
 * Encodes a header.
 *
 * @example Hyperdrive's header
 * ```ts
 * import { encodeHeader } from "./hyperbee_codec.ts";
 * const b = encodeHeader({ protocol: "hyperbee", metadata: { contentFeed: null, userData: null } });
 * if (b.length !== 12 || b[10] !== 0x12 || b[11] !== 0) throw new Error("unexpected");
 * ```
 */
export function encodeHeader(header: Header): Uint8Array {
  const w = new Writer().string(1, header.protocol);
  if (header.metadata !== null) {
    const m = new Writer();
    if (header.metadata.contentFeed !== null) m.bytes(1, header.metadata.contentFeed);
    if (header.metadata.userData !== null) m.bytes(2, header.metadata.userData);
    w.bytes(2, m.finish());
  }
  return w.finish();
}

/** Decodes a header; throws `DECODE_ERROR` if it is malformed or has no protocol. */
export function decodeHeader(bytes: Uint8Array): Header {
  const r = new Reader(bytes);
  let protocol: string | null = null;
  let metadata: HeaderMetadata | null = null;
  for (let tag = r.next(); tag !== null; tag = r.next()) {
    if (tag.field === 1) {
      r.expect(tag, WIRE_BYTES);
      protocol = r.string();
    } else if (tag.field === 2) {
      r.expect(tag, WIRE_BYTES);
      metadata = decodeMetadata(r.bytes());
    } else {
      r.skip(tag.wireType);
    }
  }
  if (protocol === null) throw missing("header protocol");
  return { protocol, metadata };
}

function decodeMetadata(bytes: Uint8Array): HeaderMetadata {
  const r = new Reader(bytes);
  const out: HeaderMetadata = { contentFeed: null, userData: null };
  for (let tag = r.next(); tag !== null; tag = r.next()) {
    if (tag.field === 1) {
      r.expect(tag, WIRE_BYTES);
      out.contentFeed = r.bytes().slice();
    } else if (tag.field === 2) {
      r.expect(tag, WIRE_BYTES);
      out.userData = r.bytes().slice();
    } else {
      r.skip(tag.wireType);
    }
  }
  return out;
}

/** Encodes a node block. */
export function encodeNode(node: BeeNode): Uint8Array {
  const w = new Writer().bytes(1, node.index).bytes(2, node.key);
  if (node.value !== null) w.bytes(3, node.value);
  return w.finish();
}

/**
 * Decodes a node block; `index`, `key` and `value` are views into `bytes`.
 * Throws `DECODE_ERROR` if it is malformed or lacks index or key.
 */
export function decodeNode(bytes: Uint8Array): BeeNode {
  const r = new Reader(bytes);
  let index: Uint8Array | null = null;
  let key: Uint8Array | null = null;
  let value: Uint8Array | null = null;
  for (let tag = r.next(); tag !== null; tag = r.next()) {
    if (tag.field >= 1 && tag.field <= 3) r.expect(tag, WIRE_BYTES);
    if (tag.field === 1) index = r.bytes();
    else if (tag.field === 2) key = r.bytes();
    else if (tag.field === 3) value = r.bytes();
    else r.skip(tag.wireType);
  }
  if (index === null) throw missing("node index");
  if (key === null) throw missing("node key");
  return { index, key, value };
}

/** Encodes a YoloIndex; empty key or child lists are omitted as proto2 does. */
export function encodeYoloIndex(index: YoloIndex): Uint8Array {
  const w = new Writer();
  for (const level of index.levels) {
    const l = new Writer().packedVarints(1, level.keys).packedVarints(2, level.children);
    w.bytes(1, l.finish());
  }
  return w.finish();
}

/**
 * Decodes a YoloIndex. Throws `DECODE_ERROR` if it is malformed or a level
 * has an odd number of child entries.
 */
export function decodeYoloIndex(bytes: Uint8Array): YoloIndex {
  const r = new Reader(bytes);
  const levels: Level[] = [];
  for (let tag = r.next(); tag !== null; tag = r.next()) {
    if (tag.field === 1) {
      r.expect(tag, WIRE_BYTES);
      levels.push(decodeLevel(r.bytes()));
    } else {
      r.skip(tag.wireType);
    }
  }
  return { levels };
}

function decodeLevel(bytes: Uint8Array): Level {
  const r = new Reader(bytes);
  const level: Level = { keys: [], children: [] };
  for (let tag = r.next(); tag !== null; tag = r.next()) {
    if (tag.field === 1) r.repeatedVarint(tag.wireType, level.keys);
    else if (tag.field === 2) r.repeatedVarint(tag.wireType, level.children);
    else r.skip(tag.wireType);
  }
  if (level.children.length % 2 !== 0) {
    throw new PigeonError("DECODE_ERROR", "YoloIndex level has an odd number of child entries");
  }
  return level;
}
