// ChaCha20-IETF (RFC 8439 §2.3–2.4: 32-byte key, 12-byte nonce, 32-bit block
// counter) and HChaCha20 (draft-irtf-cfrg-xchacha §2.2).
//
// Bulk data runs four blocks at a time with SIMD: each v128 holds the same
// state word of four consecutive blocks (counters c, c+1, c+2, c+3). The tail
// (< 256 bytes) runs one block at a time through a scalar keystream block.

/** One scalar keystream block, 64 bytes. */
const KS: usize = memory.data(64, 16);

const C0: u32 = 0x61707865; // "expa"
const C1: u32 = 0x3320646e; // "nd 3"
const C2: u32 = 0x79622d32; // "2-by"
const C3: u32 = 0x6b206574; // "te k"

/**
 * The ChaCha20 block function's 20 rounds on a scalar state. Writes the 16
 * state words to `out`; `feedForward` adds the input state (the block
 * function) or not (HChaCha20).
 */
function rounds(key: usize, w12: u32, w13: u32, w14: u32, w15: u32, out: usize, feedForward: bool): void {
  const k0 = load<u32>(key, 0), k1 = load<u32>(key, 4), k2 = load<u32>(key, 8), k3 = load<u32>(key, 12);
  const k4 = load<u32>(key, 16), k5 = load<u32>(key, 20), k6 = load<u32>(key, 24), k7 = load<u32>(key, 28);
  let x0 = C0, x1 = C1, x2 = C2, x3 = C3;
  let x4 = k0, x5 = k1, x6 = k2, x7 = k3, x8 = k4, x9 = k5, x10 = k6, x11 = k7;
  let x12 = w12, x13 = w13, x14 = w14, x15 = w15;
  for (let i = 0; i < 10; i++) {
    // Quarter round (RFC 8439 §2.1): a += b; d ^= a; d <<<= 16; c += d; b ^= c; b <<<= 12;
    //                                a += b; d ^= a; d <<<= 8;  c += d; b ^= c; b <<<= 7.
    // Columns.
    x0 += x4; x12 = rotl<u32>(x12 ^ x0, 16); x8 += x12; x4 = rotl<u32>(x4 ^ x8, 12);
    x0 += x4; x12 = rotl<u32>(x12 ^ x0, 8); x8 += x12; x4 = rotl<u32>(x4 ^ x8, 7);
    x1 += x5; x13 = rotl<u32>(x13 ^ x1, 16); x9 += x13; x5 = rotl<u32>(x5 ^ x9, 12);
    x1 += x5; x13 = rotl<u32>(x13 ^ x1, 8); x9 += x13; x5 = rotl<u32>(x5 ^ x9, 7);
    x2 += x6; x14 = rotl<u32>(x14 ^ x2, 16); x10 += x14; x6 = rotl<u32>(x6 ^ x10, 12);
    x2 += x6; x14 = rotl<u32>(x14 ^ x2, 8); x10 += x14; x6 = rotl<u32>(x6 ^ x10, 7);
    x3 += x7; x15 = rotl<u32>(x15 ^ x3, 16); x11 += x15; x7 = rotl<u32>(x7 ^ x11, 12);
    x3 += x7; x15 = rotl<u32>(x15 ^ x3, 8); x11 += x15; x7 = rotl<u32>(x7 ^ x11, 7);
    // Diagonals.
    x0 += x5; x15 = rotl<u32>(x15 ^ x0, 16); x10 += x15; x5 = rotl<u32>(x5 ^ x10, 12);
    x0 += x5; x15 = rotl<u32>(x15 ^ x0, 8); x10 += x15; x5 = rotl<u32>(x5 ^ x10, 7);
    x1 += x6; x12 = rotl<u32>(x12 ^ x1, 16); x11 += x12; x6 = rotl<u32>(x6 ^ x11, 12);
    x1 += x6; x12 = rotl<u32>(x12 ^ x1, 8); x11 += x12; x6 = rotl<u32>(x6 ^ x11, 7);
    x2 += x7; x13 = rotl<u32>(x13 ^ x2, 16); x8 += x13; x7 = rotl<u32>(x7 ^ x8, 12);
    x2 += x7; x13 = rotl<u32>(x13 ^ x2, 8); x8 += x13; x7 = rotl<u32>(x7 ^ x8, 7);
    x3 += x4; x14 = rotl<u32>(x14 ^ x3, 16); x9 += x14; x4 = rotl<u32>(x4 ^ x9, 12);
    x3 += x4; x14 = rotl<u32>(x14 ^ x3, 8); x9 += x14; x4 = rotl<u32>(x4 ^ x9, 7);
  }
  if (feedForward) {
    x0 += C0; x1 += C1; x2 += C2; x3 += C3;
    x4 += k0; x5 += k1; x6 += k2; x7 += k3; x8 += k4; x9 += k5; x10 += k6; x11 += k7;
    x12 += w12; x13 += w13; x14 += w14; x15 += w15;
  }
  store<u32>(out, x0, 0); store<u32>(out, x1, 4); store<u32>(out, x2, 8); store<u32>(out, x3, 12);
  store<u32>(out, x4, 16); store<u32>(out, x5, 20); store<u32>(out, x6, 24); store<u32>(out, x7, 28);
  store<u32>(out, x8, 32); store<u32>(out, x9, 36); store<u32>(out, x10, 40); store<u32>(out, x11, 44);
  store<u32>(out, x12, 48); store<u32>(out, x13, 52); store<u32>(out, x14, 56); store<u32>(out, x15, 60);
}

/** Keystream block `counter` of (key, nonce) into 64 bytes at `out`. */
export function chacha_block(key: usize, nonce: usize, counter: u32, out: usize): void {
  rounds(key, counter, load<u32>(nonce, 0), load<u32>(nonce, 4), load<u32>(nonce, 8), out, true);
}

/** HChaCha20(key, 16 bytes at `input`) → 32 bytes at `out`. */
export function hchacha(key: usize, input: usize, out: usize): void {
  rounds(key, load<u32>(input, 0), load<u32>(input, 4), load<u32>(input, 8), load<u32>(input, 12), KS, false);
  memory.copy(out, KS, 16);
  memory.copy(out + 16, KS + 48, 16);
}

// v128 rotations of each 32-bit lane: by 16 and 8 as byte shuffles, by 12 and 7 as shifts.
@inline function rotl16(x: v128): v128 {
  return i8x16.shuffle(x, x, 2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13);
}
@inline function rotl8(x: v128): v128 {
  return i8x16.shuffle(x, x, 3, 0, 1, 2, 7, 4, 5, 6, 11, 8, 9, 10, 15, 12, 13, 14);
}
@inline function rotl12(x: v128): v128 {
  return v128.or(i32x4.shl(x, 12), i32x4.shr_u(x, 20));
}
@inline function rotl7(x: v128): v128 {
  return v128.or(i32x4.shl(x, 7), i32x4.shr_u(x, 25));
}

/** XORs 16 bytes at `p` with `ks` in place. */
@inline function xor16(p: usize, ks: v128): void {
  v128.store(p, v128.xor(v128.load(p), ks));
}

/**
 * Four blocks (256 bytes) at `p`, counters `counter .. counter+3`, XORed in
 * place. Words a..d of one row are transposed so each block's 64 bytes are
 * contiguous again.
 */
function xor4(key: usize, nonce: usize, counter: u32, p: usize): void {
  const k0 = v128.splat<u32>(load<u32>(key, 0)), k1 = v128.splat<u32>(load<u32>(key, 4));
  const k2 = v128.splat<u32>(load<u32>(key, 8)), k3 = v128.splat<u32>(load<u32>(key, 12));
  const k4 = v128.splat<u32>(load<u32>(key, 16)), k5 = v128.splat<u32>(load<u32>(key, 20));
  const k6 = v128.splat<u32>(load<u32>(key, 24)), k7 = v128.splat<u32>(load<u32>(key, 28));
  const ctr = i32x4.add(i32x4.splat(counter), i32x4(0, 1, 2, 3));
  const n0 = v128.splat<u32>(load<u32>(nonce, 0));
  const n1 = v128.splat<u32>(load<u32>(nonce, 4));
  const n2 = v128.splat<u32>(load<u32>(nonce, 8));
  let x0 = i32x4.splat(C0), x1 = i32x4.splat(C1), x2 = i32x4.splat(C2), x3 = i32x4.splat(C3);
  let x4 = k0, x5 = k1, x6 = k2, x7 = k3, x8 = k4, x9 = k5, x10 = k6, x11 = k7;
  let x12 = ctr, x13 = n0, x14 = n1, x15 = n2;
  for (let i = 0; i < 10; i++) {
    x0 = i32x4.add(x0, x4); x12 = rotl16(v128.xor(x12, x0)); x8 = i32x4.add(x8, x12); x4 = rotl12(v128.xor(x4, x8));
    x0 = i32x4.add(x0, x4); x12 = rotl8(v128.xor(x12, x0)); x8 = i32x4.add(x8, x12); x4 = rotl7(v128.xor(x4, x8));
    x1 = i32x4.add(x1, x5); x13 = rotl16(v128.xor(x13, x1)); x9 = i32x4.add(x9, x13); x5 = rotl12(v128.xor(x5, x9));
    x1 = i32x4.add(x1, x5); x13 = rotl8(v128.xor(x13, x1)); x9 = i32x4.add(x9, x13); x5 = rotl7(v128.xor(x5, x9));
    x2 = i32x4.add(x2, x6); x14 = rotl16(v128.xor(x14, x2)); x10 = i32x4.add(x10, x14); x6 = rotl12(v128.xor(x6, x10));
    x2 = i32x4.add(x2, x6); x14 = rotl8(v128.xor(x14, x2)); x10 = i32x4.add(x10, x14); x6 = rotl7(v128.xor(x6, x10));
    x3 = i32x4.add(x3, x7); x15 = rotl16(v128.xor(x15, x3)); x11 = i32x4.add(x11, x15); x7 = rotl12(v128.xor(x7, x11));
    x3 = i32x4.add(x3, x7); x15 = rotl8(v128.xor(x15, x3)); x11 = i32x4.add(x11, x15); x7 = rotl7(v128.xor(x7, x11));
    x0 = i32x4.add(x0, x5); x15 = rotl16(v128.xor(x15, x0)); x10 = i32x4.add(x10, x15); x5 = rotl12(v128.xor(x5, x10));
    x0 = i32x4.add(x0, x5); x15 = rotl8(v128.xor(x15, x0)); x10 = i32x4.add(x10, x15); x5 = rotl7(v128.xor(x5, x10));
    x1 = i32x4.add(x1, x6); x12 = rotl16(v128.xor(x12, x1)); x11 = i32x4.add(x11, x12); x6 = rotl12(v128.xor(x6, x11));
    x1 = i32x4.add(x1, x6); x12 = rotl8(v128.xor(x12, x1)); x11 = i32x4.add(x11, x12); x6 = rotl7(v128.xor(x6, x11));
    x2 = i32x4.add(x2, x7); x13 = rotl16(v128.xor(x13, x2)); x8 = i32x4.add(x8, x13); x7 = rotl12(v128.xor(x7, x8));
    x2 = i32x4.add(x2, x7); x13 = rotl8(v128.xor(x13, x2)); x8 = i32x4.add(x8, x13); x7 = rotl7(v128.xor(x7, x8));
    x3 = i32x4.add(x3, x4); x14 = rotl16(v128.xor(x14, x3)); x9 = i32x4.add(x9, x14); x4 = rotl12(v128.xor(x4, x9));
    x3 = i32x4.add(x3, x4); x14 = rotl8(v128.xor(x14, x3)); x9 = i32x4.add(x9, x14); x4 = rotl7(v128.xor(x4, x9));
  }
  x0 = i32x4.add(x0, i32x4.splat(C0)); x1 = i32x4.add(x1, i32x4.splat(C1));
  x2 = i32x4.add(x2, i32x4.splat(C2)); x3 = i32x4.add(x3, i32x4.splat(C3));
  x4 = i32x4.add(x4, k0); x5 = i32x4.add(x5, k1); x6 = i32x4.add(x6, k2); x7 = i32x4.add(x7, k3);
  x8 = i32x4.add(x8, k4); x9 = i32x4.add(x9, k5); x10 = i32x4.add(x10, k6); x11 = i32x4.add(x11, k7);
  x12 = i32x4.add(x12, ctr); x13 = i32x4.add(x13, n0); x14 = i32x4.add(x14, n1); x15 = i32x4.add(x15, n2);
  transposeXor(x0, x1, x2, x3, p);
  transposeXor(x4, x5, x6, x7, p + 16);
  transposeXor(x8, x9, x10, x11, p + 32);
  transposeXor(x12, x13, x14, x15, p + 48);
}

/**
 * Rows a..d hold words w..w+3 of blocks 0..3 (one block per lane). Writes
 * block j's words w..w+3 (16 bytes) XORed into `p + 64 * j`.
 */
@inline function transposeXor(a: v128, b: v128, c: v128, d: v128, p: usize): void {
  const t0 = i32x4.shuffle(a, b, 0, 4, 1, 5); // a0 b0 a1 b1
  const t1 = i32x4.shuffle(a, b, 2, 6, 3, 7); // a2 b2 a3 b3
  const t2 = i32x4.shuffle(c, d, 0, 4, 1, 5); // c0 d0 c1 d1
  const t3 = i32x4.shuffle(c, d, 2, 6, 3, 7); // c2 d2 c3 d3
  xor16(p, i32x4.shuffle(t0, t2, 0, 1, 4, 5)); // block 0
  xor16(p + 64, i32x4.shuffle(t0, t2, 2, 3, 6, 7)); // block 1
  xor16(p + 128, i32x4.shuffle(t1, t3, 0, 1, 4, 5)); // block 2
  xor16(p + 192, i32x4.shuffle(t1, t3, 2, 3, 6, 7)); // block 3
}

/**
 * XORs `len` bytes at `p` in place with the keystream of (key, nonce)
 * starting at block `counter`. The caller keeps `counter + ceil(len / 64)`
 * within 2^32.
 */
export function chacha_xor(key: usize, nonce: usize, counter: u32, p: usize, len: usize): void {
  while (len >= 256) {
    xor4(key, nonce, counter, p);
    counter += 4;
    p += 256;
    len -= 256;
  }
  while (len > 0) {
    chacha_block(key, nonce, counter, KS);
    counter++;
    const n = len < 64 ? len : 64;
    let i: usize = 0;
    for (; i + 8 <= n; i += 8) store<u64>(p + i, load<u64>(p + i) ^ load<u64>(KS + i));
    for (; i < n; i++) store<u8>(p + i, load<u8>(p + i) ^ load<u8>(KS + i));
    p += n;
    len -= n;
  }
}
