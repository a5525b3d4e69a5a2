// Poly1305 (RFC 8439 §2.5) with five 26-bit limbs and 64-bit products: the
// accumulator h and the clamped key r are numbers mod 2^130 − 5 written as
// h0 + h1·2^26 + h2·2^52 + h3·2^78 + h4·2^104. Reducing 2^130 ≡ 5 lets the
// high partial products fold in as multiples of s_i = 5·r_i.

/** Bytes not yet absorbed (less than one 16-byte block). */
const PENDING: usize = memory.data(16, 16);
/** Sixteen zero bytes for padding. */
const ZEROS: usize = memory.data(16, 16);

const MASK26: u64 = 0x3ffffff;

let r0: u64 = 0, r1: u64 = 0, r2: u64 = 0, r3: u64 = 0, r4: u64 = 0;
let h0: u64 = 0, h1: u64 = 0, h2: u64 = 0, h3: u64 = 0, h4: u64 = 0;
let pad0: u64 = 0, pad1: u64 = 0, pad2: u64 = 0, pad3: u64 = 0;
let pendingLen: i32 = 0;

/** Starts a MAC with the 32-byte one-time key at `key` (r is clamped, §2.5.1). */
export function poly_init(key: usize): void {
  r0 = <u64>(load<u32>(key, 0) & 0x3ffffff);
  r1 = <u64>((load<u32>(key, 3) >> 2) & 0x3ffff03);
  r2 = <u64>((load<u32>(key, 6) >> 4) & 0x3ffc0ff);
  r3 = <u64>((load<u32>(key, 9) >> 6) & 0x3f03fff);
  r4 = <u64>((load<u32>(key, 12) >> 8) & 0x00fffff);
  h0 = 0; h1 = 0; h2 = 0; h3 = 0; h4 = 0;
  pad0 = <u64>load<u32>(key, 16);
  pad1 = <u64>load<u32>(key, 20);
  pad2 = <u64>load<u32>(key, 24);
  pad3 = <u64>load<u32>(key, 28);
  pendingLen = 0;
}

/**
 * h = (h + block) · r mod 2^130 − 5 for each full 16-byte block of
 * `blocks · 16` bytes at `m`; `hibit` is 2^128 as limb 4's bit 24 (1 for full
 * blocks, 0 for the padded last block).
 */
function absorb(m: usize, blocks: usize, hibit: u64): void {
  const s1 = r1 * 5, s2 = r2 * 5, s3 = r3 * 5, s4 = r4 * 5;
  const R0 = r0, R1 = r1, R2 = r2, R3 = r3, R4 = r4;
  let a0 = h0, a1 = h1, a2 = h2, a3 = h3, a4 = h4;
  for (let i: usize = 0; i < blocks; i++) {
    a0 += <u64>load<u32>(m, 0) & MASK26;
    a1 += (<u64>load<u32>(m, 3) >> 2) & MASK26;
    a2 += (<u64>load<u32>(m, 6) >> 4) & MASK26;
    a3 += (<u64>load<u32>(m, 9) >> 6) & MASK26;
    a4 += (<u64>load<u32>(m, 12) >> 8) | (hibit << 24);
    const d0 = a0 * R0 + a1 * s4 + a2 * s3 + a3 * s2 + a4 * s1;
    let d1 = a0 * R1 + a1 * R0 + a2 * s4 + a3 * s3 + a4 * s2;
    let d2 = a0 * R2 + a1 * R1 + a2 * R0 + a3 * s4 + a4 * s3;
    let d3 = a0 * R3 + a1 * R2 + a2 * R1 + a3 * R0 + a4 * s4;
    let d4 = a0 * R4 + a1 * R3 + a2 * R2 + a3 * R1 + a4 * R0;
    d1 += d0 >> 26; a0 = d0 & MASK26;
    d2 += d1 >> 26; a1 = d1 & MASK26;
    d3 += d2 >> 26; a2 = d2 & MASK26;
    d4 += d3 >> 26; a3 = d3 & MASK26;
    a0 += (d4 >> 26) * 5; a4 = d4 & MASK26;
    a1 += a0 >> 26; a0 &= MASK26;
    m += 16;
  }
  h0 = a0; h1 = a1; h2 = a2; h3 = a3; h4 = a4;
}

/** Absorbs `len` bytes at `m`. */
export function poly_update(m: usize, len: usize): void {
  if (pendingLen > 0) {
    const want = <usize>(16 - pendingLen);
    const take = len < want ? len : want;
    memory.copy(PENDING + <usize>pendingLen, m, take);
    pendingLen += <i32>take;
    m += take;
    len -= take;
    if (pendingLen < 16) return;
    absorb(PENDING, 1, 1);
    pendingLen = 0;
  }
  const blocks = len >> 4;
  if (blocks > 0) absorb(m, blocks, 1);
  const rest = len & 15;
  if (rest > 0) {
    memory.copy(PENDING, m + (blocks << 4), rest);
    pendingLen = <i32>rest;
  }
}

/** Absorbs `len` zero bytes (`len` ≤ 16), as AEAD padding does. */
export function poly_zeros(len: usize): void {
  poly_update(ZEROS, len);
}

/** Finishes the MAC and writes the 16-byte tag at `out`. */
export function poly_final(out: usize): void {
  if (pendingLen > 0) {
    store<u8>(PENDING + <usize>pendingLen, 1);
    memory.fill(PENDING + <usize>pendingLen + 1, 0, <usize>(15 - pendingLen));
    absorb(PENDING, 1, 0);
    pendingLen = 0;
  }
  // Full carry of h.
  let c: u64;
  c = h1 >> 26; h1 &= MASK26; h2 += c;
  c = h2 >> 26; h2 &= MASK26; h3 += c;
  c = h3 >> 26; h3 &= MASK26; h4 += c;
  c = h4 >> 26; h4 &= MASK26; h0 += c * 5;
  c = h0 >> 26; h0 &= MASK26; h1 += c;
  // g = h + 5 − 2^130; take g when it did not go negative (h ≥ p).
  let g0 = h0 + 5; c = g0 >> 26; g0 &= MASK26;
  let g1 = h1 + c; c = g1 >> 26; g1 &= MASK26;
  let g2 = h2 + c; c = g2 >> 26; g2 &= MASK26;
  let g3 = h3 + c; c = g3 >> 26; g3 &= MASK26;
  const g4 = h4 + c - (<u64>1 << 26);
  const useG: u64 = (g4 >> 63) - 1; // all ones when g4 ≥ 0
  h0 = (h0 & ~useG) | (g0 & useG);
  h1 = (h1 & ~useG) | (g1 & useG);
  h2 = (h2 & ~useG) | (g2 & useG);
  h3 = (h3 & ~useG) | (g3 & useG);
  h4 = (h4 & ~useG) | (g4 & useG);
  // h mod 2^128 as four 32-bit words, plus the pad (s), mod 2^128.
  const w0 = (h0 | (h1 << 26)) & 0xffffffff;
  const w1 = ((h1 >> 6) | (h2 << 20)) & 0xffffffff;
  const w2 = ((h2 >> 12) | (h3 << 14)) & 0xffffffff;
  const w3 = ((h3 >> 18) | (h4 << 8)) & 0xffffffff;
  let f = w0 + pad0;
  store<u32>(out, <u32>f, 0);
  f = w1 + pad1 + (f >> 32);
  store<u32>(out, <u32>f, 4);
  f = w2 + pad2 + (f >> 32);
  store<u32>(out, <u32>f, 8);
  f = w3 + pad3 + (f >> 32);
  store<u32>(out, <u32>f, 12);
}
