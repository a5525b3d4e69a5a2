/**
 * Logs (single cores) in the data folder: `<store>/cores/<discovery key hex>/`.
 * Named by discovery key, so a folder listing never shows a key.
 *
 * @module
 */

import { Core } from "../core/core.ts";
import { FileStorage } from "../core/file_storage.ts";
import { toHex } from "../crypto/bytes.ts";
import { discoveryKey } from "../core/caps.ts";
import type { KeyPair } from "../crypto/ed25519.ts";
import { dataDir } from "./data_dir.ts";
import type { Io } from "./command.ts";

/** The store folder: `--store DIR`, else the data folder. */
export function storeDir(io: Io, store: string | undefined): string {
  return store ?? dataDir((name) => io.env(name));
}

/** The folder of the log with `key` in `store`. */
export function logDir(store: string, key: Uint8Array): string {
  return `${store}/cores/${toHex(discoveryKey(key))}`;
}

/** Creates a new writable log in `store` (fresh key pair unless given). */
export async function createLog(store: string, keyPair?: KeyPair): Promise<Core> {
  const scratch = `${store}/cores/.new-${crypto.randomUUID()}`;
  const core = await Core.open(new FileStorage(scratch), keyPair ? { keyPair } : {});
  const key = core.key;
  await core.close();
  const dir = logDir(store, key);
  await Deno.rename(scratch, dir);
  return await Core.open(new FileStorage(dir));
}

/** Opens (or starts) the log with `key` in `store`, writable if its secret key is there. */
export function openLog(store: string, key: Uint8Array): Promise<Core> {
  return Core.open(new FileStorage(logDir(store, key)), { key });
}
