/**
 * What protomux needs from the layer below it: an ordered, message-oriented
 * stream with backpressure. `SecretStream` implements it; tests can plug in
 * an in-memory pair.
 *
 * @module
 */

import type { PigeonError } from "../errors.ts";

/**
 * Receives one message. Returning a promise pauses delivery (and reading
 * from the transport) until it settles; a rejection destroys the stream.
 */
export type MessageHandler = (message: Uint8Array) => void | Promise<void>;

/** An ordered stream of whole messages in both directions. */
export interface MessageStream {
  /**
   * Queues one message. Returns false when the caller should wait for
   * {@link drain} before writing more. After the stream is destroyed this
   * drops the message and returns false; it never throws for that reason.
   */
  write(message: Uint8Array): boolean;
  /** Resolves when queued bytes fall below the high-water mark, or on destroy. */
  drain(): Promise<void>;
  /**
   * The receiver of messages, in order. Messages wait (and reading pauses)
   * while it is null.
   */
  onmessage: MessageHandler | null;
  /** Tears the stream down once; `error` (if any) becomes the close reason. */
  destroy(error?: unknown): void;
  /** True once {@link destroy} ran. */
  readonly destroyed: boolean;
  /** Resolves once destroyed, with the error that caused it or null for a clean close. */
  readonly closed: Promise<PigeonError | null>;
}
