/**
 * pigeon's version, embedded at build time from deno.json (a static JSON
 * import: `deno bundle` and `deno compile` inline it, nothing is read at run time).
 *
 * @module
 */

import denoConfig from "../../deno.json" with { type: "json" };

/** pigeon's version, from deno.json. */
export const VERSION: string = denoConfig.version;

/** The line `pigeon --version` prints: `pigeon <version> (deno <version>)`. */
export function versionLine(): string {
  return `pigeon ${VERSION} (deno ${Deno.version.deno})`;
}
