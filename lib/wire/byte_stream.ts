/**
 * The transport under a secret-stream: any duplex byte stream.
 *
 * A `Deno.Conn` satisfies {@link ByteStream} as is. Note that on a
 * `Deno.Conn`, reaching the end of `readable` or cancelling it closes the
 * whole connection, so `close()` may then throw `BadResource`; users of this
 * interface call `close()` inside a try.
 *
 * @module
 */

/** A duplex byte stream: what TCP (or an in-memory pipe) offers. */
export interface ByteStream {
  /** Bytes from the peer. */
  readable: ReadableStream<Uint8Array>;
  /** Bytes to the peer. */
  writable: WritableStream<Uint8Array>;
  /** Closes both directions and releases the resource. */
  close(): void;
  /**
   * Optional direct read into `buffer` (a `Deno.Conn` has it): resolves with
   * the number of bytes read, or null at the end. When present it is used
   * instead of `readable`, which is then never touched.
   */
  read?(buffer: Uint8Array): Promise<number | null>;
  /**
   * Optional direct write (a `Deno.Conn` has it): resolves with how many
   * bytes of `buffer` were written. When present it is used instead of
   * `writable`, which is then never touched.
   */
  write?(buffer: Uint8Array): Promise<number>;
  /** Optional: turn Nagle's algorithm off (a `Deno.TcpConn` has it). */
  setNoDelay?(noDelay?: boolean): void;
}
