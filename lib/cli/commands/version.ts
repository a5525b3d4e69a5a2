/**
 * `pigeon version`: the same as `pigeon --version`.
 *
 * @module
 */

import { defineCommand } from "../command.ts";
import { VERSION, versionLine } from "../version.ts";

/** `pigeon version`. */
export const version = defineCommand({
  name: "version",
  summary: "Print pigeon's version (same as --version)",
  usage: `Usage: pigeon version

Prints "pigeon <version> (deno <version>)"; with --json, {"event":"version","pigeon":…,"deno":…}.`,
  options: {},
  async run(_args, io) {
    await io.out.result(versionLine(), "version", { pigeon: VERSION, deno: Deno.version.deno });
  },
});
