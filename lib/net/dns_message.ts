/**
 * DNS messages as multicast DNS uses them (RFC 1035 §4, RFC 6762 §18): header,
 * questions and resource records, with A, AAAA, PTR, SRV and TXT data decoded
 * and every other type kept as raw bytes.
 *
 * Message layout (RFC 1035 §4.1.1, all integers big-endian):
 *
 * | offset | bytes | field                                                    |
 * |--------|-------|----------------------------------------------------------|
 * | 0      | 2     | id (0 in multicast DNS, RFC 6762 §18.1)                  |
 * | 2      | 2     | flags: QR 0x8000, opcode 0x7800, AA 0x0400, TC 0x0200, rcode 0x000f |
 * | 4      | 2     | question count                                           |
 * | 6      | 2     | answer count                                             |
 * | 8      | 2     | authority count                                          |
 * | 10     | 2     | additional count                                         |
 * | 12     | …     | questions, then answers, authorities, additionals        |
 *
 * Question (RFC 1035 §4.1.2, RFC 6762 §5.4): `name`, `type u16`,
 * `class u16` whose top bit asks for a unicast response (QU).
 *
 * Resource record (RFC 1035 §4.1.3, RFC 6762 §10.2): `name`, `type u16`,
 * `class u16` whose top bit is cache-flush, `ttl u32` (seconds), `rdlength u16`,
 * `rdata`:
 *
 * | type      | rdata                                                         |
 * |-----------|---------------------------------------------------------------|
 * | A 1       | 4-byte IPv4 address                                           |
 * | PTR 12    | name                                                          |
 * | TXT 16    | one or more `len u8` + `len` bytes strings (RFC 6763 §6)      |
 * | AAAA 28   | 16-byte IPv6 address                                          |
 * | SRV 33    | `priority u16`, `weight u16`, `port u16`, target name (RFC 2782) |
 *
 * Names (RFC 1035 §4.1.4) are labels `len u8` (1…63) + bytes, ended by a zero
 * byte, or ended by a compression pointer `0b11` + 14-bit offset into the
 * message. The decoder follows pointers only backwards (so loops cannot
 * happen), at most {@link MAX_POINTER_HOPS} times, and enforces
 * {@link MAX_NAME_BYTES}. The encoder compresses repeated name suffixes.
 *
 * Names are strings of labels joined by "."; a "." or "\" inside a label is
 * written `\.` or `\\`. Comparisons are ASCII case-insensitive ({@link nameEquals}).
 * Every malformed input makes {@link decodeMessage} throw
 * `PigeonError("DECODE_ERROR")`.
 *
 * @module
 */

import { PigeonError } from "../errors.ts";

/** Resource record type codes this module knows (RFC 1035 §3.2.2, RFC 3596, RFC 2782). */
export const DNS_TYPE = {
  A: 1,
  PTR: 12,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  /** Only in questions: every type. */
  ANY: 255,
} as const;

/** The Internet class. */
export const CLASS_IN = 1;

/** Largest message decoded or encoded: RFC 6762 §17 caps a multicast DNS packet at 9000 bytes. */
export const MAX_MESSAGE_BYTES = 9000;
/** Most questions plus records accepted in one message. */
export const MAX_RECORDS = 256;
/** Longest name on the wire, counting length bytes and the final zero (RFC 1035 §2.3.4). */
export const MAX_NAME_BYTES = 255;
/** Longest label (RFC 1035 §2.3.4). */
export const MAX_LABEL_BYTES = 63;
/** Most compression pointers followed while reading one name. */
export const MAX_POINTER_HOPS = 32;

const HEADER_BYTES = 12;
const FLAG_RESPONSE = 0x8000;
const FLAG_AUTHORITATIVE = 0x0400;
const FLAG_TRUNCATED = 0x0200;
const OPCODE_SHIFT = 11;
const OPCODE_MASK = 0xf;
const RCODE_MASK = 0xf;
const TOP_BIT = 0x8000;
const POINTER_TAG = 0xc0;
const POINTER_MAX_OFFSET = 0x3fff;
/** Smallest question: root name (1) + type (2) + class (2). */
const MIN_QUESTION_BYTES = 5;
/** Smallest record: root name (1) + type, class (4) + ttl (4) + rdlength (2). */
const MIN_RECORD_BYTES = 11;

/** One question. */
export interface DnsQuestion {
  /** The name asked about, e.g. `abc._pigeon._tcp.local`. */
  name: string;
  /** A {@link DNS_TYPE} code (or any other 16-bit type). */
  type: number;
  /** The class, normally {@link CLASS_IN}, without the QU bit. */
  class: number;
  /** The QU bit: the asker prefers a unicast reply (RFC 6762 §5.4). */
  unicastResponse: boolean;
}

/** Fields every resource record has. */
export interface DnsRecordBase {
  /** The owner name. */
  name: string;
  /** The class, normally {@link CLASS_IN}, without the cache-flush bit. */
  class: number;
  /** The cache-flush bit: this record replaces all others of its name and type (RFC 6762 §10.2). */
  cacheFlush: boolean;
  /** Seconds the record may be cached; 0 means goodbye (RFC 6762 §10.1). */
  ttl: number;
}

/** A resource record, by type. */
export type DnsRecord =
  | DnsRecordBase & { type: "A"; address: string }
  | DnsRecordBase & { type: "AAAA"; address: string }
  | DnsRecordBase & { type: "PTR"; target: string }
  | DnsRecordBase & {
    type: "SRV";
    priority: number;
    weight: number;
    port: number;
    target: string;
  }
  | DnsRecordBase & { type: "TXT"; strings: Uint8Array[] }
  | DnsRecordBase & { type: "OTHER"; code: number; data: Uint8Array };

/** A whole DNS message. */
export interface DnsMessage {
  /** Transaction id; 0 in multicast DNS. */
  id: number;
  /** QR: a response (true) or a query (false). */
  response: boolean;
  /** AA: authoritative answer (set on every multicast DNS response). */
  authoritative: boolean;
  /** TC: more known answers follow in another packet (RFC 6762 §7.2). */
  truncated: boolean;
  /** Opcode (0 = standard query; multicast DNS ignores messages with others). */
  opcode: number;
  /** Response code (0 = no error). */
  rcode: number;
  /** The question section. */
  questions: DnsQuestion[];
  /** The answer section (in a query: known answers, RFC 6762 §7.1). */
  answers: DnsRecord[];
  /** The authority section. */
  authorities: DnsRecord[];
  /** The additional section. */
  additionals: DnsRecord[];
}

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

/**
 * Encodes a message. Names are compressed; throws `PigeonError("BAD_ARGUMENT")`
 * for an empty or over-long label, an over-long name, a value out of range or a
 * message beyond {@link MAX_MESSAGE_BYTES}.
 */
export function encodeMessage(message: DnsMessage): Uint8Array {
  const w = new Writer();
  if (message.opcode < 0 || message.opcode > OPCODE_MASK) bad(`Bad opcode ${message.opcode}`);
  if (message.rcode < 0 || message.rcode > RCODE_MASK) bad(`Bad rcode ${message.rcode}`);
  const flags = (message.response ? FLAG_RESPONSE : 0) |
    (message.authoritative ? FLAG_AUTHORITATIVE : 0) |
    (message.truncated ? FLAG_TRUNCATED : 0) |
    (message.opcode << OPCODE_SHIFT) | message.rcode;
  w.u16(message.id);
  w.u16(flags);
  w.u16(message.questions.length);
  w.u16(message.answers.length);
  w.u16(message.authorities.length);
  w.u16(message.additionals.length);
  for (const q of message.questions) {
    w.name(q.name);
    w.u16(q.type);
    w.u16(classField(q.class, q.unicastResponse));
  }
  for (const r of [...message.answers, ...message.authorities, ...message.additionals]) {
    writeRecord(w, r);
  }
  const out = w.bytes();
  if (out.length > MAX_MESSAGE_BYTES) {
    bad(`Message of ${out.length} bytes exceeds ${MAX_MESSAGE_BYTES}`);
  }
  return out;
}

/**
 * Decodes a message; throws `PigeonError("DECODE_ERROR")` on anything
 * truncated, out of bounds, looping, over a limit, or with trailing bytes.
 */
export function decodeMessage(bytes: Uint8Array): DnsMessage {
  if (bytes.length > MAX_MESSAGE_BYTES) {
    malformed(`Message of ${bytes.length} bytes exceeds ${MAX_MESSAGE_BYTES}`);
  }
  const r = new Reader(bytes);
  const id = r.u16();
  const flags = r.u16();
  const qd = r.u16();
  const an = r.u16();
  const ns = r.u16();
  const ar = r.u16();
  const records = an + ns + ar;
  if (qd + records > MAX_RECORDS) malformed(`Message claims ${qd + records} entries`);
  if (qd * MIN_QUESTION_BYTES + records * MIN_RECORD_BYTES > bytes.length - HEADER_BYTES) {
    malformed(`Message of ${bytes.length} bytes cannot hold ${qd + records} entries`);
  }
  const questions: DnsQuestion[] = [];
  for (let i = 0; i < qd; i++) {
    const name = r.name();
    const type = r.u16();
    const cls = r.u16();
    questions.push({
      name,
      type,
      class: cls & ~TOP_BIT,
      unicastResponse: (cls & TOP_BIT) !== 0,
    });
  }
  const answers = readRecords(r, an);
  const authorities = readRecords(r, ns);
  const additionals = readRecords(r, ar);
  if (r.offset !== bytes.length) malformed(`${bytes.length - r.offset} trailing bytes`);
  return {
    id,
    response: (flags & FLAG_RESPONSE) !== 0,
    authoritative: (flags & FLAG_AUTHORITATIVE) !== 0,
    truncated: (flags & FLAG_TRUNCATED) !== 0,
    opcode: (flags >> OPCODE_SHIFT) & OPCODE_MASK,
    rcode: flags & RCODE_MASK,
    questions,
    answers,
    authorities,
    additionals,
  };
}

function readRecords(r: Reader, count: number): DnsRecord[] {
  const out: DnsRecord[] = [];
  for (let i = 0; i < count; i++) out.push(readRecord(r));
  return out;
}

function readRecord(r: Reader): DnsRecord {
  const name = r.name();
  const code = r.u16();
  const cls = r.u16();
  const ttl = r.u32();
  const length = r.u16();
  const end = r.offset + length;
  if (end > r.bytes.length) malformed(`Record data of ${length} bytes runs past the end`);
  const base: DnsRecordBase = {
    name,
    class: cls & ~TOP_BIT,
    cacheFlush: (cls & TOP_BIT) !== 0,
    ttl,
  };
  let record: DnsRecord;
  switch (code) {
    case DNS_TYPE.A:
      if (length !== 4) malformed(`A record of ${length} bytes`);
      record = { ...base, type: "A", address: r.take(4).join(".") };
      break;
    case DNS_TYPE.AAAA:
      if (length !== 16) malformed(`AAAA record of ${length} bytes`);
      record = { ...base, type: "AAAA", address: ipv6String(r.take(16)) };
      break;
    case DNS_TYPE.PTR:
      record = { ...base, type: "PTR", target: r.name(end) };
      break;
    case DNS_TYPE.SRV: {
      const priority = r.u16(end);
      const weight = r.u16(end);
      const port = r.u16(end);
      record = { ...base, type: "SRV", priority, weight, port, target: r.name(end) };
      break;
    }
    case DNS_TYPE.TXT: {
      const strings: Uint8Array[] = [];
      while (r.offset < end) {
        const n = r.u8(end);
        strings.push(r.take(n, end).slice());
      }
      record = { ...base, type: "TXT", strings };
      break;
    }
    default:
      record = { ...base, type: "OTHER", code, data: r.take(length).slice() };
  }
  if (r.offset !== end) malformed(`Record data of type ${code} has ${end - r.offset} extra bytes`);
  return record;
}

function writeRecord(w: Writer, record: DnsRecord): void {
  w.name(record.name);
  w.u16(typeCode(record));
  w.u16(classField(record.class, record.cacheFlush));
  if (!Number.isInteger(record.ttl) || record.ttl < 0 || record.ttl > 0xffffffff) {
    bad(`Bad TTL ${record.ttl}`);
  }
  w.u32(record.ttl);
  const lengthAt = w.reserve(2);
  const start = w.length;
  switch (record.type) {
    case "A":
      w.raw(ipv4Bytes(record.address));
      break;
    case "AAAA":
      w.raw(ipv6Bytes(record.address));
      break;
    case "PTR":
      w.name(record.target);
      break;
    case "SRV":
      w.u16(record.priority);
      w.u16(record.weight);
      w.u16(record.port);
      w.name(record.target);
      break;
    case "TXT":
      // RFC 6763 §6.1: an empty TXT record holds one empty string.
      for (const s of record.strings.length === 0 ? [new Uint8Array(0)] : record.strings) {
        if (s.length > 255) bad(`TXT string of ${s.length} bytes`);
        w.u8(s.length);
        w.raw(s);
      }
      break;
    case "OTHER":
      w.raw(record.data);
      break;
  }
  const length = w.length - start;
  if (length > 0xffff) bad(`Record data of ${length} bytes`);
  w.patchU16(lengthAt, length);
}

function typeCode(record: DnsRecord): number {
  return record.type === "OTHER" ? record.code : DNS_TYPE[record.type];
}

function classField(cls: number, topBit: boolean): number {
  if (!Number.isInteger(cls) || cls < 0 || cls > 0x7fff) bad(`Bad class ${cls}`);
  return cls | (topBit ? TOP_BIT : 0);
}

/** Dotted-quad text to 4 bytes; throws BAD_ARGUMENT otherwise. */
export function ipv4Bytes(address: string): Uint8Array {
  const parts = address.split(".");
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) {
    bad(`Not an IPv4 address: ${address}`);
  }
  return Uint8Array.from(parts, Number);
}

function ipv6Bytes(address: string): Uint8Array {
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

function ipv6String(bytes: Uint8Array): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return groups.join(":");
}

function malformed(message: string): never {
  throw new PigeonError("DECODE_ERROR", `Malformed DNS message: ${message}`);
}

function bad(message: string): never {
  throw new PigeonError("BAD_ARGUMENT", message);
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

/** A bounds-checked reader over one message. */
class Reader {
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
class Writer {
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
