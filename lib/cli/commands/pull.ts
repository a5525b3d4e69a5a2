/**
 * `pigeon pull [DIR]`: brings a cloned folder to the latest version.
 *
 * @module
 */

import { defineCommand } from "../command.ts";
import { PigeonError } from "../../errors.ts";
import { fetchDrive } from "./_drive_net.ts";
import { openDrive, resolveDir } from "./_drive.ts";
import { FETCH_OPTIONS, FETCH_OPTIONS_HELP, fetchOptions } from "./clone.ts";

/** `pigeon pull`. */
export const pull = defineCommand({
  name: "pull",
  summary: "Bring a cloned folder to the drive's latest version",
  usage: `Usage: pigeon pull [DIR] [--peer HOST:PORT …] [--select PATTERN …] [--live]

Fetches the latest version of the drive cloned in DIR (default: the current
folder) and updates its files: changed files are replaced whole once
verified, files deleted from the drive are removed (unless you edited them),
and what was already verified is not downloaded again.

Options:
${FETCH_OPTIONS_HELP}`,
  options: FETCH_OPTIONS,
  positionals: { min: 0, max: 1, names: "[DIR]" },
  async run({ values, positionals }, io) {
    const options = fetchOptions(io, values, null);
    const folder = await openDrive(io, resolveDir(io, positionals[0]), true);
    if (folder.kind !== "clone") {
      throw new PigeonError(
        "BAD_ARGUMENT",
        `${folder.dir} is the writer's folder; pull is for clones`,
      );
    }
    await fetchDrive(io, folder, options);
  },
});
