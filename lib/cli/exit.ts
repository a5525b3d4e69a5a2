/**
 * Process exit codes, and THE table that maps library error codes to them.
 *
 * Exit codes are part of pigeon's interface (scripts branch on them); they are
 * listed in the README and never change meaning.
 *
 * | code | meaning                                                  |
 * |------|----------------------------------------------------------|
 * | 0    | ok                                                       |
 * | 1    | unexpected error (a bug, or the system refused)          |
 * | 2    | usage or bad input (unknown command, bad flag, bad link) |
 * | 3    | nothing found (no peer, unknown key, timeout)            |
 * | 4    | integrity failure (data or a peer failed verification)   |
 * | 130  | interrupted (SIGINT, SIGTERM)                            |
 *
 * @module
 */

import type { ErrorCode } from "../errors.ts";
import { PigeonError } from "../errors.ts";

/** The exit codes pigeon uses, by name. */
export const EXIT = {
  /** Success. */
  OK: 0,
  /** An unexpected error: a bug, or the operating system refused something. */
  ERROR: 1,
  /** Usage or bad input: unknown command, bad flag, malformed link or argument. */
  USAGE: 2,
  /** Nothing found: no peer answered, the key is unknown, a wait timed out. */
  NOT_FOUND: 3,
  /** Integrity failure: data or a peer failed verification. */
  INTEGRITY: 4,
  /** Interrupted by SIGINT or SIGTERM (128 + 2, as shells report). */
  INTERRUPTED: 130,
} as const;

/** One of the exit codes in {@link EXIT}. */
export type ExitCode = typeof EXIT[keyof typeof EXIT];

/**
 * The exit code for each library error code. `satisfies` makes adding a code
 * to `lib/errors.ts` without a row here a compile error.
 */
export const EXIT_BY_ERROR_CODE: Readonly<Record<ErrorCode, ExitCode>> = {
  BAD_ARGUMENT: EXIT.USAGE,
  INVALID_LINK: EXIT.USAGE,
  NOT_WRITABLE: EXIT.USAGE, // asked to change a data set this machine has no key for
  NOT_FOUND: EXIT.NOT_FOUND,
  NOT_AVAILABLE: EXIT.NOT_FOUND, // no peer had the block
  TIMEOUT: EXIT.NOT_FOUND,
  DECODE_ERROR: EXIT.INTEGRITY,
  INVALID_PROOF: EXIT.INTEGRITY,
  INVALID_SIGNATURE: EXIT.INTEGRITY,
  CORRUPT_STORAGE: EXIT.INTEGRITY,
  PROTOCOL_ERROR: EXIT.INTEGRITY, // a peer sent bytes that failed a check (MAC, framing, proof)
  LOCKED: EXIT.ERROR,
  CLOSED: EXIT.ERROR, // becomes 130 when a signal caused it (see main.ts)
} satisfies Record<ErrorCode, ExitCode>;

/**
 * An error the CLI itself raises for bad usage (unknown command, bad flag,
 * wrong number of arguments); always exit code 2.
 */
export class UsageError extends Error {
  /** Creates a usage error with a one-line message. */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** The exit code for any thrown value. */
export function exitCodeFor(err: unknown): ExitCode {
  if (err instanceof UsageError) return EXIT.USAGE;
  if (err instanceof PigeonError) return EXIT_BY_ERROR_CODE[err.code] ?? EXIT.ERROR;
  if (err instanceof Deno.errors.NotFound) return EXIT.USAGE; // a path the user named is missing
  if (err instanceof Deno.errors.TimedOut) return EXIT.NOT_FOUND;
  if (err instanceof Deno.errors.Interrupted) return EXIT.INTERRUPTED;
  return EXIT.ERROR;
}
