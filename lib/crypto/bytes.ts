/**
 * Small byte helpers shared by every layer.
 *
 * @module
 */

/** Lowercase hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i++) out += HEX[bytes[i]!];
  return out;
}

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** Bytes of a hex string; throws `RangeError` on odd length or a non-hex digit. */
export function fromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0) throw new RangeError(`Hex string has odd length ${hex.length}`);
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) {
    const pair = hex.slice(i * 2, i * 2 + 2);
    if (!HEX_PAIR.test(pair)) throw new RangeError(`Not a hex digit pair at ${i * 2}: ${pair}`);
    out[i] = Number.parseInt(pair, 16);
  }
  return out;
}

const HEX_PAIR = /^[0-9a-fA-F]{2}$/;

/** Concatenation of `parts` into a new buffer. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const p of parts) size += p.byteLength;
  const out = new Uint8Array(size);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.byteLength;
  }
  return out;
}

/** Byte equality; not constant-time (use {@link timingSafeEqual} for secrets and MACs). */
export function equals(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Constant-time equality for MACs, capabilities and keys. */
export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  let diff = 0;
  for (let i = 0; i < a.byteLength; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** Writes `n` (0 … 2^53−1) as 8 bytes little endian at `offset`. */
export function writeU64le(out: Uint8Array, offset: number, n: number): void {
  const low = n >>> 0;
  const high = Math.floor(n / 0x100000000);
  out[offset] = low;
  out[offset + 1] = low >>> 8;
  out[offset + 2] = low >>> 16;
  out[offset + 3] = low >>> 24;
  out[offset + 4] = high;
  out[offset + 5] = high >>> 8;
  out[offset + 6] = high >>> 16;
  out[offset + 7] = high >>> 24;
}

/** Reads 8 bytes little endian at `offset` as a number (must be ≤ 2^53−1). */
export function readU64le(bytes: Uint8Array, offset: number): number {
  const low = (bytes[offset]! | (bytes[offset + 1]! << 8) | (bytes[offset + 2]! << 16)) +
    bytes[offset + 3]! * 0x1000000;
  const high = (bytes[offset + 4]! | (bytes[offset + 5]! << 8) | (bytes[offset + 6]! << 16)) +
    bytes[offset + 7]! * 0x1000000;
  return high * 0x100000000 + low;
}
