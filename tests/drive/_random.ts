/**
 * A small seeded PRNG (xorshift32) so property tests are reproducible: a
 * failure message names the seed.
 *
 * @module
 */

/** Deterministic pseudo-random numbers from a 32-bit seed. */
export class Random {
  #state: number;

  /** A generator starting from `seed` (non-zero). */
  constructor(seed: number) {
    this.#state = seed >>> 0 || 1;
  }

  /** A uniform 32-bit unsigned integer. */
  u32(): number {
    let x = this.#state;
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#state = x >>> 0;
    return this.#state;
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return this.u32() % n;
  }

  /** `n` random bytes. */
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.u32() & 0xff;
    return out;
  }
}
