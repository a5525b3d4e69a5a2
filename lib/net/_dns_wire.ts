/**
 * The byte-level half of the DNS codec (RFC 1035 §4.1.4): a bounds-checked
 * reader that follows compression pointers only backwards, a writer that
 * compresses name suffixes, and name and address text helpers. Used only by
 * `dns_message.ts`, which documents the layout.
 *
 * @module
 */

import { PigeonError } from "../errors.ts";

/** Longest name on the wire, counting length bytes and the final zero (RFC 1035 §2.3.4). */
export const MAX_NAME_BYTES = 255;
/** Longest label (RFC 1035 §2.3.4). */
export const MAX_LABEL_BYTES = 63;
/** Most compression pointers followed while reading one name. */
export const MAX_POINTER_HOPS = 32;

const POINTER_TAG = 0xc0;
const POINTER_MAX_OFFSET = 0x3fff;

/** True when two names are equal ignoring ASCII case (RFC 6762 §16). */
export function nameEquals(a: string, b: string): boolean {
  return a.length === b.length && asciiLower(a) === asciiLower(b);
}

/** `name` with ASCII letters lowercased (and nothing else changed). */
export function asciiLower(name: string): string {
  return name.replace(/[A-Z]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 32));
}

/** Splits a name into raw labels, undoing `\.` and `\\` escapes; "" and "." are the root. */
export function nameLabels(name: string): string[] {
  if (name === "" || name === ".") return [];
  const labels: string[] = [];
  let label = "";
  for (let i = 0; i < name.length; i++) {
    const c = name[i]!;
    if (c === "\\" && i + 1 < name.length) {
      label += name[++i]!;
    } else if (c === ".") {
      labels.push(label);
      label = "";
    } else {
      label += c;
    }
  }
  if (label !== "" || !name.endsWith(".")) labels.push(label);
  return labels;
}

/** Joins raw labels into a name, escaping "." and "\" inside labels. */
export function joinLabels(labels: readonly string[]): string {
  return labels.map((l) => l.replace(/[\\.]/g, (c) => `\\${c}`)).join(".");
}

/** Dotted-quad text to 4 bytes; throws BAD_ARGUMENT otherwise. */
export function ipv4Bytes(address: string): Uint8Array {
  const parts = address.split(".");
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) {
    bad(`Not an IPv4 address: ${address}`);
  }
  return Uint8Array.from(parts, Number);
}

/** IPv6 text (with `::`) to 16 bytes; throws BAD_ARGUMENT otherwise. */
export function ipv6Bytes(address: string): Uint8Array {
  const halves = address.split("::");
  if (halves.length > 2) bad(`Not an IPv6 address: ${address}`);
  const groups = (s: string | undefined) => (s === undefined || s === "" ? [] : s.split(":"));
  const head = groups(halves[0]);
  const tail = groups(halves[1]);
  const fill = 8 - head.length - tail.length;
  if (halves.length === 1 ? fill !== 0 : fill < 1) bad(`Not an IPv6 address: ${address}`);
  const all = [...head, ...Array<string>(halves.length === 1 ? 0 : fill).fill("0"), ...tail];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) bad(`Not an IPv6 address: ${address}`);
    const v = Number.parseInt(g, 16);
    out[i * 2] = v >> 8;
    out[i * 2 + 1] = v & 0xff;
  });
  return out;
}

/** 16 bytes to IPv6 text: eight lowercase groups, no `::` shortening. */
export function ipv6String(bytes: Uint8Array): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return groups.join(":");
}

/** Throws `PigeonError("DECODE_ERROR")` for a malformed message. */
export function malformed(message: string): never {
  throw new PigeonError("DECODE_ERROR", `Malformed DNS message: ${message}`);
}

/** Throws `PigeonError("BAD_ARGUMENT")` for a value that cannot be encoded. */
export function bad(message: string): never {
  throw new PigeonError("BAD_ARGUMENT", message);
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

/** A bounds-checked reader over one message; every failure is {@link malformed}. */
export class Reader {
  readonly bytes: Uint8Array;
  offset = 0;

  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
  }

  u8(limit: number = this.bytes.length): number {
    if (this.offset + 1 > limit) malformed(`Truncated at byte ${this.offset}`);
    return this.bytes[this.offset++]!;
  }

  u16(limit: number = this.bytes.length): number {
    if (this.offset + 2 > limit) malformed(`Truncated at byte ${this.offset}`);
    const v = (this.bytes[this.offset]! << 8) | this.bytes[this.offset + 1]!;
    this.offset += 2;
    return v;
  }

  u32(): number {
    const hi = this.u16();
    return hi * 0x10000 + this.u16();
  }

  take(n: number, limit: number = this.bytes.length): Uint8Array {
    if (this.offset + n > limit) malformed(`Truncated at byte ${this.offset}`);
    const out = this.bytes.subarray(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }

  /**
   * Reads a name at the current offset, which must end by `limit`; pointers
   * may only go backwards, to before the name's own start.
   */
  name(limit: number = this.bytes.length): string {
    const labels: string[] = [];
    let wireBytes = 1; // the final zero byte
    let at = this.offset;
    let floor = this.offset; // a pointer must point strictly below this
    let hops = 0;
    let end = -1; // where reading continues after the name (after the first pointer)
    for (;;) {
      if (at >= (end === -1 ? limit : this.bytes.length)) malformed(`Name truncated at byte ${at}`);
      const len = this.bytes[at]!;
      if ((len & POINTER_TAG) === POINTER_TAG) {
        if (at + 2 > (end === -1 ? limit : this.bytes.length)) {
          malformed(`Pointer truncated at ${at}`);
        }
        const target = ((len << 8) | this.bytes[at + 1]!) & POINTER_MAX_OFFSET;
        if (end === -1) end = at + 2;
        if (target >= floor) malformed(`Compression pointer at ${at} does not point backwards`);
        if (++hops > MAX_POINTER_HOPS) {
          malformed(`More than ${MAX_POINTER_HOPS} pointers in a name`);
        }
        floor = target;
        at = target;
        continue;
      }
      if ((len & POINTER_TAG) !== 0) {
        malformed(`Reserved label type 0x${len.toString(16)} at ${at}`);
      }
      if (len === 0) {
        at += 1;
        break;
      }
      wireBytes += 1 + len;
      if (wireBytes > MAX_NAME_BYTES) malformed(`Name longer than ${MAX_NAME_BYTES} bytes`);
      const labelEnd = at + 1 + len;
      if (labelEnd > (end === -1 ? limit : this.bytes.length)) {
        malformed(`Label truncated at ${at}`);
      }
      labels.push(fromUtf8.decode(this.bytes.subarray(at + 1, labelEnd)));
      at = labelEnd;
    }
    this.offset = end === -1 ? at : end;
    return joinLabels(labels);
  }
}

/** A growable writer with name compression. */
export class Writer {
  #buf = new Uint8Array(512);
  #length = 0;
  /** Lowercased name suffix → offset where it was written. */
  #suffixes = new Map<string, number>();

  get length(): number {
    return this.#length;
  }

  #grow(n: number): void {
    if (this.#length + n <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.#length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.#length));
    this.#buf = next;
  }

  u8(v: number): void {
    this.#grow(1);
    this.#buf[this.#length++] = v;
  }

  u16(v: number): void {
    if (!Number.isInteger(v) || v < 0 || v > 0xffff) bad(`Not a 16-bit value: ${v}`);
    this.#grow(2);
    this.#buf[this.#length++] = v >> 8;
    this.#buf[this.#length++] = v & 0xff;
  }

  u32(v: number): void {
    this.u16(Math.floor(v / 0x10000));
    this.u16(v % 0x10000);
  }

  raw(bytes: Uint8Array): void {
    this.#grow(bytes.length);
    this.#buf.set(bytes, this.#length);
    this.#length += bytes.length;
  }

  reserve(n: number): number {
    const at = this.#length;
    this.#grow(n);
    this.#length += n;
    return at;
  }

  patchU16(at: number, v: number): void {
    this.#buf[at] = v >> 8;
    this.#buf[at + 1] = v & 0xff;
  }

  name(name: string): void {
    const labels = nameLabels(name).map((l) => utf8.encode(l));
    let wireBytes = 1;
    for (const l of labels) {
      if (l.length === 0 || l.length > MAX_LABEL_BYTES) {
        bad(`Bad label length ${l.length} in ${name}`);
      }
      wireBytes += 1 + l.length;
    }
    if (wireBytes > MAX_NAME_BYTES) bad(`Name longer than ${MAX_NAME_BYTES} bytes: ${name}`);
    const raw = nameLabels(name);
    for (let i = 0; i < labels.length; i++) {
      const suffix = asciiLower(joinLabels(raw.slice(i)));
      const seen = this.#suffixes.get(suffix);
      if (seen !== undefined) {
        this.u16(0xc000 | seen);
        return;
      }
      if (this.#length <= POINTER_MAX_OFFSET) this.#suffixes.set(suffix, this.#length);
      this.u8(labels[i]!.length);
      this.raw(labels[i]!);
    }
    this.u8(0);
  }

  bytes(): Uint8Array {
    return this.#buf.slice(0, this.#length);
  }
}
