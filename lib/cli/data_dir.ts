/**
 * Where pigeon keeps its state on disk (documented in the README, "Data folder").
 *
 * - The data folder, {@link dataDir}: state that belongs to no working folder —
 *   the key pairs of data sets this machine writes (`send`, `create`), logs
 *   received without a target folder (`recv`), and known peers. It is
 *   `$PIGEON_HOME` if set, else `$XDG_DATA_HOME/pigeon`, else
 *   `~/.local/share/pigeon` (`%LOCALAPPDATA%\pigeon` on Windows).
 * - A shared or cloned folder keeps its logs in {@link FOLDER_STATE_DIR}
 *   inside it, like `.git`, so the files stay plain files next to it.
 *
 * @module
 */

import { PigeonError } from "../errors.ts";

/** The per-folder state directory, inside a shared or cloned folder. */
export const FOLDER_STATE_DIR = ".pigeon";

/** The environment variable that overrides the data folder. */
export const DATA_DIR_ENV = "PIGEON_HOME";

/**
 * The data folder for this user, from environment variables (see the module doc).
 *
 * @throws {PigeonError} `BAD_ARGUMENT` when no home folder is known and
 * `PIGEON_HOME` is not set.
 */
export function dataDir(env: (name: string) => string | undefined): string {
  const explicit = env(DATA_DIR_ENV);
  if (explicit) return explicit;
  const xdg = env("XDG_DATA_HOME");
  if (xdg) return join(xdg, "pigeon");
  if (Deno.build.os === "windows") {
    const local = env("LOCALAPPDATA");
    if (local) return `${local}\\pigeon`;
  }
  const home = env("HOME");
  if (home) return join(home, ".local/share/pigeon");
  throw new PigeonError(
    "BAD_ARGUMENT",
    `No home folder is known: set ${DATA_DIR_ENV} to the folder pigeon may keep its data in`,
  );
}

function join(base: string, rest: string): string {
  return base.endsWith("/") ? base + rest : `${base}/${rest}`;
}
