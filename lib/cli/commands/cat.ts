/**
 * `pigeon cat [DIR] PATH [--version V]`: writes one file of a drive to stdout.
 *
 * @module
 */

import { defineCommand } from "../command.ts";
import { PigeonError } from "../../errors.ts";
import { UsageError } from "../exit.ts";
import { openDrive, parseVersion, resolveDir } from "./_drive.ts";
import { type DriveReader, MAX_SYMLINK_HOPS } from "../../drive/drive.ts";
import type { BlobId } from "../../drive/hyperblobs.ts";
import { normalizePath } from "../../drive/entry.ts";

/** `pigeon cat`. */
export const cat = defineCommand({
  name: "cat",
  summary: "Write a file of a drive (or of one of its versions) to stdout",
  usage: `Usage: pigeon cat [DIR] PATH [--version V]

Writes the content of the file PATH of the drive in DIR (default: the current
folder) to stdout, as of the latest version or version V; a symlink is
followed. Every block is checked against its hash: if the working file was
changed since that version was recorded, its old content is no longer
available and cat exits with code 3 instead of printing wrong bytes.

Options:
  --version V   Read version V instead of the latest`,
  options: { version: { type: "string" } },
  positionals: { min: 1, max: 2, names: "[DIR] PATH" },
  stdoutIsData: true,
  async run({ values, positionals }, io) {
    const target = parseCatTarget(positionals);
    if (target.kind === "link") {
      throw new UsageError(
        `reading ${target.link} from the network is not supported yet; cat reads a drive folder`,
      );
    }
    const drive = await openDrive(io, resolveDir(io, target.dir));
    const version = values.version === undefined
      ? drive.version
      : parseVersion(values.version, "--version");
    const reader = drive.checkout(version);
    const blob = await followLinks(reader, target.path, version);
    try {
      for await (const chunk of reader.blobs.read(blob)) await io.out.write(chunk);
    } catch (err) {
      if (err instanceof PigeonError && err.code === "NOT_AVAILABLE") {
        throw new PigeonError(
          "NOT_AVAILABLE",
          `The content of ${target.path} in version ${version} is no longer available ` +
            `(the file changed since that version was recorded)`,
          { cause: err },
        );
      }
      throw err;
    }
  },
});

/**
 * The content of the file at `path`, following symlinks the way the file system of a
 * checkout would: a relative target from the link's folder. A target that
 * is absolute or leaves the drive is not followed.
 */
async function followLinks(
  reader: DriveReader,
  path: string,
  version: number,
): Promise<BlobId> {
  let name = normalizePath(path);
  for (let hop = 0; hop <= MAX_SYMLINK_HOPS; hop++) {
    const entry = await reader.entry(name);
    if (entry === null) throw new PigeonError("NOT_FOUND", `No file ${name} in version ${version}`);
    const target = entry.value.linkname;
    if (target === null) {
      if (entry.value.blob === null) {
        throw new PigeonError("NOT_FOUND", `${name} has no content in version ${version}`);
      }
      return entry.value.blob;
    }
    if (target.startsWith("/")) {
      throw new PigeonError("NOT_FOUND", `${name} links to ${target}, outside the drive`);
    }
    const folder = entry.path.slice(0, entry.path.lastIndexOf("/"));
    try {
      name = normalizePath(`${folder}/${target}`);
    } catch {
      throw new PigeonError("NOT_FOUND", `${name} links to ${target}, outside the drive`);
    }
  }
  throw new PigeonError("NOT_FOUND", `More than ${MAX_SYMLINK_HOPS} symlinks from ${path}`);
}

/** What cat was asked to read: a path in a drive folder, or a LINK to fetch. */
export type CatTarget =
  | { kind: "local"; dir: string | undefined; path: string }
  | { kind: "link"; link: string };

/** A key (52 z-base-32 or 64 hex characters), optionally `+VERSION`, then `/PATH`. */
const BARE_KEY_WITH_PATH = /^(?:[a-km-uw-z13-9]{52}|[0-9a-f]{64})(?:\+\d+)?\//i;

/**
 * Tells `cat LINK[+VERSION]/PATH` from `cat [DIR] PATH`: a single argument
 * that starts with `hyper://`, or with a bare key followed by a path, is a LINK.
 */
export function parseCatTarget(positionals: string[]): CatTarget {
  if (positionals.length === 1) {
    const arg = positionals[0]!;
    if (arg.toLowerCase().startsWith("hyper://") || BARE_KEY_WITH_PATH.test(arg)) {
      return { kind: "link", link: arg };
    }
    return { kind: "local", dir: undefined, path: arg };
  }
  return { kind: "local", dir: positionals[0], path: positionals[1]! };
}
