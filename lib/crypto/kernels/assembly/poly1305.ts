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
/** r^2 mod 2^130 − 5 in the same limbs, for the two-lane SIMD path. */
let q0: u64 = 0, q1: u64 = 0, q2: u64 = 0, q3: u64 = 0, q4: u64 = 0;

/** Block pairs from which the two-lane SIMD path is used (below it the set-up does not pay). */
const SIMD_MIN_PAIRS: usize = 4;

/** Starts a MAC with the 32-byte one-time key at `key` (r is clamped, §2.5.1). */
export function poly_init(key: usize): void {
  r0 = <u64>(load<u32>(key, 0) & 0x3ffffff);
  r1 = <u64>((load<u32>(key, 3) >> 2) & 0x3ffff03);
  r2 = <u64>((load<u32>(key, 6) >> 4) & 0x3ffc0ff);
  r3 = <u64>((load<u32>(key, 9) >> 6) & 0x3f03fff);
  r4 = <u64>((load<u32>(key, 12) >> 8) & 0x00fffff);
  h0 = 0; h1 = 0; h2 = 0; h3 = 0; h4 = 0;
  // r^2 = r · r with the limb product and carry of absorb().
  const s1 = r1 * 5, s2 = r2 * 5, s3 = r3 * 5, s4 = r4 * 5;
  const d0 = r0 * r0 + r1 * s4 + r2 * s3 + r3 * s2 + r4 * s1;
  let d1 = r0 * r1 + r1 * r0 + r2 * s4 + r3 * s3 + r4 * s2;
  let d2 = r0 * r2 + r1 * r1 + r2 * r0 + r3 * s4 + r4 * s3;
  let d3 = r0 * r3 + r1 * r2 + r2 * r1 + r3 * r0 + r4 * s4;
  let d4 = r0 * r4 + r1 * r3 + r2 * r2 + r3 * r1 + r4 * r0;
  d1 += d0 >> 26; q0 = d0 & MASK26;
  d2 += d1 >> 26; q1 = d1 & MASK26;
  d3 += d2 >> 26; q2 = d2 & MASK26;
  d4 += d3 >> 26; q3 = d3 & MASK26;
  q0 += (d4 >> 26) * 5; q4 = d4 & MASK26;
  q1 += q0 >> 26; q0 &= MASK26;
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

/** The low 32 bits of both u64 lanes, in i32 lanes 0 and 1 (for extmul_low). */
@inline function lo32(x: v128): v128 {
  return i32x4.shuffle(x, x, 0, 2, 0, 2);
}

/** Lane-wise u64 product of the low 32 bits of each lane of `a` (i32 lanes 0, 1) and `b`. */
@inline function mul(a: v128, b: v128): v128 {
  return i64x2.extmul_low_i32x4_u(a, b);
}

/**
 * `2 · pairs` full blocks at `m`, two lanes at a time: lane 0 takes blocks
 * 1, 3, 5…, lane 1 blocks 2, 4, 6…, each multiplied by r^2 per step except
 * the last step, which multiplies lane 0 by r^2 and lane 1 by r. Then
 * lane 0 + lane 1 is exactly the one-lane Horner result
 * (h + m1)·r^2k + m2·r^(2k−1) + … + m2k·r.
 */
function absorb2(m: usize, pairs: usize): void {
  const mask = i64x2.splat(MASK26);
  const hibit = i64x2.splat(<u64>1 << 24);
  // Multipliers: all steps but the last use r^2 in both lanes.
  const A0 = lo32(i64x2.splat(q0)), A1 = lo32(i64x2.splat(q1)), A2 = lo32(i64x2.splat(q2));
  const A3 = lo32(i64x2.splat(q3)), A4 = lo32(i64x2.splat(q4));
  const T1 = lo32(i64x2.splat(q1 * 5)), T2 = lo32(i64x2.splat(q2 * 5));
  const T3 = lo32(i64x2.splat(q3 * 5)), T4 = lo32(i64x2.splat(q4 * 5));
  let a0 = i64x2(h0, 0), a1 = i64x2(h1, 0), a2 = i64x2(h2, 0), a3 = i64x2(h3, 0), a4 = i64x2(h4, 0);
  let R0 = A0, R1 = A1, R2 = A2, R3 = A3, R4 = A4, S1 = T1, S2 = T2, S3 = T3, S4 = T4;
  for (let i: usize = 0; i < pairs; i++) {
    if (i + 1 == pairs) {
      // Last step: lane 1 by r instead of r^2.
      R0 = lo32(i64x2(q0, r0)); R1 = lo32(i64x2(q1, r1)); R2 = lo32(i64x2(q2, r2));
      R3 = lo32(i64x2(q3, r3)); R4 = lo32(i64x2(q4, r4));
      S1 = lo32(i64x2(q1 * 5, r1 * 5)); S2 = lo32(i64x2(q2 * 5, r2 * 5));
      S3 = lo32(i64x2(q3 * 5, r3 * 5)); S4 = lo32(i64x2(q4 * 5, r4 * 5));
    }
    // Limbs of both blocks at once: lo = bytes 0..7, hi = bytes 8..15 of each block.
    const va = v128.load(m), vb = v128.load(m, 16);
    const lo = v128.shuffle<u64>(va, vb, 0, 2);
    const hi = v128.shuffle<u64>(va, vb, 1, 3);
    a0 = i64x2.add(a0, v128.and(lo, mask));
    a1 = i64x2.add(a1, v128.and(i64x2.shr_u(lo, 26), mask));
    a2 = i64x2.add(a2, v128.and(v128.or(i64x2.shr_u(lo, 52), i64x2.shl(hi, 12)), mask));
    a3 = i64x2.add(a3, v128.and(i64x2.shr_u(hi, 14), mask));
    a4 = i64x2.add(a4, v128.or(i64x2.shr_u(hi, 40), hibit));
    const b0 = lo32(a0), b1 = lo32(a1), b2 = lo32(a2), b3 = lo32(a3), b4 = lo32(a4);
    const d0 = i64x2.add(i64x2.add(i64x2.add(i64x2.add(mul(b0, R0), mul(b1, S4)), mul(b2, S3)), mul(b3, S2)), mul(b4, S1));
    let d1 = i64x2.add(i64x2.add(i64x2.add(i64x2.add(mul(b0, R1), mul(b1, R0)), mul(b2, S4)), mul(b3, S3)), mul(b4, S2));
    let d2 = i64x2.add(i64x2.add(i64x2.add(i64x2.add(mul(b0, R2), mul(b1, R1)), mul(b2, R0)), mul(b3, S4)), mul(b4, S3));
    let d3 = i64x2.add(i64x2.add(i64x2.add(i64x2.add(mul(b0, R3), mul(b1, R2)), mul(b2, R1)), mul(b3, R0)), mul(b4, S4));
    let d4 = i64x2.add(i64x2.add(i64x2.add(i64x2.add(mul(b0, R4), mul(b1, R3)), mul(b2, R2)), mul(b3, R1)), mul(b4, R0));
    d1 = i64x2.add(d1, i64x2.shr_u(d0, 26)); a0 = v128.and(d0, mask);
    d2 = i64x2.add(d2, i64x2.shr_u(d1, 26)); a1 = v128.and(d1, mask);
    d3 = i64x2.add(d3, i64x2.shr_u(d2, 26)); a2 = v128.and(d2, mask);
    d4 = i64x2.add(d4, i64x2.shr_u(d3, 26)); a3 = v128.and(d3, mask);
    const c = i64x2.shr_u(d4, 26);
    a4 = v128.and(d4, mask);
    a0 = i64x2.add(a0, i64x2.add(i64x2.shl(c, 2), c));
    a1 = i64x2.add(a1, i64x2.shr_u(a0, 26));
    a0 = v128.and(a0, mask);
    m += 32;
  }
  // h = lane 0 + lane 1, then one carry pass back to 26-bit limbs.
  let e0 = i64x2.extract_lane(a0, 0) + i64x2.extract_lane(a0, 1);
  let e1 = i64x2.extract_lane(a1, 0) + i64x2.extract_lane(a1, 1);
  let e2 = i64x2.extract_lane(a2, 0) + i64x2.extract_lane(a2, 1);
  let e3 = i64x2.extract_lane(a3, 0) + i64x2.extract_lane(a3, 1);
  let e4 = i64x2.extract_lane(a4, 0) + i64x2.extract_lane(a4, 1);
  e1 += e0 >> 26; e0 &= MASK26;
  e2 += e1 >> 26; e1 &= MASK26;
  e3 += e2 >> 26; e2 &= MASK26;
  e4 += e3 >> 26; e3 &= MASK26;
  e0 += (e4 >> 26) * 5; e4 &= MASK26;
  e1 += e0 >> 26; e0 &= MASK26;
  h0 = e0; h1 = e1; h2 = e2; h3 = e3; h4 = e4;
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
  let blocks = len >> 4;
  const pairs = blocks >> 1;
  if (pairs >= SIMD_MIN_PAIRS) {
    absorb2(m, pairs);
    m += pairs << 5;
    blocks &= 1;
    len -= pairs << 5;
  }
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
