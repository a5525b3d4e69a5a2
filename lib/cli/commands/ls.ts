/**
 * `pigeon ls [DIR] [PATH] [--version V]`: lists a folder of a drive version.
 *
 * @module
 */

import { defineCommand } from "../command.ts";
import { PigeonError } from "../../errors.ts";
import type { DriveReader } from "../../drive/drive.ts";
import { FolderDrive } from "../../drive/folder_drive.ts";
import { normalizeFolder } from "../../drive/entry.ts";
import type { JsonValue } from "../output.ts";
import { openDrive, parseVersion, resolveDir } from "./_drive.ts";

/** One listed name. */
interface Listed {
  path: string;
  name: string;
  type: "file" | "symlink" | "directory";
  size: number;
  executable: boolean;
  linkname: string | null;
}

/** `pigeon ls`. */
export const ls = defineCommand({
  name: "ls",
  summary: "List the files of a drive (or one of its versions)",
  usage: `Usage: pigeon ls [DIR] [PATH] [--version V] [-r] [-l]

Lists what is directly inside PATH (default: /) in the drive in DIR (default:
the current folder), as of its latest version or version V: folders end in /,
executables in *, symlinks show "-> target". With one argument, it is DIR if
that folder is a drive, else PATH inside the current folder's drive.

Options:
  --version V       List version V instead of the latest
  -r, --recursive   List every file below PATH (full paths)
  -l, --long        Show the type (f file, x executable, l symlink, d folder)
                    and size

With --json: one {"event":"entry","path","name","type","size","executable",
"linkname"} per name.`,
  options: {
    version: { type: "string" },
    recursive: { type: "boolean", short: "r" },
    long: { type: "boolean", short: "l" },
  },
  positionals: { min: 0, max: 2, names: "[DIR] [PATH]" },
  async run({ values, positionals }, io) {
    const [dirArg, pathArg] = splitDirAndPath(io.cwd, positionals);
    const drive = await openDrive(io, resolveDir(io, dirArg));
    const version = values.version === undefined
      ? drive.version
      : parseVersion(values.version, "--version");
    const reader = drive.checkout(version);
    const folder = normalizeFolder(pathArg ?? "/");
    const items: Listed[] = [];
    const stat = folder === "" ? null : await reader.stat(folder);
    if (folder !== "" && stat === null) {
      throw new PigeonError("NOT_FOUND", `No ${folder} in version ${version}`);
    }
    if (stat !== null && stat.type !== "directory") {
      items.push(await describe(reader, folder));
    } else if (values.recursive) {
      for await (const e of reader.list(folder === "" ? "/" : folder)) {
        items.push(await describe(reader, e.path));
      }
    } else {
      for await (const name of reader.readdir(folder === "" ? "/" : folder)) {
        items.push(await describe(reader, `${folder}/${name}`));
      }
    }
    for (const item of items) {
      const shown = values.recursive || stat?.type === "file" || stat?.type === "symlink"
        ? item.path
        : item.name;
      const fields: Record<string, JsonValue> = { ...item };
      await io.out.result(
        values.long ? longLine(item, shown) : shortLine(item, shown),
        "entry",
        fields,
      );
    }
  },
});

/**
 * `[DIR] [PATH]` from the positionals: with one, it is DIR when that folder
 * is a drive, else PATH in the current folder.
 */
export function splitDirAndPath(
  cwd: string,
  positionals: string[],
): [string | undefined, string | undefined] {
  if (positionals.length >= 2) return [positionals[0], positionals[1]];
  const only = positionals[0];
  if (only === undefined) return [undefined, undefined];
  const asDir = only.startsWith("/") ? only : `${cwd}/${only}`;
  return FolderDrive.isDrive(asDir) ? [only, undefined] : [undefined, only];
}

async function describe(reader: DriveReader, path: string): Promise<Listed> {
  const name = path.slice(path.lastIndexOf("/") + 1);
  const stat = await reader.stat(path);
  return {
    path,
    name,
    type: stat?.type ?? "directory",
    size: stat?.size ?? 0,
    executable: stat?.executable ?? false,
    linkname: stat?.linkname ?? null,
  };
}

function shortLine(item: Listed, shown: string): string {
  if (item.type === "directory") return `${shown}/`;
  if (item.type === "symlink") return `${shown} -> ${item.linkname}`;
  return item.executable ? `${shown}*` : shown;
}

function longLine(item: Listed, shown: string): string {
  const type = item.type === "directory"
    ? "d"
    : item.type === "symlink"
    ? "l"
    : item.executable
    ? "x"
    : "f";
  const size = item.type === "directory" ? "-" : String(item.size);
  return `${type} ${size.padStart(12)}  ${shortLine(item, shown)}`;
}
