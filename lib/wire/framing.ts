/**
 * Transport framing of secret-stream (SPEC d.1): every message, in both
 * directions, is a 3-byte little-endian length then that many bytes.
 *
 * | bytes | field                                |
 * |-------|--------------------------------------|
 * | 3     | u24le length n (0 … 2^24 − 1)         |
 * | n     | payload                              |
 *
 * The transport may split and coalesce frames arbitrarily; {@link FrameDecoder}
 * reassembles them by length, with a maximum frame size the caller may lower
 * (for example while a handshake is running) so a bogus length is rejected as
 * soon as its 3 bytes arrive instead of waiting for megabytes of garbage.
 *
 * @module
 */

import { PigeonError } from "../errors.ts";

/** Size of the length prefix. */
export const FRAME_HEADER_BYTES = 3;
/** Largest payload a u24 length can describe. */
export const MAX_FRAME_BYTES = 0xffffff;
/** Most bytes allocated for a frame before its bytes arrive (replication frames are ~64 KiB). */
export const PREALLOCATE_BYTES = 256 * 1024;

/**
 * Prefixes `payload` with its u24le length.
 *
 * @example
 * ```ts
 * import { encodeFrame } from "./framing.ts";
 * const frame = encodeFrame(new Uint8Array([7, 8]));
 * if (frame.join() !== "2,0,0,7,8") throw new Error("unexpected");
 * ```
 */
export function encodeFrame(payload: Uint8Array): Uint8Array {
  const frame = new Uint8Array(FRAME_HEADER_BYTES + payload.byteLength);
  writeFrameHeader(frame, 0, payload.byteLength);
  frame.set(payload, FRAME_HEADER_BYTES);
  return frame;
}

/** Writes the u24le length `length` at `offset` of `out`. */
export function writeFrameHeader(out: Uint8Array, offset: number, length: number): void {
  if (!Number.isInteger(length) || length < 0 || length > MAX_FRAME_BYTES) {
    throw new PigeonError("BAD_ARGUMENT", `Frame payload of ${length} bytes exceeds the u24 limit`);
  }
  out[offset] = length & 0xff;
  out[offset + 1] = (length >>> 8) & 0xff;
  out[offset + 2] = length >>> 16;
}

/**
 * Reassembles frames from arbitrarily chunked bytes.
 *
 * Feed chunks with {@link push}, then call {@link next} until it returns
 * null. A frame that arrived whole inside one chunk is returned as a view of
 * that chunk (no copy); one spanning chunks is copied once into its own
 * buffer.
 *
 * @example
 * ```ts
 * import { FrameDecoder } from "./framing.ts";
 * const d = new FrameDecoder();
 * d.push(new Uint8Array([2, 0]));
 * if (d.next() !== null) throw new Error("too early");
 * d.push(new Uint8Array([0, 9, 9, 1, 0, 0, 5]));
 * if (d.next()?.join() !== "9,9" || d.next()?.join() !== "5") throw new Error("unexpected");
 * ```
 */
export class FrameDecoder {
  /** Largest accepted payload; may be changed between frames. */
  maxFrameBytes: number;
  #chunk: Uint8Array = new Uint8Array(0);
  #offset = 0;
  #header = new Uint8Array(FRAME_HEADER_BYTES);
  #frameLength = 0;
  #headerFill = 0;
  #frame: Uint8Array | null = null;
  #frameFill = 0;

  /** @param maxFrameBytes the largest payload accepted (default {@link MAX_FRAME_BYTES}) */
  constructor(maxFrameBytes: number = MAX_FRAME_BYTES) {
    this.maxFrameBytes = maxFrameBytes;
  }

  /** Bytes held that do not yet form a complete frame (after {@link next} returned null). */
  get buffered(): number {
    return this.#headerFill + this.#frameFill + (this.#chunk.byteLength - this.#offset);
  }

  /** True when no partial frame is held (a clean place for the stream to end). */
  get idle(): boolean {
    return this.buffered === 0;
  }

  /** Adds received bytes. Call {@link next} until null before pushing again. */
  push(chunk: Uint8Array): void {
    if (this.#offset < this.#chunk.byteLength) {
      throw new PigeonError("BAD_ARGUMENT", "FrameDecoder.push before the last chunk was drained");
    }
    this.#chunk = chunk;
    this.#offset = 0;
  }

  /**
   * The next complete frame's payload, or null when more bytes are needed.
   *
   * @throws {PigeonError} `PROTOCOL_ERROR` when a length exceeds {@link maxFrameBytes}
   */
  next(): Uint8Array | null {
    const chunk = this.#chunk;
    if (this.#frame === null) {
      // Read (the rest of) the length prefix.
      if (this.#headerFill === 0 && chunk.byteLength - this.#offset >= FRAME_HEADER_BYTES) {
        const at = this.#offset;
        const length = chunk[at]! | (chunk[at + 1]! << 8) | (chunk[at + 2]! << 16);
        this.#checkLength(length);
        this.#offset += FRAME_HEADER_BYTES;
        if (chunk.byteLength - this.#offset >= length) {
          const frame = chunk.subarray(this.#offset, this.#offset + length);
          this.#offset += length;
          return frame;
        }
        this.#startFrame(length);
      } else {
        while (this.#headerFill < FRAME_HEADER_BYTES && this.#offset < chunk.byteLength) {
          this.#header[this.#headerFill++] = chunk[this.#offset++]!;
        }
        if (this.#headerFill < FRAME_HEADER_BYTES) return null;
        const h = this.#header;
        const length = h[0]! | (h[1]! << 8) | (h[2]! << 16);
        this.#headerFill = 0;
        this.#checkLength(length);
        this.#startFrame(length);
      }
    }
    // Fill the partial frame, growing its buffer as bytes actually arrive.
    const take = Math.min(this.#frameLength - this.#frameFill, chunk.byteLength - this.#offset);
    if (this.#frameFill + take > this.#frame!.byteLength) {
      const grown = new Uint8Array(
        Math.min(this.#frameLength, Math.max(this.#frameFill + take, 2 * this.#frame!.byteLength)),
      );
      grown.set(this.#frame!.subarray(0, this.#frameFill));
      this.#frame = grown;
    }
    const frame = this.#frame!;
    frame.set(chunk.subarray(this.#offset, this.#offset + take), this.#frameFill);
    this.#frameFill += take;
    this.#offset += take;
    if (this.#frameFill < this.#frameLength) return null;
    this.#frame = null;
    this.#frameFill = 0;
    return frame;
  }

  /**
   * Starts a frame of `length` bytes. Its buffer starts at most
   * {@link PREALLOCATE_BYTES} and grows with what arrives, so a peer that
   * announces a 16 MiB frame and sends nothing costs nothing.
   */
  #startFrame(length: number): void {
    this.#frame = new Uint8Array(Math.min(length, PREALLOCATE_BYTES));
    this.#frameLength = length;
    this.#frameFill = 0;
  }

  #checkLength(length: number): void {
    if (length > this.maxFrameBytes) {
      throw new PigeonError(
        "PROTOCOL_ERROR",
        `Frame of ${length} bytes exceeds the limit of ${this.maxFrameBytes}`,
      );
    }
  }
}
