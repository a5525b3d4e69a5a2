/**
 * Reads a {@link ByteStream} in large chunks.
 *
 * On a transport with `read(buffer)` (a `Deno.Conn`) each read fills one
 * reusable buffer of {@link READ_BUFFER_BYTES} with as much as the socket
 * holds: one async op per up to 256 KiB instead of one per 64 KiB chunk of
 * `readable`, and most 64 KiB frames then arrive whole, so the frame decoder
 * returns them as views instead of copying them together. Other transports
 * (in-memory pipes in tests) are read through `readable`.
 *
 * @module
 */

import type { ByteStream } from "./byte_stream.ts";

/**
 * Size of the reusable read buffer. Four 64 KiB blocks with their framing
 * fit, so a busy socket yields several whole frames per read (measured with
 * bench/send_recv_vs_hypercore.ts).
 */
export const READ_BUFFER_BYTES = 256 * 1024;

/** Size of a read whose bytes may be kept (handshake messages are at most a few hundred bytes). */
const SINGLE_USE_READ_BYTES = 64 * 1024;

/** Sequential reads from a byte stream. */
export class TransportReader {
  readonly #transport: ByteStream;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array> | null;
  #buffer: Uint8Array | null = null;

  /** Reads `transport` (which must not be read by anyone else). */
  constructor(transport: ByteStream) {
    this.#transport = transport;
    this.#reader = transport.read ? null : transport.readable.getReader();
  }

  /**
   * The next bytes, or null at the end of the stream.
   *
   * @param reuse when true the returned view may share memory with the
   *   previous result, so it is valid only until the next call; pass false
   *   while anything may keep a view of it (the Noise handshake).
   */
  async read(reuse: boolean): Promise<Uint8Array | null> {
    if (this.#reader) {
      const { value, done } = await this.#reader.read();
      return done ? null : value;
    }
    // A buffer handed out with reuse = false is never written again.
    const buffer = reuse
      ? (this.#buffer ??= new Uint8Array(READ_BUFFER_BYTES))
      : new Uint8Array(SINGLE_USE_READ_BYTES);
    const n = await this.#transport.read!(buffer);
    if (n === null) return null;
    return buffer.subarray(0, n);
  }

  /** Stops reading (a pending read settles once the transport closes). */
  cancel(): void {
    this.#reader?.cancel().catch(() => {});
  }
}
