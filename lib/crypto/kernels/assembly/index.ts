// pigeon's WebAssembly crypto kernels. Memory layout: static areas (keys,
// states, scratch) come first; the I/O area starts at io_base() and holds
// IO_BYTES bytes. The host copies inputs in, calls a kernel, and copies
// outputs out; nothing here allocates.

export { b2b_final, b2b_hash, b2b_init, b2b_leaf, b2b_parents, b2b_update } from "./blake2b";
export { chacha_block, chacha_xor, hchacha } from "./chacha20";
export { poly_final, poly_init, poly_update, poly_zeros } from "./poly1305";
export { SS_MAC, SS_STATE, ss_begin, ss_chunk, ss_end, ss_init, ss_rekey } from "./secretstream";

/** Scratch for short inputs: keys, nonces, digests (256 bytes). */
export const SCRATCH: usize = memory.data(256, 64);

/** Start of the I/O area (64-byte aligned, after all static data). */
export function io_base(): usize {
  return (__heap_base + 63) & ~(<usize>63);
}
