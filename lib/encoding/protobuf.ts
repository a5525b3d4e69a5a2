/**
 * The proto2 wire-format subset Hyperbee's blocks use (SPEC g.1).
 *
 * | piece            | bytes                                                      |
 * |------------------|------------------------------------------------------------|
 * | varint           | LEB128: 7 bits a byte, low group first, high bit = "more"  |
 * | tag              | varint `(field << 3) \| wireType`                          |
 * | wire type 0      | varint value                                               |
 * | wire type 1      | 8 bytes (skipped only)                                     |
 * | wire type 2      | varint length, then that many bytes (bytes, string,        |
 * |                  | embedded message, packed repeated varints)                 |
 * | wire type 5      | 4 bytes (skipped only)                                     |
 *
 * These varints are protobuf LEB128, not compact-encoding `uint`. Values are
 * limited to 0 … 2^53−1 (what a JavaScript number holds exactly); a decoder
 * rejects larger values, more than {@link MAX_VARINT_BYTES} bytes, reads past
 * the end and group wire types (3, 4) with `PigeonError("DECODE_ERROR")`.
 *
 * @module
 */

import { PigeonError } from "../errors.ts";

/** Longest varint accepted (a 64-bit value takes at most 10 bytes). */
export const MAX_VARINT_BYTES = 10;

/** Wire type of a varint field. */
export const WIRE_VARINT = 0;
/** Wire type of a fixed 8-byte field. */
export const WIRE_FIXED64 = 1;
/** Wire type of a length-delimited field. */
export const WIRE_BYTES = 2;
/** Wire type of a fixed 4-byte field. */
export const WIRE_FIXED32 = 5;

const TWO_POW_32 = 0x100000000;
const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder("utf-8", { fatal: true });

function decodeError(message: string): PigeonError {
  return new PigeonError("DECODE_ERROR", message);
}

function assertVarint(n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new PigeonError("BAD_ARGUMENT", `Not an unsigned safe integer: ${n}`);
  }
}

/**
 * Number of bytes the varint encoding of `n` takes.
 *
 * @example
 * ```ts
 * import { varintLength } from "./protobuf.ts";
 * if (varintLength(127) !== 1 || varintLength(128) !== 2) throw new Error("unexpected");
 * ```
 */
export function varintLength(n: number): number {
  assertVarint(n);
  let len = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}

/** A field read by {@link Reader.next}: its number and wire type. */
export interface FieldTag {
  /** Field number (≥ 1). */
  field: number;
  /** Wire type (0, 1, 2 or 5). */
  wireType: number;
}

/**
 * A bounds-checked cursor over one protobuf message.
 *
 * @example Reading one varint field
 * ```ts
 * import { Reader } from "./protobuf.ts";
 * const r = new Reader(new Uint8Array([0x08, 0x96, 0x01]));
 * const tag = r.next();
 * if (tag?.field !== 1 || r.varint() !== 150 || r.next() !== null) throw new Error("unexpected");
 * ```
 */
export class Reader {
  #buf: Uint8Array;
  #pos: number;
  #end: number;

  /** Reads `buf` from `start` (default 0) to `end` (default its length). */
  constructor(buf: Uint8Array, start = 0, end: number = buf.byteLength) {
    if (start < 0 || end > buf.byteLength || start > end) {
      throw decodeError(`Bad message bounds ${start}…${end} of ${buf.byteLength} bytes`);
    }
    this.#buf = buf;
    this.#pos = start;
    this.#end = end;
  }

  /** True when every byte has been read. */
  get done(): boolean {
    return this.#pos >= this.#end;
  }

  /** The next field's tag, or null at the end of the message. */
  next(): FieldTag | null {
    if (this.#pos >= this.#end) return null;
    const prefix = this.varint();
    const field = Math.floor(prefix / 8);
    const wireType = prefix % 8;
    if (field === 0) throw decodeError("Field number 0 is not valid");
    if (
      wireType !== WIRE_VARINT && wireType !== WIRE_FIXED64 && wireType !== WIRE_BYTES &&
      wireType !== WIRE_FIXED32
    ) {
      throw decodeError(`Unsupported wire type ${wireType} for field ${field}`);
    }
    return { field, wireType };
  }

  /** Reads one varint (0 … 2^53−1). */
  varint(): number {
    const b = this.#buf;
    let result = 0;
    let scale = 1;
    for (let i = 0; i < MAX_VARINT_BYTES; i++) {
      if (this.#pos >= this.#end) throw decodeError("Unexpected end of message inside a varint");
      const byte = b[this.#pos++]!;
      result += (byte & 0x7f) * scale;
      if (byte < 0x80) {
        if (!Number.isSafeInteger(result)) throw decodeError("Varint exceeds 2^53-1");
        return result;
      }
      scale *= 128;
    }
    throw decodeError(`Varint longer than ${MAX_VARINT_BYTES} bytes`);
  }

  /** Reads a length-delimited field's bytes (a view into the buffer). */
  bytes(): Uint8Array {
    const len = this.varint();
    if (len > this.#end - this.#pos) {
      throw decodeError(`Length ${len} runs past the end (${this.#end - this.#pos} bytes left)`);
    }
    const out = this.#buf.subarray(this.#pos, this.#pos + len);
    this.#pos += len;
    return out;
  }

  /** Reads a length-delimited UTF-8 string (invalid UTF-8 is a decode error). */
  string(): string {
    const bytes = this.bytes();
    try {
      return textDecoder.decode(bytes);
    } catch (cause) {
      throw new PigeonError("DECODE_ERROR", "String field is not valid UTF-8", { cause });
    }
  }

  /**
   * Reads a repeated varint field into `out`: packed (wire type 2) or one
   * unpacked value (wire type 0), as proto2 parsers accept both.
   */
  repeatedVarint(wireType: number, out: number[]): void {
    if (wireType === WIRE_VARINT) {
      out.push(this.varint());
      return;
    }
    if (wireType !== WIRE_BYTES) throw decodeError(`Repeated varint with wire type ${wireType}`);
    const packed = this.bytes();
    const inner = new Reader(packed);
    while (!inner.done) out.push(inner.varint());
  }

  /** Skips a field of an unknown number. */
  skip(wireType: number): void {
    switch (wireType) {
      case WIRE_VARINT:
        this.varint();
        return;
      case WIRE_FIXED64:
        this.#advance(8);
        return;
      case WIRE_BYTES:
        this.bytes();
        return;
      case WIRE_FIXED32:
        this.#advance(4);
        return;
      default:
        throw decodeError(`Cannot skip wire type ${wireType}`);
    }
  }

  /** Throws unless `wireType` is the expected one for a field. */
  expect(tag: FieldTag, wireType: number): void {
    if (tag.wireType !== wireType) {
      throw decodeError(`Field ${tag.field} has wire type ${tag.wireType}, expected ${wireType}`);
    }
  }

  #advance(n: number): void {
    if (n > this.#end - this.#pos) throw decodeError("Unexpected end of message in a fixed field");
    this.#pos += n;
  }
}

/**
 * Builds one protobuf message; fields are written in the order they are added.
 *
 * @example
 * ```ts
 * import { Writer } from "./protobuf.ts";
 * const bytes = new Writer().string(1, "hi").finish();
 * if (bytes.join(",") !== "10,2,104,105") throw new Error("unexpected");
 * ```
 */
export class Writer {
  #chunks: Uint8Array[] = [];
  #size = 0;

  /** Writes field `field` as a varint. */
  varint(field: number, value: number): this {
    this.#tag(field, WIRE_VARINT);
    this.#rawVarint(value);
    return this;
  }

  /** Writes field `field` as length-delimited bytes (also for embedded messages). */
  bytes(field: number, value: Uint8Array): this {
    this.#tag(field, WIRE_BYTES);
    this.#rawVarint(value.byteLength);
    this.#push(value);
    return this;
  }

  /** Writes field `field` as a UTF-8 string. */
  string(field: number, value: string): this {
    return this.bytes(field, textEncoder.encode(value));
  }

  /** Writes a packed repeated varint field; nothing at all when `values` is empty. */
  packedVarints(field: number, values: readonly number[]): this {
    if (values.length === 0) return this;
    let len = 0;
    for (const v of values) len += varintLength(v);
    this.#tag(field, WIRE_BYTES);
    this.#rawVarint(len);
    const out = new Uint8Array(len);
    let pos = 0;
    for (const v of values) pos = writeVarint(out, pos, v);
    this.#push(out);
    return this;
  }

  /** The message bytes. */
  finish(): Uint8Array {
    if (this.#chunks.length === 1) return this.#chunks[0]!;
    const out = new Uint8Array(this.#size);
    let pos = 0;
    for (const c of this.#chunks) {
      out.set(c, pos);
      pos += c.byteLength;
    }
    this.#chunks = [out];
    return out;
  }

  #tag(field: number, wireType: number): void {
    if (!Number.isSafeInteger(field) || field < 1 || field > 0x1fffffff) {
      throw new PigeonError("BAD_ARGUMENT", `Bad protobuf field number ${field}`);
    }
    this.#rawVarint(field * 8 + wireType);
  }

  #rawVarint(n: number): void {
    const out = new Uint8Array(varintLength(n));
    writeVarint(out, 0, n);
    this.#push(out);
  }

  #push(bytes: Uint8Array): void {
    this.#chunks.push(bytes);
    this.#size += bytes.byteLength;
  }
}

/** Writes the varint of `n` into `out` at `pos`; returns the position after it. */
export function writeVarint(out: Uint8Array, pos: number, n: number): number {
  assertVarint(n);
  while (n >= 0x80) {
    out[pos++] = (n % 128) | 0x80;
    n = n >= TWO_POW_32 ? Math.floor(n / 128) : n >>> 7;
  }
  out[pos++] = n;
  return pos;
}
