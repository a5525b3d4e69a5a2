/**
 * Loads pigeon's WebAssembly crypto kernels (AssemblyScript sources in
 * `assembly/`, compiled into `kernels_wasm.ts` by `deno task kernels`) and
 * wraps them in typed methods that copy bytes in and out of the module's
 * memory.
 *
 * The module is compiled synchronously on first use and shared by every
 * caller on this thread. It imports nothing and never grows its memory:
 *
 * | area | size | use |
 * |---|---|---|
 * | static data | < 4 KiB | BLAKE2b / Poly1305 / secretstream state, SIGMA, scratch |
 * | `SCRATCH` | 256 B | keys, nonces, digests |
 * | I/O (`io_base()`) | {@link IO_BYTES} | message bytes, processed in place |
 *
 * Inputs longer than the I/O area are streamed through it in pieces.
 *
 * @module
 */

import { PigeonError } from "../../errors.ts";
import { KERNELS_WASM_BASE64 } from "./kernels_wasm.ts";

/** Bytes of the I/O area; longer inputs are processed in pieces of this size. */
export const IO_BYTES = 1 << 20;

/** Bytes of one secretstream direction's state: k (32) || counter (4) || inonce (8). */
export const SS_STATE_BYTES = 44;

/** The raw exports of the module (see `assembly/*.ts` for each contract). */
interface KernelExports {
  memory: WebAssembly.Memory;
  SCRATCH: WebAssembly.Global;
  SS_STATE: WebAssembly.Global;
  SS_MAC: WebAssembly.Global;
  io_base(): number;
  b2b_init(digestLen: number, key: number, keyLen: number): void;
  b2b_update(ptr: number, len: number): void;
  b2b_final(out: number): void;
  b2b_hash(ptr: number, len: number, digestLen: number, out: number): void;
  b2b_parents(records: number, count: number, out: number): void;
  b2b_leaf(ptr: number, len: number, out: number): void;
  chacha_block(key: number, nonce: number, counter: number, out: number): void;
  chacha_xor(key: number, nonce: number, counter: number, p: number, len: number): void;
  hchacha(key: number, input: number, out: number): void;
  poly_init(key: number): void;
  poly_update(p: number, len: number): void;
  poly_final(out: number): void;
  ss_init(key: number, header: number): void;
  ss_begin(byte: number, pulling: number): number;
  ss_chunk(p: number, len: number, block: number, pulling: number): void;
  ss_end(mlen: number, expected: number, pulling: number): number;
  ss_rekey(): void;
}

/**
 * Secretstream pulls of bodies from this many bytes up decrypt with the
 * runtime's native ChaCha20 (`node:crypto` "chacha20", byte-identical; about
 * 2 GB/s here against ~1.1 GB/s for the SIMD kernel) after the Poly1305 kernel
 * verified the MAC. Measured with `bench/kernels_vs_sodium.ts` and CPU-time
 * probes: pull of 64 KiB ~740 vs ~515 MB/s, 16 KiB ~610 vs ~500, equal at
 * 2–4 KiB. Push gains nothing (the native output buffer costs an extra
 * allocation and copy), so push always runs on the kernel.
 */
export const NATIVE_PULL_MIN_BYTES = 16384;

/** Options for {@link Kernels}. */
export interface KernelsOptions {
  /** Use native ChaCha20 for large secretstream pulls when the runtime has it (default true). */
  nativeChaCha?: boolean;
}

/** The part of `node:crypto` the native path uses. */
interface NativeCrypto {
  createCipheriv(algorithm: string, key: Uint8Array, iv: Uint8Array): {
    update(data: Uint8Array): Uint8Array;
    final(): Uint8Array;
  };
  getCiphers(): string[];
}

let nativeCrypto: NativeCrypto | null | undefined;

/**
 * `node:crypto` with ChaCha20, or null. Looked up on first need through
 * `process.getBuiltinModule`, not imported: loading Node compatibility costs
 * ~30 ms at start-up, which every pigeon command would pay otherwise.
 */
function native(): NativeCrypto | null {
  if (nativeCrypto === undefined) {
    try {
      const proc = (globalThis as { process?: { getBuiltinModule?(id: string): unknown } }).process;
      const mod = proc?.getBuiltinModule?.("node:crypto") as NativeCrypto | undefined;
      nativeCrypto = mod !== undefined && mod.getCiphers().includes("chacha20") ? mod : null;
    } catch {
      nativeCrypto = null;
    }
  }
  return nativeCrypto;
}

/** Bytes of one parent record in the batch entry: u64le(size) || left || right. */
const PARENT_RECORD_BYTES = 72;
/** Parents per `b2b_parents` call (records and digests both fit the I/O area). */
const MAX_PARENTS_PER_CALL = Math.floor(IO_BYTES / (PARENT_RECORD_BYTES + 32));

function decodeBase64(b64: string): Uint8Array {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

let compiled: WebAssembly.Module | undefined;

/** The compiled kernels module, compiled once per thread (it can be posted to workers). */
export function kernelsModule(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(decodeBase64(KERNELS_WASM_BASE64) as Uint8Array<ArrayBuffer>);
  return compiled;
}

/** The two child hashes and byte size a Merkle parent is hashed from. */
export interface ParentHashInput {
  /** Left child's 32-byte hash. */
  readonly left: Uint8Array;
  /** Right child's 32-byte hash. */
  readonly right: Uint8Array;
  /** The parent's size: left.size + right.size. */
  readonly size: number;
}

/** One instance of the kernels with typed wrappers. */
export class Kernels {
  readonly #x: KernelExports;
  readonly #mem: Uint8Array;
  readonly #view: DataView;
  readonly #io: number;
  readonly #scratch: number;
  readonly #ssState: number;
  readonly #ssMac: number;
  readonly #native: boolean;
  readonly #iv = new Uint8Array(16);

  /** Instantiates the module (synchronously). */
  constructor(
    wasm: Uint8Array | WebAssembly.Module = kernelsModule(),
    options: KernelsOptions = {},
  ) {
    this.#native = options.nativeChaCha ?? true;
    const module = wasm instanceof WebAssembly.Module
      ? wasm
      : new WebAssembly.Module(wasm as Uint8Array<ArrayBuffer>);
    this.#x = new WebAssembly.Instance(module, {}).exports as unknown as KernelExports;
    this.#mem = new Uint8Array(this.#x.memory.buffer);
    this.#view = new DataView(this.#x.memory.buffer);
    this.#io = this.#x.io_base();
    this.#scratch = this.#x.SCRATCH.value as number;
    this.#ssState = this.#x.SS_STATE.value as number;
    this.#ssMac = this.#x.SS_MAC.value as number;
    if (this.#io + IO_BYTES > this.#mem.length) {
      throw new RangeError(`Kernel memory too small: ${this.#mem.length}`);
    }
  }

  /** Copies `parts` into memory in pieces of at most {@link IO_BYTES} and calls `sink` per piece. */
  #stream(parts: readonly Uint8Array[], sink: (ptr: number, len: number) => void): void {
    const mem = this.#mem;
    let fill = 0;
    for (const p of parts) {
      let off = 0;
      while (off < p.length) {
        const n = Math.min(p.length - off, IO_BYTES - fill);
        mem.set(n === p.length ? p : p.subarray(off, off + n), this.#io + fill);
        fill += n;
        off += n;
        if (fill === IO_BYTES) {
          sink(this.#io, fill);
          fill = 0;
        }
      }
    }
    if (fill > 0) sink(this.#io, fill);
  }

  /** BLAKE2b of the concatenation of `parts` (digest 1..64 bytes, optional 0..64-byte key). */
  blake2b(parts: readonly Uint8Array[], outLen: number, key?: Uint8Array): Uint8Array {
    if (!Number.isInteger(outLen) || outLen < 1 || outLen > 64) {
      throw new PigeonError("BAD_ARGUMENT", `BLAKE2b digest length must be 1..64, got ${outLen}`);
    }
    if (key !== undefined && key.length > 64) {
      throw new PigeonError("BAD_ARGUMENT", `BLAKE2b key must be 0..64 bytes, got ${key.length}`);
    }
    const x = this.#x;
    const mem = this.#mem;
    const out = this.#scratch;
    if (key === undefined || key.length === 0) {
      let total = 0;
      for (const p of parts) total += p.length;
      if (total <= IO_BYTES) {
        let off = this.#io;
        for (const p of parts) {
          mem.set(p, off);
          off += p.length;
        }
        x.b2b_hash(this.#io, total, outLen, out);
        return mem.slice(out, out + outLen);
      }
      x.b2b_init(outLen, 0, 0);
    } else {
      mem.set(key, out);
      x.b2b_init(outLen, out, key.length);
    }
    this.#stream(parts, (ptr, len) => x.b2b_update(ptr, len));
    x.b2b_final(out);
    return mem.slice(out, out + outLen);
  }

  /** BLAKE2b-256(0x00 || u64le(len) || data): a Merkle leaf hash (SPEC b). */
  leafHash(data: Uint8Array): Uint8Array {
    const out = this.#scratch;
    if (data.length <= IO_BYTES) {
      this.#mem.set(data, this.#io);
      this.#x.b2b_leaf(this.#io, data.length, out);
      return this.#mem.slice(out, out + 32);
    }
    const prefix = new Uint8Array(9);
    new DataView(prefix.buffer).setBigUint64(1, BigInt(data.length), true);
    return this.blake2b([prefix, data], 32);
  }

  /** One Merkle parent hash, BLAKE2b-256(0x01 || u64le(size) || left || right). */
  parentHash(left: Uint8Array, right: Uint8Array, size: number): Uint8Array {
    if (left.length !== 32 || right.length !== 32) {
      throw new PigeonError("BAD_ARGUMENT", "Parent child hashes must be 32 bytes");
    }
    const r = this.#io;
    const out = this.#scratch;
    this.#view.setUint32(r, size >>> 0, true);
    this.#view.setUint32(r + 4, Math.floor(size / 0x100000000), true);
    this.#mem.set(left, r + 8);
    this.#mem.set(right, r + 40);
    this.#x.b2b_parents(r, 1, out);
    return this.#mem.slice(out, out + 32);
  }

  /**
   * Merkle parent hashes, BLAKE2b-256(0x01 || u64le(size) || left || right)
   * for each input, in one kernel call per {@link MAX_PARENTS_PER_CALL}.
   * The digests are 32-byte views into one new buffer.
   */
  parentHashes(inputs: readonly ParentHashInput[]): Uint8Array[] {
    const all = new Uint8Array(inputs.length * 32);
    const view = this.#view;
    const mem = this.#mem;
    for (let start = 0; start < inputs.length; start += MAX_PARENTS_PER_CALL) {
      const count = Math.min(MAX_PARENTS_PER_CALL, inputs.length - start);
      let r = this.#io;
      for (let i = 0; i < count; i++) {
        const p = inputs[start + i]!;
        if (p.left.length !== 32 || p.right.length !== 32) {
          throw new PigeonError("BAD_ARGUMENT", "Parent child hashes must be 32 bytes");
        }
        view.setUint32(r, p.size >>> 0, true);
        view.setUint32(r + 4, Math.floor(p.size / 0x100000000), true);
        mem.set(p.left, r + 8);
        mem.set(p.right, r + 40);
        r += PARENT_RECORD_BYTES;
      }
      const outPtr = this.#io + count * PARENT_RECORD_BYTES;
      this.#x.b2b_parents(this.#io, count, outPtr);
      all.set(mem.subarray(outPtr, outPtr + count * 32), start * 32);
    }
    const digests: Uint8Array[] = new Array(inputs.length);
    for (let i = 0; i < inputs.length; i++) digests[i] = all.subarray(i * 32, i * 32 + 32);
    return digests;
  }

  /** `input XOR ChaCha20-IETF(key, nonce)` from block `counter` into `output`. */
  chacha20Xor(
    key: Uint8Array,
    nonce: Uint8Array,
    counter: number,
    input: Uint8Array,
    output: Uint8Array,
  ): void {
    const x = this.#x;
    const mem = this.#mem;
    const s = this.#scratch;
    mem.set(key, s);
    mem.set(nonce, s + 32);
    for (let off = 0; off < input.length; off += IO_BYTES) {
      const n = Math.min(IO_BYTES, input.length - off);
      mem.set(input.subarray(off, off + n), this.#io);
      x.chacha_xor(s, s + 32, (counter + off / 64) >>> 0, this.#io, n);
      output.set(mem.subarray(this.#io, this.#io + n), off);
    }
  }

  /** HChaCha20(key, input16) → 32 bytes. */
  hchacha20(key: Uint8Array, input: Uint8Array): Uint8Array {
    const s = this.#scratch;
    this.#mem.set(key, s);
    this.#mem.set(input, s + 32);
    this.#x.hchacha(s, s + 32, s + 64);
    return this.#mem.slice(s + 64, s + 96);
  }

  /** Poly1305 tag of the concatenation of `parts` under the 32-byte one-time `key`. */
  poly1305(key: Uint8Array, parts: readonly Uint8Array[]): Uint8Array {
    const x = this.#x;
    const s = this.#scratch;
    this.#mem.set(key, s);
    x.poly_init(s);
    this.#stream(parts, (ptr, len) => x.poly_update(ptr, len));
    x.poly_final(s);
    return this.#mem.slice(s, s + 16);
  }

  /** Secretstream init: writes k || counter=1 || inonce for (key, header) into `state`. */
  secretstreamInit(key: Uint8Array, header: Uint8Array, state: Uint8Array): void {
    const s = this.#scratch;
    this.#mem.set(key, s);
    this.#mem.set(header, s + 32);
    this.#x.ss_init(s, s + 32);
    state.set(this.#mem.subarray(this.#ssState, this.#ssState + SS_STATE_BYTES));
  }

  /** True when large secretstream pulls use the runtime's native ChaCha20. */
  get nativeChaCha(): boolean {
    return this.#native && native() !== null;
  }

  /**
   * The native ChaCha20 keystream XOR of `data` under the state now in the
   * module (k, nonce) from block 2: the secretstream body.
   */
  #nativeBody(nodeCrypto: NativeCrypto, data: Uint8Array): Uint8Array {
    const mem = this.#mem;
    const iv = this.#iv;
    iv[0] = 2; // u32le block counter 2, then the 12-byte nonce
    iv.set(mem.subarray(this.#ssState + 32, this.#ssState + SS_STATE_BYTES), 4);
    const key = mem.subarray(this.#ssState, this.#ssState + 32);
    const cipher = nodeCrypto.createCipheriv("chacha20", key, iv);
    const out = cipher.update(data);
    cipher.final(); // releases Deno's native cipher resource (it leaks otherwise)
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  }

  /** Feeds `data` to the Poly1305 kernel through the I/O area. */
  #macBody(data: Uint8Array): void {
    const x = this.#x;
    for (let off = 0; off < data.length; off += IO_BYTES) {
      const n = Math.min(IO_BYTES, data.length - off);
      this.#mem.set(n === data.length ? data : data.subarray(off, off + n), this.#io);
      x.poly_update(this.#io, n);
    }
  }

  /**
   * Secretstream push with `state` (updated in place): writes tag byte || c ||
   * mac (message length + 17 bytes) into `out` at `offset` and returns `out`.
   */
  secretstreamPush(
    state: Uint8Array,
    message: Uint8Array,
    tag: number,
    out: Uint8Array = new Uint8Array(message.length + 17),
    offset = 0,
  ): Uint8Array {
    const x = this.#x;
    const mem = this.#mem;
    const io = this.#io;
    mem.set(state, this.#ssState);
    out[offset] = x.ss_begin(tag, 0);
    for (let off = 0; off < message.length; off += IO_BYTES) {
      const n = Math.min(IO_BYTES, message.length - off);
      mem.set(n === message.length ? message : message.subarray(off, off + n), io);
      x.ss_chunk(io, n, 2 + off / 64, 0);
      out.set(mem.subarray(io, io + n), offset + 1 + off);
    }
    x.ss_end(message.length, 0, 0);
    out.set(mem.subarray(this.#ssMac, this.#ssMac + 16), offset + 1 + message.length);
    state.set(mem.subarray(this.#ssState, this.#ssState + SS_STATE_BYTES));
    return out;
  }

  #pullNative(
    nodeCrypto: NativeCrypto,
    state: Uint8Array,
    ciphertext: Uint8Array,
  ): { message: Uint8Array; tag: number } | null {
    const x = this.#x;
    const mem = this.#mem;
    const mlen = ciphertext.length - 17;
    mem.set(state, this.#ssState);
    const tag = x.ss_begin(ciphertext[0]!, 1);
    const body = ciphertext.subarray(1, 1 + mlen);
    this.#macBody(body);
    // The body is decrypted only after its MAC verified, under the pre-update k and nonce.
    const before = mem.slice(this.#ssState, this.#ssState + SS_STATE_BYTES);
    const expected = this.#scratch;
    mem.set(ciphertext.subarray(1 + mlen), expected);
    if (x.ss_end(mlen, expected, 1) !== 1) return null;
    const after = mem.slice(this.#ssState, this.#ssState + SS_STATE_BYTES);
    mem.set(before, this.#ssState);
    const message = this.#nativeBody(nodeCrypto, body);
    state.set(after);
    return { message, tag };
  }

  /**
   * Secretstream pull with `state`: the plaintext and tag, or `null` when the
   * MAC fails (then `state` is unchanged). `ciphertext` is ≥ 17 bytes.
   */
  secretstreamPull(
    state: Uint8Array,
    ciphertext: Uint8Array,
  ): { message: Uint8Array; tag: number } | null {
    if (this.#native && ciphertext.length - 17 >= NATIVE_PULL_MIN_BYTES) {
      const nodeCrypto = native();
      if (nodeCrypto !== null) return this.#pullNative(nodeCrypto, state, ciphertext);
    }
    const x = this.#x;
    const mem = this.#mem;
    const io = this.#io;
    const mlen = ciphertext.length - 17;
    mem.set(state, this.#ssState);
    const tag = x.ss_begin(ciphertext[0]!, 1);
    const message = new Uint8Array(mlen);
    for (let off = 0; off < mlen; off += IO_BYTES) {
      const n = Math.min(IO_BYTES, mlen - off);
      mem.set(ciphertext.subarray(1 + off, 1 + off + n), io);
      x.ss_chunk(io, n, 2 + off / 64, 1);
      message.set(mem.subarray(io, io + n), off);
    }
    const expected = this.#scratch;
    mem.set(ciphertext.subarray(1 + mlen), expected);
    if (x.ss_end(mlen, expected, 1) !== 1) {
      message.fill(0);
      return null;
    }
    state.set(mem.subarray(this.#ssState, this.#ssState + SS_STATE_BYTES));
    return { message, tag };
  }

  /** Explicit secretstream rekey of `state`. */
  secretstreamRekey(state: Uint8Array): void {
    this.#mem.set(state, this.#ssState);
    this.#x.ss_rekey();
    state.set(this.#mem.subarray(this.#ssState, this.#ssState + SS_STATE_BYTES));
  }
}

let shared: Kernels | undefined;

/** The kernels of this thread, instantiated on first use. */
export function wasmKernels(): Kernels {
  shared ??= new Kernels();
  return shared;
}
