/**
 * An in-memory set of block indexes: what a remote peer says it holds.
 * A contiguous prefix is kept as a number (the common case: a full peer
 * announces `range {0, length}`), anything else as bits.
 *
 * @module
 */

/** Largest index a remote may make us track bit by bit (bounds memory at 16 MiB). */
export const MAX_TRACKED_BLOCK = 2 ** 27;

/** Blocks a peer holds. */
export class BlockSet {
  #prefix = 0;
  #bits = new Uint8Array(0);

  /** True iff block `index` is in the set. */
  has(index: number): boolean {
    if (index < this.#prefix) return true;
    const byte = this.#bits[index >>> 3];
    return byte !== undefined && (byte & (1 << (index & 7))) !== 0;
  }

  /** Adds (or removes) blocks `[start, start + length)`. */
  set(start: number, length: number, value: boolean): void {
    if (length <= 0 || start < 0) return;
    const end = Math.min(start + length, MAX_TRACKED_BLOCK);
    if (value && start <= this.#prefix) {
      this.#prefix = Math.max(this.#prefix, end);
      this.#absorb();
      return;
    }
    if (!value && start < this.#prefix) {
      // Spill the prefix into bits before clearing part of it.
      this.#setBits(0, this.#prefix, true);
      this.#prefix = 0;
    }
    this.#setBits(start, end, value);
    if (value) this.#absorb();
  }

  /** Adds the set bits of a `bitfield` message window. */
  setWords(start: number, words: Uint32Array): void {
    for (let w = 0; w < words.length; w++) {
      const word = words[w]!;
      if (word === 0) continue;
      for (let j = 0; j < 32; j++) if (word & (1 << j)) this.set(start + w * 32 + j, 1, true);
    }
  }

  /** The run of held blocks from 0. */
  get contiguous(): number {
    return this.#prefix;
  }

  #setBits(start: number, end: number, value: boolean): void {
    if (end <= start) return;
    const need = ((end - 1) >>> 3) + 1;
    if (need > this.#bits.length) {
      const grown = new Uint8Array(Math.max(need, this.#bits.length * 2));
      grown.set(this.#bits);
      this.#bits = grown;
    }
    // Bit by bit only at the ragged ends; whole bytes in one fill, so a remote's
    // range of 2^27 blocks costs a memset, not 2^27 loop steps.
    let i = start;
    for (; i < end && (i & 7) !== 0; i++) this.#setBit(i, value);
    const wholeEnd = end - (end & 7);
    if (i < wholeEnd) {
      this.#bits.fill(value ? 0xff : 0, i >>> 3, wholeEnd >>> 3);
      i = wholeEnd;
    }
    for (; i < end; i++) this.#setBit(i, value);
  }

  #setBit(i: number, value: boolean): void {
    if (value) this.#bits[i >>> 3]! |= 1 << (i & 7);
    else this.#bits[i >>> 3]! &= ~(1 << (i & 7));
  }

  #absorb(): void {
    const bits = this.#bits;
    const words = new Uint32Array(bits.buffer, 0, bits.length >>> 2);
    let prefix = this.#prefix;
    while (prefix < MAX_TRACKED_BLOCK) {
      const at = prefix >>> 3;
      if (at >= bits.length) break;
      if ((prefix & 31) === 0 && words[prefix >>> 5] === 0xffffffff) {
        prefix += 32;
      } else if ((prefix & 7) === 0 && bits[at] === 0xff) {
        prefix += 8;
      } else if ((bits[at]! & (1 << (prefix & 7))) !== 0) {
        prefix++;
      } else {
        break;
      }
    }
    this.#prefix = Math.min(prefix, MAX_TRACKED_BLOCK);
  }
}
