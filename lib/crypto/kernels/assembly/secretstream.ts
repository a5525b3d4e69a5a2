// libsodium crypto_secretstream_xchacha20poly1305 (SPEC d.4) on the ChaCha20
// and Poly1305 kernels. The state of one direction lives at SS_STATE while a
// message is processed: k (32 bytes) || nonce (12 bytes: counter u32le ||
// inonce 8 bytes). The caller copies it in before and out after.
//
// A message is processed as ss_begin, ss_chunk… (any number of pieces, each a
// multiple of 64 bytes except the last), ss_end.

import { chacha_block, chacha_xor, hchacha } from "./chacha20";
import { poly_final, poly_init, poly_update, poly_zeros } from "./poly1305";

/** k || nonce of the stream being processed (44 bytes, padded to 48). */
export const SS_STATE: usize = memory.data(48, 16);
/** The 64-byte tag block (also the Poly1305 key block). */
const BLOCK: usize = memory.data(64, 16);
/** The 16-byte MAC of the message being processed. */
export const SS_MAC: usize = memory.data(16, 16);
/** u64le(AD length = 0) || u64le(64 + message length). */
const LENGTHS: usize = memory.data(16, 16);

const K: usize = SS_STATE;
const NONCE: usize = SS_STATE + 32;
const TAG_REKEY: u32 = 2;

/** The tag of the message being processed. */
let tag: u32 = 0;

/** init(key, header): k = HChaCha20(key, header[0..16]), counter = 1, inonce = header[16..24]. */
export function ss_init(key: usize, header: usize): void {
  hchacha(key, header, K);
  store<u32>(NONCE, 1, 0);
  store<u64>(NONCE, load<u64>(header, 16), 4);
}

/**
 * Starts a message. Pushing: `byte` is the tag; returns the encrypted tag
 * byte to send. Pulling: `byte` is the received first byte; returns the tag.
 */
export function ss_begin(byte: u32, pulling: bool): u32 {
  chacha_block(K, NONCE, 0, BLOCK);
  poly_init(BLOCK);
  memory.fill(BLOCK, 0, 64);
  store<u8>(BLOCK, <u8>byte);
  chacha_xor(K, NONCE, 1, BLOCK, 64);
  const other = <u32>load<u8>(BLOCK);
  tag = pulling ? other : byte;
  // The MAC covers the whole 64-byte block with the byte that travels first.
  if (pulling) store<u8>(BLOCK, <u8>byte);
  poly_update(BLOCK, 64);
  return other;
}

/**
 * One piece of the message body, in place: pushing encrypts then MACs the
 * ciphertext, pulling MACs then decrypts. `block` is the keystream block of
 * the piece's first byte (2 + offset / 64).
 */
export function ss_chunk(p: usize, len: usize, block: u32, pulling: bool): void {
  if (pulling) {
    poly_update(p, len);
    chacha_xor(K, NONCE, block, p, len);
  } else {
    chacha_xor(K, NONCE, block, p, len);
    poly_update(p, len);
  }
}

/** k || inonce ^= ChaCha20(k, nonce) keystream bytes 0..40; counter = 1. */
export function ss_rekey(): void {
  memory.copy(BLOCK, K, 32);
  memory.copy(BLOCK + 32, NONCE + 4, 8);
  chacha_xor(K, NONCE, 0, BLOCK, 40);
  memory.copy(K, BLOCK, 32);
  memory.copy(NONCE + 4, BLOCK + 32, 8);
  store<u32>(NONCE, 1, 0);
}

/**
 * Finishes a message of `mlen` bytes: pads (libsodium's `mlen mod 16` zero
 * bytes), MACs the lengths and writes the MAC to SS_MAC. Pulling, compares it
 * in constant time with the 16 bytes at `expected` and returns 0 on mismatch
 * without touching the state. Otherwise advances the state (inonce ^= mac,
 * counter += 1, rekey on wrap or REKEY tag) and returns 1.
 */
export function ss_end(mlen: f64, expected: usize, pulling: bool): i32 {
  const n = <u64>mlen;
  poly_zeros(<usize>(n & 15));
  store<u64>(LENGTHS, 0, 0);
  store<u64>(LENGTHS, 64 + n, 8);
  poly_update(LENGTHS, 16);
  poly_final(SS_MAC);
  if (pulling) {
    const diff = (load<u64>(SS_MAC, 0) ^ load<u64>(expected, 0)) |
      (load<u64>(SS_MAC, 8) ^ load<u64>(expected, 8));
    if (diff != 0) return 0;
  }
  store<u64>(NONCE, load<u64>(NONCE, 4) ^ load<u64>(SS_MAC, 0), 4);
  const counter = load<u32>(NONCE, 0) + 1;
  store<u32>(NONCE, counter, 0);
  if ((tag & TAG_REKEY) != 0 || counter == 0) ss_rekey();
  return 1;
}
