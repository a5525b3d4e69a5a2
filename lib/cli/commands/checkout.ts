/**
 * `pigeon checkout VERSION [DIR] --out OUTDIR`: writes a past version of a
 * drive to a folder.
 *
 * @module
 */

import { defineCommand } from "../command.ts";
import { PigeonError } from "../../errors.ts";
import { UsageError } from "../exit.ts";
import { exportDrive } from "../../drive/export.ts";
import { STATE_DIR } from "../../drive/folder_drive.ts";
import { formatBytes, openDrive, parseVersion, resolveDir } from "./_drive.ts";

/** `pigeon checkout`. */
export const checkout = defineCommand({
  name: "checkout",
  summary: "Write a version of a drive to a folder",
  usage: `Usage: pigeon checkout VERSION [DIR] --out OUTDIR [--prune]

Writes version VERSION of the drive in DIR (default: the current folder) to
OUTDIR (created if missing): files (each written to a temporary file, then
renamed into place), executable bits and symlinks. Files already in OUTDIR
that are not in the version are left alone unless --prune is given. OUTDIR
cannot be DIR itself. An entry whose path would leave OUTDIR (.., absolute,
through a symlink) is refused and nothing is written outside OUTDIR.
Files whose content is no longer available (changed in DIR since VERSION)
are skipped with a warning, and the exit code is 3.

Options:
  --out OUTDIR   The folder to write to (required)
  --prune        Remove files in OUTDIR that are not in the version

With --json: {"event":"checkout","version","out","files","symlinks","bytes",
"unavailable":[…],"pruned":[…]}.`,
  options: { out: { type: "string", short: "o" }, prune: { type: "boolean" } },
  positionals: { min: 1, max: 2, names: "VERSION [DIR]" },
  async run({ values, positionals }, io) {
    const version = parseVersion(positionals[0]!, "VERSION");
    if (values.out === undefined) throw new UsageError("checkout needs --out OUTDIR");
    const dir = resolveDir(io, positionals[1]);
    const out = resolveDir(io, values.out);
    const drive = await openDrive(io, dir);
    const realDir = Deno.realPathSync(dir);
    let realOut = out;
    try {
      realOut = Deno.realPathSync(out);
    } catch { /* not there yet */ }
    if (realOut === realDir || realOut.startsWith(`${realDir}/${STATE_DIR}`)) {
      throw new UsageError(
        `--out must be another folder than the drive's own (${dir}); pick a new folder`,
      );
    }
    const result = await exportDrive(drive.checkout(version), out, {
      prune: values.prune === true,
      signal: io.signal,
    });
    for (const path of result.unavailable) {
      await io.out.warn(`${path}: content of version ${version} is no longer available`);
    }
    await io.out.result(
      `wrote version ${version} to ${out}: ${result.files} files, ${result.symlinks} symlinks, ` +
        `${formatBytes(result.bytes)}` +
        (result.pruned.length ? `, pruned ${result.pruned.length}` : "") +
        (result.unavailable.length ? `, ${result.unavailable.length} unavailable` : ""),
      "checkout",
      {
        version,
        out,
        files: result.files,
        symlinks: result.symlinks,
        bytes: result.bytes,
        unavailable: result.unavailable,
        pruned: result.pruned,
      },
    );
    if (result.unavailable.length > 0) {
      throw new PigeonError(
        "NOT_AVAILABLE",
        `${result.unavailable.length} file(s) of version ${version} are no longer available`,
      );
    }
  },
});
