/**
 * The one error type of pigeon's library code.
 *
 * Library code throws {@link PigeonError} with a string code; only `lib/cli`
 * turns codes into exit codes (see `lib/cli/exit.ts`). A code names what went
 * wrong in a way a caller can branch on; the message names the bad value.
 *
 * @module
 */

/** Every error code pigeon's library can throw. */
export type ErrorCode =
  /** A caller passed an argument that can never be valid. */
  | "BAD_ARGUMENT"
  /** Bytes from a file or a peer do not decode. */
  | "DECODE_ERROR"
  /** A link, key or id string could not be parsed. */
  | "INVALID_LINK"
  /** A proof, hash or signature did not verify. */
  | "INVALID_PROOF"
  /** A signature did not verify against the manifest. */
  | "INVALID_SIGNATURE"
  /** A block or node that is not stored was asked for. */
  | "NOT_AVAILABLE"
  /** The core or drive has no secret key, so it cannot be written. */
  | "NOT_WRITABLE"
  /** Nothing was found: no peer, unknown key, no such file. */
  | "NOT_FOUND"
  /** A bounded wait ran out. */
  | "TIMEOUT"
  /** Another process holds the write lock on a storage folder. */
  | "LOCKED"
  /** A storage file is corrupt or truncated. */
  | "CORRUPT_STORAGE"
  /** A remote peer broke the protocol. */
  | "PROTOCOL_ERROR"
  /** The operation was cancelled (closed, interrupted). */
  | "CLOSED";

/** Options for {@link PigeonError}. */
export interface PigeonErrorOptions {
  /** The error that caused this one. */
  cause?: unknown;
}

/**
 * An error with a machine-readable {@link ErrorCode}.
 *
 * @example Matching on the code
 * ```ts
 * import { PigeonError } from "./errors.ts";
 * const err = new PigeonError("NOT_FOUND", "No peer has the log");
 * if (!(err instanceof PigeonError) || err.code !== "NOT_FOUND") throw new Error("unreachable");
 * ```
 */
export class PigeonError extends Error {
  /** What went wrong, for callers to branch on. */
  readonly code: ErrorCode;

  /** Creates an error with a code and a one-line message. */
  constructor(code: ErrorCode, message: string, options: PigeonErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "PigeonError";
    this.code = code;
  }
}

/** True when `err` is a {@link PigeonError}, optionally with the given code. */
export function isPigeonError(err: unknown, code?: ErrorCode): err is PigeonError {
  return err instanceof PigeonError && (code === undefined || err.code === code);
}
