/**
 * The committed state of a core, stored as the `header` file. Replacing the
 * header is the commit point of every append and every verified upgrade.
 *
 * | field      | bytes                                           |
 * |------------|-------------------------------------------------|
 * | magic      | 8 bytes "pigeonC\x01"                           |
 * | key        | fixed32                                         |
 * | flags      | uint: bit0 compat, bit1 manifest present        |
 * | manifest   | manifest encoding (SPEC c.2), if bit1           |
 * | fork       | uint                                            |
 * | length     | uint: the signed length                         |
 * | byteLength | uint                                            |
 * | treeHash   | fixed32: tree hash at `length`                  |
 * | signature  | optionalBuffer: signature container at `length` |
 * | checksum   | fixed32: BLAKE2b-256 of everything before it    |
 *
 * @module
 */

import {
  type Codec,
  decodeError,
  encode,
  fixed32,
  optionalBuffer,
  state,
  uint,
} from "../encoding/compact.ts";
import { blake2b } from "../crypto/blake2b.ts";
import { equals } from "../crypto/bytes.ts";
import { PigeonError } from "../errors.ts";
import { type Manifest, manifestEncoding } from "./manifest.ts";

/** What a core has committed. */
export interface Header {
  /** 32-byte core key. */
  key: Uint8Array;
  /** True when the key is the signer's public key. */
  compat: boolean;
  /** The manifest, or null while a reader has not received it. */
  manifest: Manifest | null;
  /** Fork id. */
  fork: number;
  /** Signed length. */
  length: number;
  /** Bytes in blocks below `length`. */
  byteLength: number;
  /** Tree hash at `length`. */
  treeHash: Uint8Array;
  /** Signature container at `length`; null while `length` is 0. */
  signature: Uint8Array | null;
}

const MAGIC = new TextEncoder().encode("pigeonC\x01");
const FLAG_COMPAT = 1;
const FLAG_MANIFEST = 2;
const CHECKSUM_BYTES = 32;

const headerBody: Codec<Header> = {
  preencode(s, h) {
    s.end += MAGIC.byteLength;
    fixed32.preencode(s, h.key);
    uint.preencode(s, flagsOf(h));
    if (h.manifest) manifestEncoding.preencode(s, h.manifest);
    uint.preencode(s, h.fork);
    uint.preencode(s, h.length);
    uint.preencode(s, h.byteLength);
    fixed32.preencode(s, h.treeHash);
    optionalBuffer.preencode(s, h.signature);
  },
  encode(s, h) {
    s.buffer.set(MAGIC, s.start);
    s.start += MAGIC.byteLength;
    fixed32.encode(s, h.key);
    uint.encode(s, flagsOf(h));
    if (h.manifest) manifestEncoding.encode(s, h.manifest);
    uint.encode(s, h.fork);
    uint.encode(s, h.length);
    uint.encode(s, h.byteLength);
    fixed32.encode(s, h.treeHash);
    optionalBuffer.encode(s, h.signature);
  },
  decode(s) {
    if (!equals(s.buffer.subarray(s.start, s.start + MAGIC.byteLength), MAGIC)) {
      throw decodeError("Not a pigeon core header");
    }
    s.start += MAGIC.byteLength;
    const key = fixed32.decode(s);
    const flags = uint.decode(s);
    const manifest = flags & FLAG_MANIFEST ? manifestEncoding.decode(s) : null;
    return {
      key,
      compat: (flags & FLAG_COMPAT) !== 0,
      manifest,
      fork: uint.decode(s),
      length: uint.decode(s),
      byteLength: uint.decode(s),
      treeHash: fixed32.decode(s),
      signature: optionalBuffer.decode(s),
    };
  },
};

function flagsOf(h: Header): number {
  return (h.compat ? FLAG_COMPAT : 0) | (h.manifest ? FLAG_MANIFEST : 0);
}

/** Header bytes with their trailing checksum. */
export function encodeHeader(header: Header): Uint8Array {
  const body = encode(headerBody, header);
  const out = new Uint8Array(body.byteLength + CHECKSUM_BYTES);
  out.set(body);
  out.set(blake2b([body], CHECKSUM_BYTES), body.byteLength);
  return out;
}

/**
 * Decodes header bytes read from `source`; a wrong checksum, truncation or
 * garbage throws `PigeonError("CORRUPT_STORAGE")` naming `source`.
 */
export function decodeHeader(bytes: Uint8Array, source: string): Header {
  const corrupt = (why: string) =>
    new PigeonError("CORRUPT_STORAGE", `Corrupt core header ${source}: ${why}`);
  if (bytes.byteLength <= CHECKSUM_BYTES) throw corrupt("file is truncated");
  const body = bytes.subarray(0, bytes.byteLength - CHECKSUM_BYTES);
  const checksum = bytes.subarray(bytes.byteLength - CHECKSUM_BYTES);
  if (!equals(blake2b([body], CHECKSUM_BYTES), checksum)) throw corrupt("checksum mismatch");
  try {
    const s = state(body);
    const header = headerBody.decode(s);
    if (s.start !== s.end) throw corrupt("trailing bytes");
    return header;
  } catch (err) {
    if (err instanceof PigeonError && err.code === "CORRUPT_STORAGE") throw err;
    throw corrupt(err instanceof Error ? err.message : String(err));
  }
}
