/**
 * Hyperdrive 13 entries (SPEC g.2): the Hyperbee key of a path and the JSON
 * value describing the file.
 *
 * | part  | bytes                                                               |
 * |-------|---------------------------------------------------------------------|
 * | key   | `utf8("files") ‖ 0x00 ‖ utf8(path)` (sub-encoder prefix "files")    |
 * | value | UTF-8 JSON `{"executable","linkname","blob","metadata"}`, this order |
 * | blob  | `{"blockOffset","byteOffset","blockLength","byteLength"}`           |
 * |       | plus `"blockMap":true` for a block-mapped blob                      |
 *
 * Paths are normalised as hyperdrive does (resolved against `/`, `\` is a
 * separator, `.` and `..` resolved, leading `/`, no trailing `/`), except that
 * what hyperdrive would map in a surprising way is rejected with
 * `BAD_ARGUMENT`: NUL, unpaired UTF-16 surrogates, `..` above the root, a
 * relative path starting with `name:` (read as a drive letter or URL there),
 * the root itself, and paths over {@link MAX_PATH_BYTES}. Unicode is kept as
 * given (no NFC/NFD folding), so keys match what hyperdrive writes.
 *
 * @module
 */

import { PigeonError } from "../errors.ts";
import type { BlobId } from "./hyperblobs.ts";

/** Longest normalised path accepted, in UTF-8 bytes. */
export const MAX_PATH_BYTES = 4096;

/** A JSON value (entry metadata). */
export type JsonValue =
  | null
  | boolean
  | number
  | string
  | JsonValue[]
  | { [key: string]: JsonValue };

/** The value of a drive entry. */
export interface Entry {
  /** The file is executable. */
  executable: boolean;
  /** Target of a symlink, or null. */
  linkname: string | null;
  /** Where the content is, or null (symlinks). */
  blob: BlobId | null;
  /** User metadata, or null. */
  metadata: JsonValue | null;
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder("utf-8", { fatal: true });

/** The sub-encoder prefix of file keys: `files\0`. */
export const FILES_PREFIX: Uint8Array = Uint8Array.of(...textEncoder.encode("files"), 0);

function badPath(name: string, why: string): PigeonError {
  return new PigeonError("BAD_ARGUMENT", `Invalid path ${JSON.stringify(name)}: ${why}`);
}

function resolveSegments(name: string): string[] {
  if (typeof name !== "string") throw badPath(String(name), "not a string");
  if (name.includes("\0")) throw badPath(name, "contains NUL");
  if (!name.isWellFormed()) throw badPath(name, "contains an unpaired surrogate");
  const parts = name.split(/[/\\]/);
  const absolute = name.startsWith("/") || name.startsWith("\\");
  if (!absolute && parts.length > 1 && parts[0]!.endsWith(":")) {
    throw badPath(name, "starts with a drive letter or URL scheme");
  }
  const out: string[] = [];
  for (const part of parts) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length === 0) throw badPath(name, "'..' goes above the root");
      out.pop();
      continue;
    }
    out.push(part);
  }
  return out;
}

/**
 * The normalised form of a file path.
 *
 * @example
 * ```ts
 * import { normalizePath } from "./entry.ts";
 * if (normalizePath("dir\\..\\norm.txt") !== "/norm.txt") throw new Error("unexpected");
 * ```
 */
export function normalizePath(name: string): string {
  const segments = resolveSegments(name);
  if (segments.length === 0) throw badPath(name, "names the root, not a file");
  const path = "/" + segments.join("/");
  if (textEncoder.encode(path).byteLength > MAX_PATH_BYTES) {
    throw badPath(path.slice(0, 64) + "…", `longer than ${MAX_PATH_BYTES} bytes`);
  }
  return path;
}

/** The normalised form of a folder: `""` for the root, else like a file path. */
export function normalizeFolder(name: string): string {
  const segments = resolveSegments(name);
  return segments.length === 0 ? "" : normalizePath(name);
}

/** The Hyperbee key of a file path (normalised first). */
export function entryKey(name: string): Uint8Array {
  return rawEntryKey(normalizePath(name));
}

/** `files\0` + UTF-8 of `s`, without normalising (for range bounds). */
export function rawEntryKey(s: string): Uint8Array {
  const bytes = textEncoder.encode(s);
  const key = new Uint8Array(FILES_PREFIX.byteLength + bytes.byteLength);
  key.set(FILES_PREFIX);
  key.set(bytes, FILES_PREFIX.byteLength);
  return key;
}

/** The path of a Hyperbee key; throws `DECODE_ERROR` if it is not a file key. */
export function decodeEntryKey(key: Uint8Array): string {
  for (let i = 0; i < FILES_PREFIX.byteLength; i++) {
    if (key[i] !== FILES_PREFIX[i]) throw new PigeonError("DECODE_ERROR", "Not a file key");
  }
  try {
    return textDecoder.decode(key.subarray(FILES_PREFIX.byteLength));
  } catch (cause) {
    throw new PigeonError("DECODE_ERROR", "File key is not valid UTF-8", { cause });
  }
}

/**
 * Key bounds of every entry under `folder` (recursively), as hyperdrive's
 * `prefixRange`: greater than `folder + "/"`, less than `folder + "0"`.
 */
export function folderRange(folder: string): { gt: Uint8Array; lt: Uint8Array } {
  const base = normalizeFolder(folder);
  return { gt: rawEntryKey(base + "/"), lt: rawEntryKey(base + "0") };
}

/** A blob id as hyperblobs orders its JSON keys. */
function orderedBlob(blob: BlobId): BlobId {
  const out: BlobId = {
    blockOffset: blob.blockOffset,
    byteOffset: blob.byteOffset,
    blockLength: blob.blockLength,
    byteLength: blob.byteLength,
  };
  if (blob.blockMap) out.blockMap = true;
  return out;
}

/**
 * The value bytes of an entry, in hyperdrive's key order.
 *
 * @example A symlink
 * ```ts
 * import { encodeEntry } from "./entry.ts";
 * const v = encodeEntry({ executable: false, linkname: "/a", blob: null, metadata: null });
 * const want = '{"executable":false,"linkname":"/a","blob":null,"metadata":null}';
 * if (new TextDecoder().decode(v) !== want) throw new Error("unexpected");
 * ```
 */
export function encodeEntry(entry: Entry): Uint8Array {
  const value = {
    executable: entry.executable,
    linkname: entry.linkname,
    blob: entry.blob === null ? null : orderedBlob(entry.blob),
    metadata: entry.metadata,
  };
  return textEncoder.encode(JSON.stringify(value));
}

function isUint(n: unknown): n is number {
  return typeof n === "number" && Number.isSafeInteger(n) && n >= 0;
}

function decodeBlob(v: unknown): BlobId | null {
  if (v === null || v === undefined) return null;
  if (typeof v !== "object" || Array.isArray(v)) throw badValue("blob is not an object");
  const b = v as Record<string, unknown>;
  if (
    !isUint(b.blockOffset) || !isUint(b.byteOffset) || !isUint(b.blockLength) ||
    !isUint(b.byteLength)
  ) {
    throw badValue("blob fields are not unsigned integers");
  }
  const blob: BlobId = {
    blockOffset: b.blockOffset,
    byteOffset: b.byteOffset,
    blockLength: b.blockLength,
    byteLength: b.byteLength,
  };
  if (b.blockMap === true) blob.blockMap = true;
  return blob;
}

function badValue(why: string): PigeonError {
  return new PigeonError("DECODE_ERROR", `Bad drive entry: ${why}`);
}

/**
 * Decodes an entry value. Missing fields take hyperdrive's defaults; wrong
 * types throw `DECODE_ERROR`.
 */
export function decodeEntry(bytes: Uint8Array): Entry {
  let parsed: unknown;
  try {
    parsed = JSON.parse(textDecoder.decode(bytes));
  } catch (cause) {
    throw new PigeonError("DECODE_ERROR", "Drive entry is not UTF-8 JSON", { cause });
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw badValue("not a JSON object");
  }
  const v = parsed as Record<string, unknown>;
  const executable = v.executable ?? false;
  if (typeof executable !== "boolean") throw badValue("executable is not a boolean");
  const linkname = v.linkname ?? null;
  if (linkname !== null && typeof linkname !== "string") {
    throw badValue("linkname is not a string");
  }
  return {
    executable,
    linkname,
    blob: decodeBlob(v.blob),
    metadata: (v.metadata ?? null) as JsonValue | null,
  };
}
