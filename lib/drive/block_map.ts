/**
 * Hyperblobs block maps (SPEC g.2): a blob whose id has `blockMap: true`
 * points at map blocks listing the content blocks, which lets a blob reuse
 * blocks already in the log (dedup). compact-encoding:
 *
 * | field       | encoding                                       |
 * |-------------|------------------------------------------------|
 * | version     | uint, always 0                                 |
 * | blocks      | array: uint count, then per entry:             |
 * |   index     |   uint, content block index in the blobs log   |
 * |   byteLength|   uint, that block's length                    |
 *
 * A map is split over map blocks of at most {@link MAX_MAP_ENTRIES_PER_BLOCK}
 * entries; a blob has at most {@link MAX_MAP_BLOCKS} map blocks. Content is the
 * listed blocks in order (an index may repeat).
 *
 * @module
 */

import { PigeonError } from "../errors.ts";
import { array, type Codec, decode, encode, uint } from "../encoding/compact.ts";

/** Entries per map block (hyperblobs writes 8192). */
export const MAX_MAP_ENTRIES_PER_BLOCK = 8192;
/** Map blocks one blob may have (hyperblobs refuses more than 64). */
export const MAX_MAP_BLOCKS = 64;
/** The only block-map version. */
export const BLOCK_MAP_VERSION = 0;

/** One content block of a block-mapped blob. */
export interface BlockMapEntry {
  /** Block index in the blobs log. */
  index: number;
  /** Length of that block. */
  byteLength: number;
}

/** A decoded block map. */
export interface BlockMap {
  /** Always 0. */
  version: number;
  /** Content blocks in order. */
  blocks: BlockMapEntry[];
}

const entry: Codec<BlockMapEntry> = {
  preencode(s, e) {
    uint.preencode(s, e.index);
    uint.preencode(s, e.byteLength);
  },
  encode(s, e) {
    uint.encode(s, e.index);
    uint.encode(s, e.byteLength);
  },
  decode(s) {
    const index = uint.decode(s);
    const byteLength = uint.decode(s);
    return { index, byteLength };
  },
};

const entries = array(entry);

/** Codec of one map block. Decoding rejects versions other than 0. */
export const blockMapBlock: Codec<BlockMap> = {
  preencode(s, m) {
    uint.preencode(s, BLOCK_MAP_VERSION);
    entries.preencode(s, m.blocks);
  },
  encode(s, m) {
    uint.encode(s, BLOCK_MAP_VERSION);
    entries.encode(s, m.blocks);
  },
  decode(s) {
    const version = uint.decode(s);
    if (version !== BLOCK_MAP_VERSION) {
      throw new PigeonError("DECODE_ERROR", `Unsupported block map version ${version}`);
    }
    return { version, blocks: entries.decode(s) };
  },
};

/**
 * The map blocks for `blocks` (one per {@link MAX_MAP_ENTRIES_PER_BLOCK}
 * entries; one empty map block when there are none).
 *
 * @example Three entries in one block
 * ```ts
 * import { encodeBlockMap } from "./block_map.ts";
 * const [b] = encodeBlockMap([{ index: 6, byteLength: 10 }, { index: 7, byteLength: 5 }, { index: 6, byteLength: 10 }]);
 * if (b?.join(",") !== "0,3,6,10,7,5,6,10") throw new Error("unexpected");
 * ```
 */
export function encodeBlockMap(blocks: readonly BlockMapEntry[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i === 0 || i < blocks.length; i += MAX_MAP_ENTRIES_PER_BLOCK) {
    const part = blocks.slice(i, i + MAX_MAP_ENTRIES_PER_BLOCK);
    out.push(encode(blockMapBlock, { version: BLOCK_MAP_VERSION, blocks: part }));
  }
  return out;
}

/** Decodes and joins map blocks; throws `DECODE_ERROR` on malformed bytes. */
export function decodeBlockMap(mapBlocks: readonly Uint8Array[]): BlockMap {
  if (mapBlocks.length > MAX_MAP_BLOCKS) {
    throw new PigeonError(
      "DECODE_ERROR",
      `Block map has ${mapBlocks.length} blocks, max ${MAX_MAP_BLOCKS}`,
    );
  }
  const blocks: BlockMapEntry[] = [];
  for (const b of mapBlocks) {
    for (const e of decode(blockMapBlock, b).blocks) blocks.push(e);
  }
  return { version: BLOCK_MAP_VERSION, blocks };
}
