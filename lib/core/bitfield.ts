/**
 * Which blocks a core holds: bit i (LSB first within byte i/8) is set when
 * block i is stored and verified. Kept in memory and mirrored to the
 * `bitfield` file byte for byte.
 *
 * @module
 */

import type { RandomAccess } from "./storage.ts";

/** A growable bit set of stored blocks, persisted to a file. */
export class Bitfield {
  #bits: Uint8Array;
  readonly #file: RandomAccess;

  /** Loads the bits from `file`. */
  constructor(file: RandomAccess) {
    this.#file = file;
    this.#bits = file.read(0, file.size());
  }

  /** True iff block `index` is marked present. */
  get(index: number): boolean {
    const byte = this.#bits[Math.floor(index / 8)];
    return byte !== undefined && (byte & (1 << (index % 8))) !== 0;
  }

  /** Marks blocks `[start, end)` present (or absent) and writes the changed bytes. */
  setRange(start: number, end: number, value: boolean): void {
    if (end <= start) return;
    const first = Math.floor(start / 8);
    const last = Math.floor((end - 1) / 8);
    this.#grow(last + 1);
    for (let i = start; i < end; i++) {
      const at = Math.floor(i / 8);
      if (value) this.#bits[at]! |= 1 << (i % 8);
      else this.#bits[at]! &= ~(1 << (i % 8));
    }
    this.#file.write(first, this.#bits.subarray(first, last + 1));
  }

  /** Clears every bit at or above `index` (uncommitted blocks after a crash). */
  clearFrom(index: number): void {
    const end = this.#bits.byteLength * 8;
    if (index < end) this.setRange(index, end, false);
  }

  /** Length of the run of present blocks starting at 0. */
  contiguousLength(): number {
    let i = 0;
    while (i < this.#bits.byteLength && this.#bits[i] === 0xff) i++;
    let n = i * 8;
    while (this.get(n)) n++;
    return n;
  }

  /** Number of present blocks in `[start, end)`. */
  count(start: number, end: number): number {
    let n = 0;
    for (let i = start; i < end; i++) if (this.get(i)) n++;
    return n;
  }

  /** The first index ≥ `from` whose bit equals `value`, or -1 below `limit`. */
  findFirst(value: boolean, from: number, limit: number): number {
    for (let i = from; i < limit; i++) if (this.get(i) === value) return i;
    return -1;
  }

  #grow(bytes: number): void {
    if (bytes <= this.#bits.byteLength) return;
    const grown = new Uint8Array(Math.max(bytes, this.#bits.byteLength * 2));
    grown.set(this.#bits);
    this.#bits = grown;
  }
}
