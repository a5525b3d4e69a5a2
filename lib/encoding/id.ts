/**
 * Text forms of 32-byte keys: z-base-32 (the id Hypercore prints) and hex.
 *
 * SPEC c.7: `core.id` is the z-base-32 form of the 32-byte key, alphabet
 * `ybndrfg8ejkmcpqxot1uwisza345h769`, bits taken most significant first in
 * 5-bit groups, the final group padded with zero bits, no padding characters,
 * so a 32-byte key is always 52 characters. hypercore-id-encoding's `decode`
 * also takes 64 hex digits and strips a `pear://` prefix; {@link decodeKey}
 * does the same and strips `hyper://` too.
 *
 * | input                          | example                  |
 * |--------------------------------|--------------------------|
 * | 52 z-base-32 characters        | `iqi4zk7m…miqio`         |
 * | 64 hex digits (either case)    | `abab…abab`              |
 * | `hyper://` or `pear://` + key  | `hyper://iqi4…` (the part before the next `/` or `+`) |
 *
 * This module imports nothing of pigeon's but `errors.ts`.
 *
 * @module
 */

import { PigeonError } from "../errors.ts";

/** The z-base-32 alphabet (SPEC c.7). */
export const Z32_ALPHABET = "ybndrfg8ejkmcpqxot1uwisza345h769";

/** Bytes in a public key, discovery key or hash id. */
export const KEY_BYTES = 32;

/** Characters in the z-base-32 form of a 32-byte key: ceil(256 / 5). */
export const Z32_KEY_CHARS = 52;

/** Characters in the hex form of a 32-byte key. */
export const HEX_KEY_CHARS = 64;

/** The longest string {@link decodeKey} looks at; longer input is rejected unread. */
export const MAX_KEY_INPUT_CHARS = 1024;

const BITS_PER_CHAR = 5;
const CHAR_MASK = 0b11111;

/** Value of each z32 character by char code, -1 where the character is not in the alphabet. */
const Z32_VALUE: Int8Array = (() => {
  const table = new Int8Array(128).fill(-1);
  for (let i = 0; i < Z32_ALPHABET.length; i++) table[Z32_ALPHABET.charCodeAt(i)] = i;
  return table;
})();

const HEX_DIGITS = "0123456789abcdef";

/**
 * z-base-32 text of `bytes` (SPEC c.7): 5-bit groups most significant bit
 * first, the last group padded with zero bits, no padding characters.
 *
 * @example
 * ```ts
 * import { z32Encode } from "./id.ts";
 * if (z32Encode(new Uint8Array([0xf0])) !== "6y") throw new Error("unexpected");
 * ```
 */
export function z32Encode(bytes: Uint8Array): string {
  let out = "";
  let acc = 0; // pending bits, right-aligned
  let bits = 0; // how many pending bits are in acc
  for (let i = 0; i < bytes.length; i++) {
    acc = ((acc << 8) | (bytes[i] ?? 0)) & 0xfff; // at most 4 + 8 pending bits matter
    bits += 8;
    while (bits >= BITS_PER_CHAR) {
      bits -= BITS_PER_CHAR;
      out += Z32_ALPHABET[(acc >>> bits) & CHAR_MASK];
    }
  }
  if (bits > 0) out += Z32_ALPHABET[(acc << (BITS_PER_CHAR - bits)) & CHAR_MASK];
  return out;
}

/**
 * Bytes of a z-base-32 string made by {@link z32Encode}.
 *
 * Strict: every character must be in the (lowercase) alphabet, the length must
 * be one a byte string encodes to, and the padding bits must be zero, so every
 * byte string has exactly one text form. (The reference `z32` package ignores
 * padding bits; every id it prints has them zero, so no real id is refused.)
 *
 * @throws {PigeonError} `INVALID_LINK` naming the bad input.
 */
export function z32Decode(text: string): Uint8Array {
  const result = z32DecodeOrWhy(text);
  if (typeof result === "string") throw invalid(text, result);
  return result;
}

/** Bytes of `text`, or why it is not z-base-32. */
function z32DecodeOrWhy(text: string): Uint8Array | string {
  const byteLength = Math.floor((text.length * BITS_PER_CHAR) / 8);
  // A valid length is one that some byte count encodes to.
  if (Math.ceil((byteLength * 8) / BITS_PER_CHAR) !== text.length) {
    return `a z-base-32 string cannot have ${text.length} characters`;
  }
  const out = new Uint8Array(byteLength);
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    const value = code < 128 ? (Z32_VALUE[code] ?? -1) : -1;
    if (value < 0) return `character ${JSON.stringify(text[i])} at ${i} is not z-base-32`;
    acc = ((acc << BITS_PER_CHAR) | value) & 0xfff;
    bits += BITS_PER_CHAR;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >>> bits) & 0xff;
    }
  }
  if ((acc & ((1 << bits) - 1)) !== 0) return "its last character has non-zero padding bits";
  return out;
}

/** Lowercase hex of `bytes`. */
export function hexEncode(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] ?? 0;
    out += HEX_DIGITS[b >>> 4]! + HEX_DIGITS[b & 0xf]!;
  }
  return out;
}

/**
 * Bytes of a hex string (either case).
 *
 * @throws {PigeonError} `INVALID_LINK` on odd length or a non-hex character.
 */
export function hexDecode(text: string): Uint8Array {
  const result = hexDecodeOrWhy(text);
  if (typeof result === "string") throw invalid(text, result);
  return result;
}

/** Bytes of `text`, or why it is not hex. */
function hexDecodeOrWhy(text: string): Uint8Array | string {
  if (text.length % 2 !== 0) return `hex has odd length ${text.length}`;
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < text.length; i += 2) {
    const hi = hexValue(text.charCodeAt(i));
    const lo = hexValue(text.charCodeAt(i + 1));
    if (hi < 0 || lo < 0) {
      const at = hi < 0 ? i : i + 1;
      return `character ${JSON.stringify(text[at])} at ${at} is not hex`;
    }
    out[i / 2] = (hi << 4) | lo;
  }
  return out;
}

function hexValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48; // 0-9
  if (code >= 97 && code <= 102) return code - 87; // a-f
  if (code >= 65 && code <= 70) return code - 55; // A-F
  return -1;
}

/**
 * The id of a 32-byte key: its 52-character z-base-32 form (SPEC c.7).
 *
 * @throws {PigeonError} `BAD_ARGUMENT` when `key` is not 32 bytes.
 */
export function encodeKey(key: Uint8Array): string {
  if (key.byteLength !== KEY_BYTES) {
    throw new PigeonError("BAD_ARGUMENT", `A key has ${KEY_BYTES} bytes, got ${key.byteLength}`);
  }
  return z32Encode(key);
}

/**
 * The 32-byte key in `input`: 52 z-base-32 characters or 64 hex digits,
 * optionally after `hyper://` or `pear://` (then only the part before the next
 * `/` or `+` is read). A `Uint8Array` must be 32 bytes and is copied.
 *
 * @example
 * ```ts
 * import { decodeKey, hexEncode } from "./id.ts";
 * const key = decodeKey("iqi4zk7miqi4zk7miqi4zk7miqi4zk7miqi4zk7miqi4zk7miqio");
 * if (hexEncode(key) !== "ab".repeat(32)) throw new Error("unexpected");
 * ```
 *
 * @throws {PigeonError} `INVALID_LINK` naming the input when it is not a key.
 */
export function decodeKey(input: string | Uint8Array): Uint8Array {
  if (input instanceof Uint8Array) {
    if (input.byteLength !== KEY_BYTES) {
      throw new PigeonError(
        "INVALID_LINK",
        `A key has ${KEY_BYTES} bytes, got ${input.byteLength}`,
      );
    }
    return input.slice();
  }
  if (typeof input !== "string") {
    throw new PigeonError("INVALID_LINK", `Not a key: ${typeof input}`);
  }
  if (input.length > MAX_KEY_INPUT_CHARS) {
    throw new PigeonError(
      "INVALID_LINK",
      `Not a key: input is ${input.length} characters long (at most ${MAX_KEY_INPUT_CHARS})`,
    );
  }
  const text = stripScheme(input);
  let result: Uint8Array | string;
  if (text.length === Z32_KEY_CHARS) result = z32DecodeOrWhy(text);
  else if (text.length === HEX_KEY_CHARS) result = hexDecodeOrWhy(text);
  else {
    result = `want ${Z32_KEY_CHARS} z-base-32 characters or ${HEX_KEY_CHARS} hex digits, ` +
      `got ${text.length} characters`;
  }
  if (typeof result === "string") {
    throw new PigeonError("INVALID_LINK", `Not a key: ${quote(input)} (${result})`);
  }
  return result;
}

/** `input` without a `hyper://` / `pear://` prefix and anything after the key. */
function stripScheme(input: string): string {
  const lower = input.slice(0, 8).toLowerCase();
  let rest: string;
  if (lower.startsWith("hyper://")) rest = input.slice(8);
  else if (lower.startsWith("pear://")) rest = input.slice(7);
  else return input;
  const end = rest.search(/[/+]/);
  return end < 0 ? rest : rest.slice(0, end);
}

function invalid(text: string, why: string): PigeonError {
  return new PigeonError("INVALID_LINK", `Not a valid id ${quote(text)}: ${why}`);
}

/** JSON-quoted `text`, shortened so an error message stays one readable line. */
export function quote(text: string, max = 80): string {
  return JSON.stringify(text.length > max ? text.slice(0, max) + "…" : text);
}
