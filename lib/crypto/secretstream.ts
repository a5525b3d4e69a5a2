/**
 * libsodium's `crypto_secretstream_xchacha20poly1305` (SPEC d.3, d.4): the
 * message encryption under @hyperswarm/secret-stream.
 *
 * State per direction: a 32-byte key `k` and a 12-byte nonce
 * `counter (u32le) || inonce (8)`.
 *
 * | step | bytes |
 * |---|---|
 * | init(key, header) | `k = HChaCha20(key, header[0..16])`, `counter = 1`, `inonce = header[16..24]` |
 * | Poly1305 key | ChaCha20-IETF(k, nonce) block 0, bytes 0..32 |
 * | tag block | 64 bytes `tag, 0, …, 0` XOR keystream block 1; byte 0 is sent |
 * | ciphertext | `m` XOR keystream from block 2 |
 * | MAC input | `block(64) || c || zeros(len(c) mod 16) || u64le(0) || u64le(64 + len(c))` |
 * | output | `block[0] || c || mac` (1 + len(m) + 16 bytes) |
 * | after | `inonce ^= mac[0..8]`, `counter += 1`; rekey on wrap to 0 or the REKEY tag bit |
 * | rekey | `k || inonce ^= keystream(k, nonce, block 0)[0..40]`, `counter = 1` |
 *
 * The zero padding after `c` is `len(c) mod 16` bytes (libsodium computes
 * `(0x10 - 64 + mlen) & 0xf`), not RFC 8439's `16 - len mod 16`: SPEC h.6.
 *
 * {@link SecretstreamPush} and {@link SecretstreamPull} run on the crypto path
 * `PIGEON_CRYPTO` selects (`backend.ts`) unless an option names one.
 *
 * @module
 */

import { PigeonError } from "../errors.ts";
import { type CryptoPath, cryptoPath } from "./backend.ts";
import { timingSafeEqual } from "./bytes.ts";
import { nobleChaCha20 } from "./chacha20.ts";
import { noblePoly1305 } from "./poly1305.ts";
import { SS_STATE_BYTES, wasmKernels } from "./kernels/kernels.ts";

/** Length of the header `init_push` produces and `init_pull` consumes. */
export const SECRETSTREAM_HEADER_BYTES = 24;
/** Bytes each message grows by: 1 tag byte + 16 MAC bytes. */
export const SECRETSTREAM_ABYTES = 17;
/** Secretstream key length. */
export const SECRETSTREAM_KEY_BYTES = 32;
/** Largest plaintext of one message (libsodium `messagebytes_max`: 64 × (2^32 − 2)). */
export const MAX_SECRETSTREAM_MESSAGE_BYTES = 64 * (2 ** 32 - 2);

/** An ordinary message (the only tag secret-stream sends). */
export const TAG_MESSAGE = 0;
/** Marks the end of a set of messages; no state effect. */
export const TAG_PUSH = 1;
/** Forces a rekey after this message. */
export const TAG_REKEY = 2;
/** The last message of the stream (PUSH | REKEY). */
export const TAG_FINAL = 3;

/** One direction's state machine; implemented by the TS reference and the WASM kernel. */
export interface SecretstreamState {
  /** Encrypts one message: writes `tagByte || c || mac` into `out` at `offset`. */
  push(message: Uint8Array, tag: number, out: Uint8Array, offset: number): void;
  /** Decrypts one message, or returns `null` (state untouched) when the MAC fails. */
  pull(ciphertext: Uint8Array): { message: Uint8Array; tag: number } | null;
  /** Explicit rekey (libsodium `crypto_secretstream_xchacha20poly1305_rekey`). */
  rekey(): void;
}

/** Options for {@link SecretstreamPush} and {@link SecretstreamPull}. */
export interface SecretstreamOptions {
  /** Crypto path to use instead of the `PIGEON_CRYPTO` selection. */
  path?: CryptoPath;
}

const LENGTHS_BYTES = 16;
const ZERO_PAD = new Uint8Array(16);

/**
 * The pure-TypeScript reference state, built on the @noble ChaCha20 and
 * Poly1305 (never on the selected backend, so it stays an independent
 * reference for the kernels).
 */
export class ReferenceSecretstreamState implements SecretstreamState {
  #k: Uint8Array;
  #nonce = new Uint8Array(12);

  /** Initialises from a 32-byte key and a 24-byte header. */
  constructor(key: Uint8Array, header: Uint8Array) {
    this.#k = nobleChaCha20.hchacha20(key, header.subarray(0, 16));
    this.#nonce[0] = 1;
    this.#nonce.set(header.subarray(16, 24), 4);
  }

  #keystreamBlock(counter: number, block: Uint8Array): void {
    nobleChaCha20.xor(this.#k, this.#nonce, counter, block, block);
  }

  #mac(block: Uint8Array, c: Uint8Array): Uint8Array {
    const otk = new Uint8Array(64);
    this.#keystreamBlock(0, otk);
    const lengths = new Uint8Array(LENGTHS_BYTES);
    const total = 64 + c.length;
    new DataView(lengths.buffer).setUint32(8, total >>> 0, true);
    new DataView(lengths.buffer).setUint32(12, Math.floor(total / 2 ** 32), true);
    return noblePoly1305.mac(otk.subarray(0, 32), [
      block,
      c,
      ZERO_PAD.subarray(0, c.length % 16),
      lengths,
    ]);
  }

  #advance(mac: Uint8Array, tag: number): void {
    for (let i = 0; i < 8; i++) this.#nonce[4 + i]! ^= mac[i]!;
    const n = this.#nonce;
    for (let i = 0; i < 4; i++) if (++n[i]! !== 256) break;
    const counterIsZero = (n[0]! | n[1]! | n[2]! | n[3]!) === 0;
    if ((tag & TAG_REKEY) !== 0 || counterIsZero) this.rekey();
  }

  push(message: Uint8Array, tag: number, out: Uint8Array, offset: number): void {
    const block = new Uint8Array(64);
    block[0] = tag;
    this.#keystreamBlock(1, block);
    out[offset] = block[0]!;
    const c = out.subarray(offset + 1, offset + 1 + message.length);
    if (message.length > 0) nobleChaCha20.xor(this.#k, this.#nonce, 2, message, c);
    const mac = this.#mac(block, c);
    out.set(mac, offset + 1 + message.length);
    this.#advance(mac, tag);
  }

  pull(ciphertext: Uint8Array): { message: Uint8Array; tag: number } | null {
    const mlen = ciphertext.length - SECRETSTREAM_ABYTES;
    const block = new Uint8Array(64);
    block[0] = ciphertext[0]!;
    this.#keystreamBlock(1, block);
    const tag = block[0]!;
    block[0] = ciphertext[0]!;
    const c = ciphertext.subarray(1, 1 + mlen);
    const mac = this.#mac(block, c);
    if (!timingSafeEqual(mac, ciphertext.subarray(1 + mlen))) return null;
    const message = new Uint8Array(mlen);
    if (mlen > 0) nobleChaCha20.xor(this.#k, this.#nonce, 2, c, message);
    this.#advance(mac, tag);
    return { message, tag };
  }

  rekey(): void {
    const buf = new Uint8Array(40);
    buf.set(this.#k);
    buf.set(this.#nonce.subarray(4, 12), 32);
    nobleChaCha20.xor(this.#k, this.#nonce, 0, buf, buf);
    this.#k = buf.slice(0, 32);
    this.#nonce.set(buf.subarray(32, 40), 4);
    this.#nonce.set([1, 0, 0, 0], 0);
  }
}

/**
 * The WASM kernel state (`kernels/assembly/secretstream.ts`): the 44-byte
 * `k || nonce` lives here and is copied into the module around each message.
 */
export class WasmSecretstreamState implements SecretstreamState {
  #state = new Uint8Array(SS_STATE_BYTES);

  /** Initialises from a 32-byte key and a 24-byte header. */
  constructor(key: Uint8Array, header: Uint8Array) {
    wasmKernels().secretstreamInit(key, header, this.#state);
  }

  push(message: Uint8Array, tag: number, out: Uint8Array, offset: number): void {
    wasmKernels().secretstreamPush(this.#state, message, tag, out, offset);
  }

  pull(ciphertext: Uint8Array): { message: Uint8Array; tag: number } | null {
    return wasmKernels().secretstreamPull(this.#state, ciphertext);
  }

  rekey(): void {
    wasmKernels().secretstreamRekey(this.#state);
  }
}

function makeState(
  key: Uint8Array,
  header: Uint8Array,
  path: CryptoPath,
): SecretstreamState {
  if (key.length !== SECRETSTREAM_KEY_BYTES) {
    throw new PigeonError("BAD_ARGUMENT", `Secretstream key must be 32 bytes, got ${key.length}`);
  }
  if (header.length !== SECRETSTREAM_HEADER_BYTES) {
    throw new PigeonError(
      "BAD_ARGUMENT",
      `Secretstream header must be 24 bytes, got ${header.length}`,
    );
  }
  return path === "wasm"
    ? new WasmSecretstreamState(key, header)
    : new ReferenceSecretstreamState(key, header);
}

function checkTag(tag: number): void {
  if (!Number.isInteger(tag) || tag < 0 || tag > 255) {
    throw new PigeonError("BAD_ARGUMENT", `Secretstream tag must be a byte, got ${tag}`);
  }
}

/**
 * The sending half (`init_push` + `push`).
 *
 * @example Round trip
 * ```ts
 * import { SecretstreamPull, SecretstreamPush } from "./secretstream.ts";
 * const key = new Uint8Array(32).fill(7);
 * const tx = new SecretstreamPush(key);
 * const rx = new SecretstreamPull(key, tx.header);
 * const m = rx.pull(tx.push(new TextEncoder().encode("hi")));
 * if (new TextDecoder().decode(m) !== "hi") throw new Error("unexpected");
 * ```
 */
export class SecretstreamPush {
  /** The 24-byte header the receiver needs (random unless one was given). */
  readonly header: Uint8Array;
  /** The crypto path this stream runs on. */
  readonly path: CryptoPath;
  #state: SecretstreamState;

  /**
   * @param key 32-byte key (the Noise split's `tx`)
   * @param header 24-byte header; drawn with `crypto.getRandomValues` when absent
   */
  constructor(key: Uint8Array, header?: Uint8Array, options: SecretstreamOptions = {}) {
    this.header = header === undefined
      ? crypto.getRandomValues(new Uint8Array(SECRETSTREAM_HEADER_BYTES))
      : header.slice();
    this.path = options.path ?? cryptoPath();
    this.#state = makeState(key, this.header, this.path);
  }

  /** Encrypts `message`; returns `1 + message.length + 16` bytes. */
  push(message: Uint8Array, tag: number = TAG_MESSAGE): Uint8Array {
    const out = new Uint8Array(message.length + SECRETSTREAM_ABYTES);
    this.pushInto(message, out, 0, tag);
    return out;
  }

  /**
   * Encrypts `message` straight into `out` at `offset` (which must have
   * `message.length + 17` bytes free there), e.g. after a frame's length
   * prefix, saving {@link push}'s buffer and copy. Returns the bytes written.
   */
  pushInto(message: Uint8Array, out: Uint8Array, offset = 0, tag: number = TAG_MESSAGE): number {
    checkTag(tag);
    if (message.length > MAX_SECRETSTREAM_MESSAGE_BYTES) {
      throw new PigeonError("BAD_ARGUMENT", `Secretstream message too long: ${message.length}`);
    }
    const size = message.length + SECRETSTREAM_ABYTES;
    if (!Number.isInteger(offset) || offset < 0 || offset + size > out.length) {
      throw new PigeonError("BAD_ARGUMENT", `No room for ${size} bytes at offset ${offset}`);
    }
    this.#state.push(message, tag, out, offset);
    return size;
  }

  /** Explicit rekey; the receiver must call {@link SecretstreamPull.rekey} at the same point. */
  rekey(): void {
    this.#state.rekey();
  }
}

/** The receiving half (`init_pull` + `pull`). */
export class SecretstreamPull {
  /** The crypto path this stream runs on. */
  readonly path: CryptoPath;
  #state: SecretstreamState;
  #lastTag = TAG_MESSAGE;

  /**
   * @param key 32-byte key (the Noise split's `rx`)
   * @param header the sender's 24-byte header
   */
  constructor(key: Uint8Array, header: Uint8Array, options: SecretstreamOptions = {}) {
    this.path = options.path ?? cryptoPath();
    this.#state = makeState(key, header, this.path);
  }

  /** The tag of the last message {@link pull} accepted. */
  get lastTag(): number {
    return this.#lastTag;
  }

  /**
   * Decrypts one message.
   *
   * @throws {PigeonError} `PROTOCOL_ERROR` when the ciphertext is shorter than
   * 17 bytes or its MAC does not verify (the state is then unchanged)
   */
  pull(ciphertext: Uint8Array): Uint8Array {
    if (ciphertext.length < SECRETSTREAM_ABYTES) {
      throw new PigeonError(
        "PROTOCOL_ERROR",
        `Secretstream message shorter than 17 bytes: ${ciphertext.length}`,
      );
    }
    const r = this.#state.pull(ciphertext);
    if (r === null) {
      throw new PigeonError("PROTOCOL_ERROR", "Secretstream message failed authentication");
    }
    this.#lastTag = r.tag;
    return r.message;
  }

  /** Explicit rekey, mirroring the sender's {@link SecretstreamPush.rekey}. */
  rekey(): void {
    this.#state.rekey();
  }
}
