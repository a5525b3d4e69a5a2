/**
 * Small helpers shared by the wire tests.
 *
 * @module
 */

/** `n` random bytes (getRandomValues is limited to 64 KiB per call). */
export function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let at = 0; at < n; at += 65536) {
    crypto.getRandomValues(out.subarray(at, Math.min(n, at + 65536)));
  }
  return out;
}

/** Parses a fixture file from tests/fixtures. */
export function fixture<T>(name: string): T {
  return JSON.parse(Deno.readTextFileSync(new URL(`../fixtures/${name}`, import.meta.url))) as T;
}

/** Resolves with `promise`, or rejects after `ms` milliseconds (the timer is always cleared). */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Timed out after ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
