/**
 * compact-encoding: the byte codecs every Hypercore structure is made of
 * (SPEC section 0).
 *
 * | codec          | bytes                                                            |
 * |----------------|------------------------------------------------------------------|
 * | uint           | n ≤ 0xfc: n · ≤ 0xffff: fd u16le · ≤ 0xffffffff: fe u32le · ff u64le |
 * | int            | zig-zag (0,-1,1,-2 → 0,1,2,3) then uint                          |
 * | uintN          | N/8 bytes little endian (uint64 = low u32le then high u32le)     |
 * | bool           | one byte; only 0x01 decodes as true                              |
 * | buffer, string | uint length then bytes (string: UTF-8)                           |
 * | optionalBuffer | like buffer; null encodes as 00, length 0 decodes as null        |
 * | fixed32/64     | the raw bytes, no prefix                                         |
 * | array(T)       | uint count (≤ 0x100000 on decode) then elements                  |
 * | uint32array    | uint element count then u32le words                              |
 * | raw            | the rest of the message                                          |
 *
 * A codec is a `preencode` / `encode` / `decode` triple over a {@link State}:
 * `preencode` adds the encoded size to `state.end`, `encode` writes at
 * `state.start`, `decode` reads at `state.start` up to `state.end`. Decoders
 * check every read and throw `PigeonError("DECODE_ERROR")`.
 *
 * @module
 */

import { PigeonError } from "../errors.ts";

/** A cursor over a buffer being encoded or decoded. */
export interface State {
  /** Next byte to read or write. */
  start: number;
  /** End of the readable region (decode) or total size (preencode). */
  end: number;
  /** The bytes; empty during preencode. */
  buffer: Uint8Array;
}

/** A codec for values of type `T`. */
export interface Codec<T> {
  /** Adds the encoded size of `value` to `state.end`. */
  preencode(state: State, value: T): void;
  /** Writes `value` at `state.start` and advances it. */
  encode(state: State, value: T): void;
  /** Reads a value at `state.start` and advances it. */
  decode(state: State): T;
}

/** Largest element count {@link array} accepts on decode (as the reference). */
export const MAX_ARRAY_LENGTH = 0x100000;

const EMPTY = new Uint8Array(0);
const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder("utf-8", { fatal: true });

/** Creates an empty state for preencoding. */
export function state(buffer: Uint8Array = EMPTY, start = 0, end = buffer.byteLength): State {
  return { start, end, buffer };
}

/**
 * Encodes `value` with `codec` into a new buffer of exactly the right size.
 *
 * @example
 * ```ts
 * import { encode, uint } from "./compact.ts";
 * const bytes = encode(uint, 253);
 * if (bytes.length !== 3 || bytes[0] !== 0xfd) throw new Error("unexpected");
 * ```
 */
export function encode<T>(codec: Codec<T>, value: T): Uint8Array {
  const s = state();
  codec.preencode(s, value);
  s.buffer = new Uint8Array(s.end);
  codec.encode(s, value);
  return s.buffer;
}

/**
 * Decodes one value of `codec` from `bytes`; throws if any byte is left over.
 */
export function decode<T>(codec: Codec<T>, bytes: Uint8Array): T {
  const s = state(bytes);
  const value = codec.decode(s);
  if (s.start !== s.end) {
    throw decodeError(`${s.end - s.start} trailing bytes after value`);
  }
  return value;
}

/** A decode error naming what was wrong. */
export function decodeError(message: string): PigeonError {
  return new PigeonError("DECODE_ERROR", message);
}

function need(s: State, n: number): void {
  if (s.end - s.start < n) {
    throw decodeError(`Unexpected end of message: need ${n} bytes, have ${s.end - s.start}`);
  }
}

function assertUint(n: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isInteger(n) || n < 0 || n > max) {
    throw new PigeonError("BAD_ARGUMENT", `Not an unsigned integer in range: ${n}`);
  }
}

function readU16(b: Uint8Array, i: number): number {
  return b[i]! | (b[i + 1]! << 8);
}

function readU32(b: Uint8Array, i: number): number {
  return (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16)) + b[i + 3]! * 0x1000000;
}

function writeU32(b: Uint8Array, i: number, n: number): void {
  b[i] = n;
  b[i + 1] = n >>> 8;
  b[i + 2] = n >>> 16;
  b[i + 3] = n >>> 24;
}

/** Variable-length unsigned integer, 0 … 2^53−1. */
export const uint: Codec<number> = {
  preencode(s, n) {
    assertUint(n);
    s.end += n <= 0xfc ? 1 : n <= 0xffff ? 3 : n <= 0xffffffff ? 5 : 9;
  },
  encode(s, n) {
    const b = s.buffer;
    if (n <= 0xfc) {
      b[s.start++] = n;
    } else if (n <= 0xffff) {
      b[s.start] = 0xfd;
      b[s.start + 1] = n;
      b[s.start + 2] = n >>> 8;
      s.start += 3;
    } else if (n <= 0xffffffff) {
      b[s.start] = 0xfe;
      writeU32(b, s.start + 1, n);
      s.start += 5;
    } else {
      b[s.start] = 0xff;
      writeU32(b, s.start + 1, n >>> 0);
      writeU32(b, s.start + 5, Math.floor(n / 0x100000000));
      s.start += 9;
    }
  },
  decode(s) {
    need(s, 1);
    const b = s.buffer;
    const first = b[s.start]!;
    if (first <= 0xfc) {
      s.start++;
      return first;
    }
    if (first === 0xfd) {
      need(s, 3);
      const n = readU16(b, s.start + 1);
      s.start += 3;
      return n;
    }
    if (first === 0xfe) {
      need(s, 5);
      const n = readU32(b, s.start + 1);
      s.start += 5;
      return n;
    }
    need(s, 9);
    const high = readU32(b, s.start + 5);
    if (high > 0x1fffff) throw decodeError("uint exceeds 2^53-1");
    const n = high * 0x100000000 + readU32(b, s.start + 1);
    s.start += 9;
    return n;
  },
};

/** Zig-zag signed integer over {@link uint}. */
export const int: Codec<number> = {
  preencode(s, n) {
    uint.preencode(s, zigzag(n));
  },
  encode(s, n) {
    uint.encode(s, zigzag(n));
  },
  decode(s) {
    const z = uint.decode(s);
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  },
};

function zigzag(n: number): number {
  if (!Number.isSafeInteger(n)) throw new PigeonError("BAD_ARGUMENT", `Not a safe integer: ${n}`);
  return n >= 0 ? n * 2 : -n * 2 - 1;
}

function fixedUint(bytes: number): Codec<number> {
  const max = 2 ** (bytes * 8) - 1;
  return {
    preencode(s, n) {
      assertUint(n, Math.min(max, Number.MAX_SAFE_INTEGER));
      s.end += bytes;
    },
    encode(s, n) {
      let rest = n;
      for (let i = 0; i < bytes; i++) {
        s.buffer[s.start + i] = rest % 256;
        rest = Math.floor(rest / 256);
      }
      s.start += bytes;
    },
    decode(s) {
      need(s, bytes);
      let n = 0;
      for (let i = bytes - 1; i >= 0; i--) n = n * 256 + s.buffer[s.start + i]!;
      if (n > Number.MAX_SAFE_INTEGER) throw decodeError(`uint${bytes * 8} exceeds 2^53-1`);
      s.start += bytes;
      return n;
    },
  };
}

/** Fixed-width little-endian unsigned integers. */
export const uint8: Codec<number> = fixedUint(1);
/** @see uint8 */
export const uint16: Codec<number> = fixedUint(2);
/** @see uint8 */
export const uint24: Codec<number> = fixedUint(3);
/** @see uint8 */
export const uint32: Codec<number> = fixedUint(4);
/** @see uint8 */
export const uint64: Codec<number> = fixedUint(8);

/** One byte; only exactly 0x01 decodes as true (as the reference). */
export const bool: Codec<boolean> = {
  preencode(s) {
    s.end += 1;
  },
  encode(s, v) {
    s.buffer[s.start++] = v ? 1 : 0;
  },
  decode(s) {
    need(s, 1);
    return s.buffer[s.start++] === 1;
  },
};

/** Raw bytes of a fixed size, no length prefix. */
export function fixed(size: number): Codec<Uint8Array> {
  return {
    preencode(s, v) {
      if (v.byteLength !== size) {
        throw new PigeonError("BAD_ARGUMENT", `Expected ${size} bytes, got ${v.byteLength}`);
      }
      s.end += size;
    },
    encode(s, v) {
      s.buffer.set(v, s.start);
      s.start += size;
    },
    decode(s) {
      need(s, size);
      const v = s.buffer.slice(s.start, s.start + size);
      s.start += size;
      return v;
    },
  };
}

/** 32 raw bytes (keys, hashes). */
export const fixed32: Codec<Uint8Array> = fixed(32);
/** 64 raw bytes (signatures). */
export const fixed64: Codec<Uint8Array> = fixed(64);

/** Length-prefixed bytes. Decoding copies, so the result owns its memory. */
export const buffer: Codec<Uint8Array> = {
  preencode(s, v) {
    uint.preencode(s, v.byteLength);
    s.end += v.byteLength;
  },
  encode(s, v) {
    uint.encode(s, v.byteLength);
    s.buffer.set(v, s.start);
    s.start += v.byteLength;
  },
  decode(s) {
    const len = uint.decode(s);
    need(s, len);
    const v = s.buffer.slice(s.start, s.start + len);
    s.start += len;
    return v;
  },
};

/** Like {@link buffer}, but `null` ⇄ a zero length. */
export const optionalBuffer: Codec<Uint8Array | null> = {
  preencode(s, v) {
    if (v === null) s.end += 1;
    else buffer.preencode(s, v);
  },
  encode(s, v) {
    if (v === null) s.buffer[s.start++] = 0;
    else buffer.encode(s, v);
  },
  decode(s) {
    const v = buffer.decode(s);
    return v.byteLength === 0 ? null : v;
  },
};

/** Length-prefixed UTF-8; invalid UTF-8 is a decode error. */
export const string: Codec<string> = {
  preencode(s, v) {
    const len = utf8Length(v);
    uint.preencode(s, len);
    s.end += len;
  },
  encode(s, v) {
    const bytes = textEncoder.encode(v);
    buffer.encode(s, bytes);
  },
  decode(s) {
    const len = uint.decode(s);
    need(s, len);
    let v: string;
    try {
      v = textDecoder.decode(s.buffer.subarray(s.start, s.start + len));
    } catch {
      throw decodeError("Invalid UTF-8 in string");
    }
    s.start += len;
    return v;
  },
};

function utf8Length(v: string): number {
  let len = 0;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 0x80) len += 1;
    else if (c < 0x800) len += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < v.length) {
      const next = v.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        len += 4;
        i++;
      } else len += 3;
    } else len += 3;
  }
  return len;
}

/** The rest of the message, no prefix. */
export const raw: Codec<Uint8Array> = {
  preencode(s, v) {
    s.end += v.byteLength;
  },
  encode(s, v) {
    s.buffer.set(v, s.start);
    s.start += v.byteLength;
  },
  decode(s) {
    const v = s.buffer.slice(s.start, s.end);
    s.start = s.end;
    return v;
  },
};

/** A count-prefixed array of `codec` values. */
export function array<T>(codec: Codec<T>): Codec<T[]> {
  return {
    preencode(s, v) {
      uint.preencode(s, v.length);
      for (const item of v) codec.preencode(s, item);
    },
    encode(s, v) {
      uint.encode(s, v.length);
      for (const item of v) codec.encode(s, item);
    },
    decode(s) {
      const count = uint.decode(s);
      if (count > MAX_ARRAY_LENGTH) throw decodeError(`Array too long: ${count} elements`);
      const out: T[] = [];
      for (let i = 0; i < count; i++) out.push(codec.decode(s));
      return out;
    },
  };
}

/** Element count then little-endian 32-bit words. */
export const uint32array: Codec<Uint32Array> = {
  preencode(s, v) {
    uint.preencode(s, v.length);
    s.end += v.length * 4;
  },
  encode(s, v) {
    uint.encode(s, v.length);
    for (let i = 0; i < v.length; i++) writeU32(s.buffer, s.start + i * 4, v[i]!);
    s.start += v.length * 4;
  },
  decode(s) {
    const count = uint.decode(s);
    need(s, count * 4);
    const out = new Uint32Array(count);
    for (let i = 0; i < count; i++) out[i] = readU32(s.buffer, s.start + i * 4);
    s.start += count * 4;
    return out;
  },
};
