/**
 * Loads test vectors copied from shared/protocol/vectors into tests/fixtures.
 *
 * @module
 */

import { fromHex } from "../../lib/crypto/bytes.ts";

/** Parses `tests/fixtures/<name>` as JSON. */
export function fixture<T = Record<string, unknown>>(name: string): T {
  const url = new URL(`../fixtures/${name}`, import.meta.url);
  return JSON.parse(Deno.readTextFileSync(url)) as T;
}

/** Hex to bytes, for fixture fields. */
export const hex: (s: string) => Uint8Array = fromHex;
