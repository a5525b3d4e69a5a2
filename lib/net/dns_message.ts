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

import {
  bad,
  ipv4Bytes,
  ipv6Bytes,
  ipv6String,
  malformed,
  MAX_LABEL_BYTES,
  MAX_NAME_BYTES,
  MAX_POINTER_HOPS,
  Reader,
  Writer,
} from "./_dns_wire.ts";

export { asciiLower, ipv4Bytes, joinLabels, nameEquals, nameLabels } from "./_dns_wire.ts";
export { MAX_LABEL_BYTES, MAX_NAME_BYTES, MAX_POINTER_HOPS };

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

const HEADER_BYTES = 12;
const FLAG_RESPONSE = 0x8000;
const FLAG_AUTHORITATIVE = 0x0400;
const FLAG_TRUNCATED = 0x0200;
const OPCODE_SHIFT = 11;
const OPCODE_MASK = 0xf;
const RCODE_MASK = 0xf;
const TOP_BIT = 0x8000;
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
