/**
 * Which crypto path pigeon uses: the WebAssembly kernels (`"wasm"`, the
 * default) or the pure-TypeScript @noble reference (`"ts"`).
 *
 * The choice comes from the `PIGEON_CRYPTO` environment variable, read once
 * when this module loads. A missing variable, an unknown value or a missing
 * `--allow-env` permission all mean the default. `blake2b.ts` and
 * `secretstream.ts` consult {@link cryptoPath} themselves, so callers get the
 * selected path without importing anything extra.
 *
 * @module
 */

/** The two crypto paths. */
export type CryptoPath = "ts" | "wasm";

/** The environment variable that selects the path. */
export const CRYPTO_ENV = "PIGEON_CRYPTO";

/** The path used when the environment says nothing usable. */
export const DEFAULT_CRYPTO_PATH: CryptoPath = "wasm";

/** Parses a `PIGEON_CRYPTO` value; `undefined` or anything unknown gives the default. */
export function parseCryptoPath(value: string | undefined): CryptoPath {
  const v = value?.trim().toLowerCase();
  return v === "ts" || v === "wasm" ? v : DEFAULT_CRYPTO_PATH;
}

function readEnv(): string | undefined {
  try {
    // Query first so a missing permission never prompts.
    const state = Deno.permissions.querySync({ name: "env", variable: CRYPTO_ENV }).state;
    if (state !== "granted") return undefined;
    return Deno.env.get(CRYPTO_ENV);
  } catch {
    return undefined;
  }
}

const selected: CryptoPath = parseCryptoPath(readEnv());

/** The path selected by `PIGEON_CRYPTO` at start-up. */
export function cryptoPath(): CryptoPath {
  return selected;
}
