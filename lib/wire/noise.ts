/**
 * Noise_XX_Ed25519_ChaChaPoly_BLAKE2b, the handshake of
 * @hyperswarm/secret-stream (SPEC d.2).
 *
 * | message       | tokens          | bytes (empty payloads)                    |
 * |---------------|-----------------|-------------------------------------------|
 * | 1 initiator → | e               | e (32) · payload (0)                      |
 * | 2 ← responder | e, ee, s, es    | e (32) · enc(s) (48) · enc(payload) (16)  |
 * | 3 initiator → | s, se           | enc(s) (48) · enc(payload) (16)           |
 *
 * Hash BLAKE2b-512; `h` starts as the protocol name zero-padded to 64 bytes,
 * `ck = h`, then the (empty) prologue is mixed in. HKDF is HMAC-BLAKE2b-512
 * (`lib/crypto/hkdf.ts`). Cipher ChaCha20-Poly1305 IETF with nonce
 * `00000000 || u64le(n)` and the current `h` as associated data. DH is
 * Ed25519 point multiplication (`lib/crypto/ed25519_dh.ts`); keys are Ed25519
 * key pairs. Split: `(k1, k2) = HKDF(ck, "")`, initiator `tx = k1[0..32]`,
 * `rx = k2[0..32]`, responder the reverse.
 *
 * Everything a peer can get wrong (short message, bad MAC, invalid point)
 * throws `PigeonError("PROTOCOL_ERROR")`; calling the machine out of turn is a
 * `BAD_ARGUMENT`.
 *
 * @module
 */

import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { blake2b } from "../crypto/blake2b.ts";
import { concat } from "../crypto/bytes.ts";
import { ed25519Dh } from "../crypto/ed25519_dh.ts";
import { HASH_BYTES, hkdf } from "../crypto/hkdf.ts";
import { type KeyPair, keyPair as makeKeyPair } from "../crypto/ed25519.ts";
import { PigeonError } from "../errors.ts";

/** The Noise protocol name secret-stream uses. */
export const PROTOCOL_NAME = "Noise_XX_Ed25519_ChaChaPoly_BLAKE2b";
/** Size of a public key (an Ed25519 point) in a handshake message. */
export const PUBLIC_KEY_BYTES = 32;
/** Size of a ChaCha20-Poly1305 tag. */
export const MAC_BYTES = 16;
/** Size of the split keys (the secretstream keys). */
export const SPLIT_KEY_BYTES = 32;
/** Largest handshake payload accepted; secret-stream sends empty payloads. */
export const MAX_PAYLOAD_BYTES = 1024;
/** Largest handshake message: message 2 with a maximal payload. */
export const MAX_HANDSHAKE_MESSAGE_BYTES = PUBLIC_KEY_BYTES * 2 + MAC_BYTES * 2 +
  MAX_PAYLOAD_BYTES;

const EMPTY = new Uint8Array(0);

/**
 * The Noise SymmetricState: `h`, `ck` and the current cipher key.
 * Exposed for tests that replay the vector's per-step trace.
 */
export class SymmetricState {
  #h: Uint8Array;
  #ck: Uint8Array;
  #key: Uint8Array | null = null;
  #nonce = 0;

  /** InitializeSymmetric(protocolName): a name ≤ 64 bytes is zero-padded. */
  constructor(protocolName: string = PROTOCOL_NAME) {
    const name = new TextEncoder().encode(protocolName);
    this.#h = name.byteLength <= HASH_BYTES ? new Uint8Array(HASH_BYTES) : blake2b([name], 64);
    if (name.byteLength <= HASH_BYTES) this.#h.set(name);
    this.#ck = this.#h.slice();
  }

  /** The current handshake hash `h` (a copy). */
  get hash(): Uint8Array {
    return this.#h.slice();
  }

  /** The current chaining key `ck` (a copy). */
  get chainingKey(): Uint8Array {
    return this.#ck.slice();
  }

  /** The current cipher key, or null before the first MixKey (a copy). */
  get cipherKey(): Uint8Array | null {
    return this.#key === null ? null : this.#key.slice();
  }

  /** `h = BLAKE2b-512(h || data)`. */
  mixHash(data: Uint8Array): void {
    this.#h = blake2b([this.#h, data], HASH_BYTES);
  }

  /** `(ck, k) = HKDF(ck, ikm)`; the cipher key is the first 32 bytes of `k`, nonce 0. */
  mixKey(ikm: Uint8Array): void {
    const [ck, k] = hkdf(this.#ck, ikm);
    this.#ck = ck;
    this.#key = k.slice(0, SPLIT_KEY_BYTES);
    this.#nonce = 0;
  }

  /** Encrypts `plaintext` with `h` as AD (or passes it through before any key) and mixes the result. */
  encryptAndHash(plaintext: Uint8Array): Uint8Array {
    let out: Uint8Array;
    if (this.#key === null) {
      out = plaintext.slice();
    } else {
      out = chacha20poly1305(this.#key, this.#nextNonce(), this.#h).encrypt(plaintext);
    }
    this.mixHash(out);
    return out;
  }

  /** The inverse of {@link encryptAndHash}; a bad tag is a PROTOCOL_ERROR. */
  decryptAndHash(ciphertext: Uint8Array): Uint8Array {
    let out: Uint8Array;
    if (this.#key === null) {
      out = ciphertext.slice();
    } else {
      if (ciphertext.byteLength < MAC_BYTES) {
        throw new PigeonError("PROTOCOL_ERROR", "Noise ciphertext shorter than its tag");
      }
      try {
        out = chacha20poly1305(this.#key, this.#nextNonce(), this.#h).decrypt(ciphertext);
      } catch (cause) {
        throw new PigeonError("PROTOCOL_ERROR", "Noise handshake message failed to decrypt", {
          cause,
        });
      }
    }
    this.mixHash(ciphertext);
    return out;
  }

  /** `(k1, k2) = HKDF(ck, "")`, each truncated to 32 bytes. */
  split(): [Uint8Array, Uint8Array] {
    const [k1, k2] = hkdf(this.#ck, EMPTY);
    return [k1.slice(0, SPLIT_KEY_BYTES), k2.slice(0, SPLIT_KEY_BYTES)];
  }

  #nextNonce(): Uint8Array {
    const nonce = new Uint8Array(12);
    const n = this.#nonce++;
    // 00 00 00 00 || u64le(n); n stays far below 2^32 during a handshake.
    new DataView(nonce.buffer).setUint32(4, n, true);
    return nonce;
  }
}

/** What a completed handshake yields. */
export interface HandshakeResult {
  /** Key for what this side sends (32 bytes). */
  tx: Uint8Array;
  /** Key for what this side receives (32 bytes). */
  rx: Uint8Array;
  /** The final `h` (64 bytes); both sides agree on it. */
  handshakeHash: Uint8Array;
  /** The peer's static Ed25519 public key (its identity). */
  remotePublicKey: Uint8Array;
}

/** Options for {@link NoiseHandshake}. */
export interface NoiseHandshakeOptions {
  /** A fixed ephemeral key pair (tests only: reusing one breaks secrecy). */
  ephemeralKeyPair?: KeyPair;
  /** The prologue; secret-stream uses an empty one. */
  prologue?: Uint8Array;
}

/**
 * One side of a Noise XX handshake. The initiator calls `send`, `recv`,
 * `send`; the responder `recv`, `send`, `recv`. Then {@link result} is set.
 *
 * @example A handshake in memory
 * ```ts
 * import { NoiseHandshake } from "./noise.ts";
 * import { keyPair } from "../crypto/ed25519.ts";
 * const a = new NoiseHandshake(true, keyPair());
 * const b = new NoiseHandshake(false, keyPair());
 * b.recv(a.send());
 * a.recv(b.send());
 * b.recv(a.send());
 * if (a.result!.tx.join() !== b.result!.rx.join()) throw new Error("keys differ");
 * ```
 */
export class NoiseHandshake {
  /** True for the side that sends the first message. */
  readonly isInitiator: boolean;
  /** This side's static key pair. */
  readonly keyPair: KeyPair;
  #state = new SymmetricState();
  #e: KeyPair | null = null;
  #presetE: KeyPair | null;
  #re: Uint8Array | null = null;
  #rs: Uint8Array | null = null;
  #step = 0;
  #result: HandshakeResult | null = null;

  /** Starts a handshake; `staticKeyPair.secretKey` is the 64-byte libsodium form. */
  constructor(isInitiator: boolean, staticKeyPair: KeyPair, options: NoiseHandshakeOptions = {}) {
    if (staticKeyPair.secretKey.byteLength !== 64 || staticKeyPair.publicKey.byteLength !== 32) {
      throw new PigeonError(
        "BAD_ARGUMENT",
        "Static key pair must be 32-byte public, 64-byte secret",
      );
    }
    this.isInitiator = isInitiator;
    this.keyPair = staticKeyPair;
    this.#presetE = options.ephemeralKeyPair ?? null;
    this.#state.mixHash(options.prologue ?? EMPTY);
  }

  /** True once all three messages have passed. */
  get complete(): boolean {
    return this.#result !== null;
  }

  /** The outcome, or null before completion. */
  get result(): HandshakeResult | null {
    return this.#result;
  }

  /** The current handshake hash `h` (a copy), for tracing. */
  get hash(): Uint8Array {
    return this.#state.hash;
  }

  /** True when the next call must be {@link send} (false: {@link recv}). */
  get sending(): boolean {
    return this.#result === null && (this.#step % 2 === 0) === this.isInitiator;
  }

  /** Writes the next handshake message carrying `payload`. */
  send(payload: Uint8Array = EMPTY): Uint8Array {
    if (!this.sending) {
      throw new PigeonError("BAD_ARGUMENT", "Noise handshake: not our turn to send");
    }
    if (payload.byteLength > MAX_PAYLOAD_BYTES) {
      throw new PigeonError("BAD_ARGUMENT", `Handshake payload too large: ${payload.byteLength}`);
    }
    const s = this.#state;
    const parts: Uint8Array[] = [];
    if (this.#step === 0) {
      // -> e
      parts.push(this.#ephemeral());
    } else if (this.#step === 1) {
      // <- e, ee, s, es
      parts.push(this.#ephemeral());
      s.mixKey(ed25519Dh(this.#re!, this.#e!.secretKey));
      parts.push(s.encryptAndHash(this.keyPair.publicKey));
      s.mixKey(ed25519Dh(this.#re!, this.keyPair.secretKey));
    } else {
      // -> s, se
      parts.push(s.encryptAndHash(this.keyPair.publicKey));
      s.mixKey(ed25519Dh(this.#re!, this.keyPair.secretKey));
    }
    parts.push(s.encryptAndHash(payload));
    this.#advance();
    return concat(parts);
  }

  /** Reads the peer's next handshake message and returns its payload. */
  recv(message: Uint8Array): Uint8Array {
    if (this.sending || this.#result !== null) {
      throw new PigeonError("BAD_ARGUMENT", "Noise handshake: not our turn to receive");
    }
    if (message.byteLength > MAX_HANDSHAKE_MESSAGE_BYTES) {
      throw new PigeonError("PROTOCOL_ERROR", `Handshake message too large: ${message.byteLength}`);
    }
    const s = this.#state;
    let at = 0;
    const take = (n: number): Uint8Array => {
      if (message.byteLength - at < n) {
        throw new PigeonError(
          "PROTOCOL_ERROR",
          `Handshake message ${this.#step + 1} too short: ${message.byteLength} bytes`,
        );
      }
      // Copy: the caller may reuse its buffer (SPEC gotcha h.14).
      const part = message.slice(at, at + n);
      at += n;
      return part;
    };
    if (this.#step === 0) {
      // -> e
      this.#re = take(PUBLIC_KEY_BYTES);
      s.mixHash(this.#re);
    } else if (this.#step === 1) {
      // <- e, ee, s, es
      this.#re = take(PUBLIC_KEY_BYTES);
      s.mixHash(this.#re);
      s.mixKey(ed25519Dh(this.#re, this.#e!.secretKey));
      this.#rs = s.decryptAndHash(take(PUBLIC_KEY_BYTES + MAC_BYTES));
      s.mixKey(ed25519Dh(this.#rs, this.#e!.secretKey));
    } else {
      // -> s, se
      this.#rs = s.decryptAndHash(take(PUBLIC_KEY_BYTES + MAC_BYTES));
      s.mixKey(ed25519Dh(this.#rs, this.#e!.secretKey));
    }
    const payload = s.decryptAndHash(message.subarray(at));
    this.#advance();
    return payload;
  }

  #ephemeral(): Uint8Array {
    this.#e = this.#presetE ?? makeKeyPair();
    this.#presetE = null;
    this.#state.mixHash(this.#e.publicKey);
    return this.#e.publicKey;
  }

  #advance(): void {
    this.#step++;
    if (this.#step < 3) return;
    const [k1, k2] = this.#state.split();
    this.#result = {
      tx: this.isInitiator ? k1 : k2,
      rx: this.isInitiator ? k2 : k1,
      handshakeHash: this.#state.hash,
      remotePublicKey: this.#rs!,
    };
    this.#e = null;
  }
}
