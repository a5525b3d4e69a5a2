/**
 * Codecs of the `hypercore/alpha` protomux channel: its open handshake and
 * its ten messages (SPEC f.1, f.2). All integers are compact `uint`s.
 *
 * | idx | message   | layout                                                                 |
 * |-----|-----------|------------------------------------------------------------------------|
 * | —   | handshake | flags (1 seeks) · fixed32 capability                                   |
 * | 0   | sync      | flags (1 canUpgrade, 2 uploading, 4 downloading, 8 hasManifest, 16 allowPush) · fork · length · remoteLength |
 * | 1   | request   | flags (1 block, 2 hash, 4 seek, 8 upgrade, 16 manifest, 32 priority) · id · fork · [block index·nodes] · [hash index·nodes] · [seek bytes·padding] · [upgrade start·length] · [priority] |
 * | 2   | cancel    | request                                                                |
 * | 3   | data      | flags (1 block, 2 hash, 4 seek, 8 upgrade, 16 manifest) · request · fork · [block index·buffer value·node[]] · [hash index·node[]] · [seek bytes·node[]] · [upgrade start·length·node[]·node[] additional·optionalBuffer signature] · [manifest] |
 * | 4   | noData    | request · [flags (1 reason)] · [reason]                                |
 * | 5   | want      | start · length · [flags (1 any)] (omitted when 0)                      |
 * | 6   | unwant    | same as want                                                           |
 * | 7   | bitfield  | start · uint32array bitfield                                           |
 * | 8   | range     | flags (1 drop, 2 length is 1) · start · [length] (omitted when 1)      |
 * | 9   | extension | string name · raw message                                              |
 *
 * `node[]` is `uint count · (uint index · uint size · fixed32 hash)*`
 * (`lib/tree/node.ts`); the manifest is `lib/core/manifest.ts`. Decoders
 * return one fixed shape with `null` for absent parts, and (as the reference)
 * ignore bytes after the last field, so newer peers can append fields.
 *
 * @module
 */

import {
  array,
  buffer,
  type Codec,
  decodeError,
  fixed32,
  optionalBuffer,
  raw,
  type State,
  string,
  uint,
  uint32array,
} from "../encoding/compact.ts";
import type { Proof, ProofRequest } from "../core/proof.ts";
import { manifestEncoding } from "../core/manifest.ts";
import { type TreeNode, treeNode } from "../tree/node.ts";

/** The protocol name hypercore channels are opened with. */
export const HYPERCORE_PROTOCOL = "hypercore/alpha";

/** Channel message indexes (SPEC f.2). */
export const MessageType = {
  sync: 0,
  request: 1,
  cancel: 2,
  data: 3,
  noData: 4,
  want: 5,
  unwant: 6,
  bitfield: 7,
  range: 8,
  extension: 9,
} as const;

/** Handshake flag: the sender answers seek requests (the reference always sets it). */
export const HANDSHAKE_SEEKS = 0b1;

/** Sync flags. */
export const SYNC_CAN_UPGRADE = 0b00001;
/** @see SYNC_CAN_UPGRADE */
export const SYNC_UPLOADING = 0b00010;
/** @see SYNC_CAN_UPGRADE */
export const SYNC_DOWNLOADING = 0b00100;
/** @see SYNC_CAN_UPGRADE */
export const SYNC_HAS_MANIFEST = 0b01000;
/** @see SYNC_CAN_UPGRADE */
export const SYNC_ALLOW_PUSH = 0b10000;

/** Request and data flags (data has no priority). */
export const PART_BLOCK = 0b000001;
/** @see PART_BLOCK */
export const PART_HASH = 0b000010;
/** @see PART_BLOCK */
export const PART_SEEK = 0b000100;
/** @see PART_BLOCK */
export const PART_UPGRADE = 0b001000;
/** @see PART_BLOCK */
export const PART_MANIFEST = 0b010000;
/** @see PART_BLOCK */
export const REQUEST_PRIORITY = 0b100000;

/** noData flag: a reason follows. */
export const NO_DATA_HAS_REASON = 0b1;
/** noData reasons. */
export const NoDataReason = { unspecified: 0, notAvailable: 1, invalidRequest: 2 } as const;
/** want/unwant flag: any block in the window will do. */
export const WANT_ANY = 0b1;
/** range flags. */
export const RANGE_DROP = 0b01;
/** @see RANGE_DROP */
export const RANGE_LENGTH_ONE = 0b10;

/** The channel open payload. */
export interface Handshake {
  /** Whether the sender answers seeks. */
  seeks: boolean;
  /** 32-byte capability of the sender's secret-stream role (SPEC f.1). */
  capability: Uint8Array;
}

/** Message 0: the sender's state and what it saw of the receiver. */
export interface Sync {
  fork: number;
  length: number;
  remoteLength: number;
  canUpgrade: boolean;
  uploading: boolean;
  downloading: boolean;
  hasManifest: boolean;
  allowPush: boolean;
}

/** Message 1: a proof request (ids are chosen by the requester). */
export interface Request extends ProofRequest {
  /** Request id; the reply echoes it. */
  id: number;
  /** 0 for none; 1 for a user `get`. */
  priority: number;
}

/** Message 2: withdraws a request. */
export interface Cancel {
  request: number;
}

/** Message 3: a proof answering a request (0 = unsolicited). */
export interface Data extends Proof {
  /** The request id this answers. */
  request: number;
}

/** Message 4: the request cannot be answered. */
export interface NoData {
  request: number;
  /** One of {@link NoDataReason}. */
  reason: number;
}

/** Messages 5 and 6: (un)declares interest in a window of blocks. */
export interface Want {
  start: number;
  length: number;
  any: boolean;
}

/** Message 7: which blocks of a window the sender has. */
export interface Bitfield {
  /** First block; a multiple of 32. */
  start: number;
  /** Bit j of word w is block start + 32w + j. */
  bitfield: Uint32Array;
}

/** Message 8: the sender has (or dropped) a range of blocks. */
export interface Range {
  drop: boolean;
  start: number;
  length: number;
}

/** Message 9: an extension message. */
export interface Extension {
  /** Extension name; empty means the same as the previous one in this direction. */
  name: string;
  /** The extension's own encoding of its payload. */
  message: Uint8Array;
}

/** `state.start < state.end`: optional trailing fields are present. */
function more(s: State): boolean {
  return s.start < s.end;
}

const nodes: Codec<TreeNode[]> = array(treeNode);

/** Codec of {@link Handshake}. */
export const handshake: Codec<Handshake> = {
  preencode(s, m) {
    uint.preencode(s, m.seeks ? HANDSHAKE_SEEKS : 0);
    fixed32.preencode(s, m.capability);
  },
  encode(s, m) {
    uint.encode(s, m.seeks ? HANDSHAKE_SEEKS : 0);
    fixed32.encode(s, m.capability);
  },
  decode(s) {
    const flags = uint.decode(s);
    return { seeks: (flags & HANDSHAKE_SEEKS) !== 0, capability: fixed32.decode(s) };
  },
};

function syncFlags(m: Sync): number {
  return (m.canUpgrade ? SYNC_CAN_UPGRADE : 0) | (m.uploading ? SYNC_UPLOADING : 0) |
    (m.downloading ? SYNC_DOWNLOADING : 0) | (m.hasManifest ? SYNC_HAS_MANIFEST : 0) |
    (m.allowPush ? SYNC_ALLOW_PUSH : 0);
}

/** Codec of {@link Sync}. */
export const sync: Codec<Sync> = {
  preencode(s, m) {
    uint.preencode(s, syncFlags(m));
    uint.preencode(s, m.fork);
    uint.preencode(s, m.length);
    uint.preencode(s, m.remoteLength);
  },
  encode(s, m) {
    uint.encode(s, syncFlags(m));
    uint.encode(s, m.fork);
    uint.encode(s, m.length);
    uint.encode(s, m.remoteLength);
  },
  decode(s) {
    const flags = uint.decode(s);
    return {
      fork: uint.decode(s),
      length: uint.decode(s),
      remoteLength: uint.decode(s),
      canUpgrade: (flags & SYNC_CAN_UPGRADE) !== 0,
      uploading: (flags & SYNC_UPLOADING) !== 0,
      downloading: (flags & SYNC_DOWNLOADING) !== 0,
      hasManifest: (flags & SYNC_HAS_MANIFEST) !== 0,
      allowPush: (flags & SYNC_ALLOW_PUSH) !== 0,
    };
  },
};

/** A pair of uints, as the request parts are. */
function uintPair<K1 extends string, K2 extends string>(
  a: K1,
  b: K2,
): Codec<Record<K1 | K2, number>> {
  return {
    preencode(s, m) {
      uint.preencode(s, m[a]);
      uint.preencode(s, m[b]);
    },
    encode(s, m) {
      uint.encode(s, m[a]);
      uint.encode(s, m[b]);
    },
    decode(s) {
      const first = uint.decode(s);
      const second = uint.decode(s);
      return { [a]: first, [b]: second } as Record<K1 | K2, number>;
    },
  };
}

const indexNodes = uintPair("index", "nodes");
const bytesPadding = uintPair("bytes", "padding");
const startLength = uintPair("start", "length");

function requestFlags(m: Request): number {
  return (m.block ? PART_BLOCK : 0) | (m.hash ? PART_HASH : 0) | (m.seek ? PART_SEEK : 0) |
    (m.upgrade ? PART_UPGRADE : 0) | (m.manifest ? PART_MANIFEST : 0) |
    (m.priority ? REQUEST_PRIORITY : 0);
}

/** Codec of {@link Request}. */
export const request: Codec<Request> = {
  preencode(s, m) {
    uint.preencode(s, requestFlags(m));
    uint.preencode(s, m.id);
    uint.preencode(s, m.fork);
    if (m.block) indexNodes.preencode(s, m.block);
    if (m.hash) indexNodes.preencode(s, m.hash);
    if (m.seek) bytesPadding.preencode(s, m.seek);
    if (m.upgrade) startLength.preencode(s, m.upgrade);
    if (m.priority) uint.preencode(s, m.priority);
  },
  encode(s, m) {
    uint.encode(s, requestFlags(m));
    uint.encode(s, m.id);
    uint.encode(s, m.fork);
    if (m.block) indexNodes.encode(s, m.block);
    if (m.hash) indexNodes.encode(s, m.hash);
    if (m.seek) bytesPadding.encode(s, m.seek);
    if (m.upgrade) startLength.encode(s, m.upgrade);
    if (m.priority) uint.encode(s, m.priority);
  },
  decode(s) {
    const flags = uint.decode(s);
    return {
      id: uint.decode(s),
      fork: uint.decode(s),
      block: flags & PART_BLOCK ? indexNodes.decode(s) : null,
      hash: flags & PART_HASH ? indexNodes.decode(s) : null,
      seek: flags & PART_SEEK ? bytesPadding.decode(s) : null,
      upgrade: flags & PART_UPGRADE ? startLength.decode(s) : null,
      manifest: (flags & PART_MANIFEST) !== 0,
      priority: flags & REQUEST_PRIORITY ? uint.decode(s) : 0,
    };
  },
};

/** Codec of {@link Cancel}. */
export const cancel: Codec<Cancel> = {
  preencode(s, m) {
    uint.preencode(s, m.request);
  },
  encode(s, m) {
    uint.encode(s, m.request);
  },
  decode(s) {
    return { request: uint.decode(s) };
  },
};

type DataBlock = NonNullable<Data["block"]>;
type DataHash = NonNullable<Data["hash"]>;
type DataSeek = NonNullable<Data["seek"]>;
type DataUpgrade = NonNullable<Data["upgrade"]>;

/**
 * A block value: `buffer` on the wire, but decoded as a view into the message
 * instead of a copy. Blocks are the bulk of every byte received, and each
 * message handed up by the secret-stream is a fresh buffer that nothing else
 * keeps, so the view is as safe as a copy (measured: ~10 µs less per 64 KiB
 * block with bench/send_recv_vs_hypercore.ts).
 */
const blockValue: Codec<Uint8Array> = {
  preencode: buffer.preencode,
  encode: buffer.encode,
  decode(s) {
    const length = uint.decode(s);
    if (s.end - s.start < length) {
      throw decodeError(
        `Unexpected end of message: need ${length} bytes, have ${s.end - s.start}`,
      );
    }
    const value = s.buffer.subarray(s.start, s.start + length);
    s.start += length;
    return value;
  },
};

const dataBlock: Codec<DataBlock> = {
  preencode(s, b) {
    uint.preencode(s, b.index);
    blockValue.preencode(s, b.value);
    nodes.preencode(s, b.nodes);
  },
  encode(s, b) {
    uint.encode(s, b.index);
    blockValue.encode(s, b.value);
    nodes.encode(s, b.nodes);
  },
  decode(s) {
    const index = uint.decode(s);
    const value = blockValue.decode(s);
    return { index, value, nodes: nodes.decode(s) };
  },
};

const dataHash: Codec<DataHash> = {
  preencode(s, h) {
    uint.preencode(s, h.index);
    nodes.preencode(s, h.nodes);
  },
  encode(s, h) {
    uint.encode(s, h.index);
    nodes.encode(s, h.nodes);
  },
  decode(s) {
    const index = uint.decode(s);
    return { index, nodes: nodes.decode(s) };
  },
};

const dataSeek: Codec<DataSeek> = {
  preencode(s, k) {
    uint.preencode(s, k.bytes);
    nodes.preencode(s, k.nodes);
  },
  encode(s, k) {
    uint.encode(s, k.bytes);
    nodes.encode(s, k.nodes);
  },
  decode(s) {
    const bytes = uint.decode(s);
    return { bytes, nodes: nodes.decode(s) };
  },
};

const dataUpgrade: Codec<DataUpgrade> = {
  preencode(s, u) {
    uint.preencode(s, u.start);
    uint.preencode(s, u.length);
    nodes.preencode(s, u.nodes);
    nodes.preencode(s, u.additionalNodes);
    optionalBuffer.preencode(s, u.signature);
  },
  encode(s, u) {
    uint.encode(s, u.start);
    uint.encode(s, u.length);
    nodes.encode(s, u.nodes);
    nodes.encode(s, u.additionalNodes);
    optionalBuffer.encode(s, u.signature);
  },
  decode(s) {
    const start = uint.decode(s);
    const length = uint.decode(s);
    const upgradeNodes = nodes.decode(s);
    const additionalNodes = nodes.decode(s);
    return {
      start,
      length,
      nodes: upgradeNodes,
      additionalNodes,
      signature: optionalBuffer.decode(s),
    };
  },
};

function dataFlags(m: Data): number {
  return (m.block ? PART_BLOCK : 0) | (m.hash ? PART_HASH : 0) | (m.seek ? PART_SEEK : 0) |
    (m.upgrade ? PART_UPGRADE : 0) | (m.manifest ? PART_MANIFEST : 0);
}

/** Codec of {@link Data}. */
export const data: Codec<Data> = {
  preencode(s, m) {
    uint.preencode(s, dataFlags(m));
    uint.preencode(s, m.request);
    uint.preencode(s, m.fork);
    if (m.block) dataBlock.preencode(s, m.block);
    if (m.hash) dataHash.preencode(s, m.hash);
    if (m.seek) dataSeek.preencode(s, m.seek);
    if (m.upgrade) dataUpgrade.preencode(s, m.upgrade);
    if (m.manifest) manifestEncoding.preencode(s, m.manifest);
  },
  encode(s, m) {
    uint.encode(s, dataFlags(m));
    uint.encode(s, m.request);
    uint.encode(s, m.fork);
    if (m.block) dataBlock.encode(s, m.block);
    if (m.hash) dataHash.encode(s, m.hash);
    if (m.seek) dataSeek.encode(s, m.seek);
    if (m.upgrade) dataUpgrade.encode(s, m.upgrade);
    if (m.manifest) manifestEncoding.encode(s, m.manifest);
  },
  decode(s) {
    const flags = uint.decode(s);
    return {
      request: uint.decode(s),
      fork: uint.decode(s),
      block: flags & PART_BLOCK ? dataBlock.decode(s) : null,
      hash: flags & PART_HASH ? dataHash.decode(s) : null,
      seek: flags & PART_SEEK ? dataSeek.decode(s) : null,
      upgrade: flags & PART_UPGRADE ? dataUpgrade.decode(s) : null,
      manifest: flags & PART_MANIFEST ? manifestEncoding.decode(s) : null,
    };
  },
};

/** Codec of {@link NoData}. */
export const noData: Codec<NoData> = {
  preencode(s, m) {
    uint.preencode(s, m.request);
    uint.preencode(s, m.reason ? NO_DATA_HAS_REASON : 0);
    if (m.reason) uint.preencode(s, m.reason);
  },
  encode(s, m) {
    uint.encode(s, m.request);
    uint.encode(s, m.reason ? NO_DATA_HAS_REASON : 0);
    if (m.reason) uint.encode(s, m.reason);
  },
  decode(s) {
    const req = uint.decode(s);
    const flags = more(s) ? uint.decode(s) : 0;
    return { request: req, reason: flags & NO_DATA_HAS_REASON ? uint.decode(s) : 0 };
  },
};

/** Codec of {@link Want} (also unwant). */
export const want: Codec<Want> = {
  preencode(s, m) {
    uint.preencode(s, m.start);
    uint.preencode(s, m.length);
    if (m.any) uint.preencode(s, WANT_ANY);
  },
  encode(s, m) {
    uint.encode(s, m.start);
    uint.encode(s, m.length);
    if (m.any) uint.encode(s, WANT_ANY);
  },
  decode(s) {
    const start = uint.decode(s);
    const length = uint.decode(s);
    const flags = more(s) ? uint.decode(s) : 0;
    return { start, length, any: (flags & WANT_ANY) !== 0 };
  },
};

/** Codec of unwant: the same layout as {@link want}. */
export const unwant: Codec<Want> = want;

/** Codec of {@link Bitfield}. */
export const bitfield: Codec<Bitfield> = {
  preencode(s, m) {
    uint.preencode(s, m.start);
    uint32array.preencode(s, m.bitfield);
  },
  encode(s, m) {
    uint.encode(s, m.start);
    uint32array.encode(s, m.bitfield);
  },
  decode(s) {
    const start = uint.decode(s);
    return { start, bitfield: uint32array.decode(s) };
  },
};

function rangeFlags(m: Range): number {
  return (m.drop ? RANGE_DROP : 0) | (m.length === 1 ? RANGE_LENGTH_ONE : 0);
}

/** Codec of {@link Range}. */
export const range: Codec<Range> = {
  preencode(s, m) {
    uint.preencode(s, rangeFlags(m));
    uint.preencode(s, m.start);
    if (m.length !== 1) uint.preencode(s, m.length);
  },
  encode(s, m) {
    uint.encode(s, rangeFlags(m));
    uint.encode(s, m.start);
    if (m.length !== 1) uint.encode(s, m.length);
  },
  decode(s) {
    const flags = uint.decode(s);
    const start = uint.decode(s);
    return {
      drop: (flags & RANGE_DROP) !== 0,
      start,
      length: flags & RANGE_LENGTH_ONE ? 1 : uint.decode(s),
    };
  },
};

/** Codec of {@link Extension}. */
export const extension: Codec<Extension> = {
  preencode(s, m) {
    string.preencode(s, m.name);
    raw.preencode(s, m.message);
  },
  encode(s, m) {
    string.encode(s, m.name);
    raw.encode(s, m.message);
  },
  decode(s) {
    const name = string.decode(s);
    return { name, message: raw.decode(s) };
  },
};

/** The channel's message codecs in index order (SPEC f.2), for protomux. */
export const HYPERCORE_MESSAGES = [
  sync,
  request,
  cancel,
  data,
  noData,
  want,
  unwant,
  bitfield,
  range,
  extension,
] as const;
