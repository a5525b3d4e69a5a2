/**
 * Which files of a folder a drive leaves out: pigeon's defaults plus the
 * folder's `.pigeonignore`, with gitignore semantics.
 *
 * | pattern        | meaning (as in gitignore)                                         |
 * |----------------|-------------------------------------------------------------------|
 * | `# text`       | a comment; `\#` starts a pattern with `#`                         |
 * | `name`         | no `/` inside: matches a file or folder of that name at any depth |
 * | `a/b`, `/a`    | a `/` at the start or inside: anchored at the folder's root       |
 * | `name/`        | a trailing `/`: matches folders only                              |
 * | `!pattern`     | re-includes what an earlier pattern left out (`\!` for a `!`)     |
 * | `*` `?` `[a-z]`| any run / one character except `/`; a class (`[!…]` negates)      |
 * | `**`         | a whole segment: any number of folders (`a/**` is all inside `a`)  |
 *
 * The last matching pattern decides. A folder that is left out is not walked,
 * so nothing under it can be re-included (as in git). Trailing spaces are
 * dropped unless escaped with `\`. Only the `.pigeonignore` at the top of the
 * folder is read; it is itself a file of the drive, so the rules travel with
 * the data. {@link STATE_DIR} (`.pigeon`) is always left out, whatever the rules say.
 *
 * @module
 */

/** The per-folder state directory; never part of a drive. */
export const STATE_DIR = ".pigeon";

/** The name of the ignore file at the top of a drive folder. */
export const IGNORE_FILE = ".pigeonignore";

/** Prefix of the temporary files export writes before renaming them into place. */
export const TEMP_PREFIX = ".pigeon-tmp-";

/** Longest ignore file read, in bytes; longer files are cut there. */
export const MAX_IGNORE_FILE_BYTES = 1 << 20;

/**
 * The rules every drive folder starts with (users can re-include any of them
 * with `!` in `.pigeonignore`, except `.pigeon/`).
 */
export const DEFAULT_IGNORE_RULES: readonly string[] = [
  ".git/",
  ".hg/",
  ".svn/",
  ".DS_Store",
  ".AppleDouble/",
  ".Spotlight-V100/",
  ".Trashes/",
  "._*",
  "Thumbs.db",
  "ehthumbs.db",
  "desktop.ini",
  "$RECYCLE.BIN/",
  "*.swp",
  "*.swo",
  "*.swx",
  "*~",
  ".#*",
  "\\#*#",
  `${TEMP_PREFIX}*`,
];

interface Rule {
  /** The pattern as written (for messages). */
  source: string;
  regex: RegExp;
  negate: boolean;
  dirOnly: boolean;
}

/**
 * A set of gitignore-style rules (see the module doc).
 *
 * @example Rules from an ignore file, after the defaults
 * ```ts
 * import { IgnoreRules } from "./ignore.ts";
 * const rules = IgnoreRules.parse("*.log\n!keep.log\nbuild/\n");
 * if (!rules.ignores("logs/x.log", false)) throw new Error("*.log matches at any depth");
 * if (rules.ignores("keep.log", false)) throw new Error("! re-includes");
 * if (!rules.ignores("build", true) || rules.ignores("build", false)) throw new Error("folders only");
 * if (!rules.ignores(".DS_Store", false)) throw new Error("a default");
 * ```
 */
export class IgnoreRules {
  readonly #rules: Rule[] = [];

  /** Rules from `lines` (ignore-file lines), after {@link DEFAULT_IGNORE_RULES} unless `defaults` is false. */
  constructor(lines: Iterable<string> = [], options: { defaults?: boolean } = {}) {
    if (options.defaults !== false) this.add(DEFAULT_IGNORE_RULES);
    this.add(lines);
  }

  /** Rules from the text of an ignore file, after the defaults. */
  static parse(text: string, options: { defaults?: boolean } = {}): IgnoreRules {
    return new IgnoreRules(text.split(/\r?\n/), options);
  }

  /**
   * The rules of the folder `root`: the defaults plus `root/.pigeonignore`
   * when it is a regular file.
   */
  static forFolder(root: string): IgnoreRules {
    let text = "";
    try {
      const info = Deno.lstatSync(`${root}/${IGNORE_FILE}`);
      if (info.isFile) {
        const bytes = Deno.readFileSync(`${root}/${IGNORE_FILE}`);
        text = new TextDecoder().decode(bytes.subarray(0, MAX_IGNORE_FILE_BYTES));
      }
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
    return IgnoreRules.parse(text);
  }

  /** Appends rules (later rules win over earlier ones). */
  add(lines: Iterable<string>): void {
    for (const line of lines) {
      const rule = parseRule(line);
      if (rule !== null) this.#rules.push(rule);
    }
  }

  /** Number of rules. */
  get size(): number {
    return this.#rules.length;
  }

  /**
   * True when `path` (relative to the folder, `/`-separated, no leading `/`)
   * is left out. Callers walk top-down and do not enter an ignored folder.
   */
  ignores(path: string, isDir: boolean): boolean {
    const rel = path.startsWith("/") ? path.slice(1) : path;
    const first = rel.split("/", 1)[0];
    if (first === STATE_DIR) return true;
    let ignored = false;
    for (const rule of this.#rules) {
      if (rule.dirOnly && !isDir) continue;
      if (rule.negate === !ignored) continue; // cannot change the outcome
      if (rule.regex.test(rel)) ignored = !rule.negate;
    }
    return ignored;
  }

  /**
   * Like {@link ignores}, but also true when a parent folder of `path` is
   * left out (for checking one path without walking).
   */
  ignoresPath(path: string, isDir: boolean): boolean {
    const rel = path.startsWith("/") ? path.slice(1) : path;
    const parts = rel.split("/");
    for (let i = 1; i < parts.length; i++) {
      if (this.ignores(parts.slice(0, i).join("/"), true)) return true;
    }
    return this.ignores(rel, isDir);
  }
}

/** One line of an ignore file as a rule, or null for blanks and comments. */
function parseRule(line: string): Rule | null {
  let text = trimTrailingSpaces(line);
  if (text === "" || text.startsWith("#")) return null;
  let negate = false;
  if (text.startsWith("!")) {
    negate = true;
    text = text.slice(1);
  } else if (text.startsWith("\\!") || text.startsWith("\\#")) {
    text = text.slice(1);
  }
  let dirOnly = false;
  if (text.endsWith("/") && !text.endsWith("\\/")) {
    dirOnly = true;
    text = text.replace(/\/+$/, "");
  }
  if (text === "") return null;
  const anchored = text.includes("/");
  if (text.startsWith("/")) text = text.slice(1);
  const body = translate(text);
  const source = anchored ? `^${body}$` : `^(?:.*/)?${body}$`;
  try {
    return { source: line, regex: new RegExp(source, "s"), negate, dirOnly };
  } catch {
    return null; // an unusable pattern matches nothing, as in git
  }
}

/** Drops trailing spaces unless the last one is escaped with `\`. */
function trimTrailingSpaces(line: string): string {
  let end = line.length;
  while (end > 0 && line[end - 1] === " ") {
    if (end >= 2 && line[end - 2] === "\\") break;
    end--;
  }
  return line.slice(0, end);
}

/** A glob (without anchoring) as a regular-expression body. */
function translate(glob: string): string {
  let out = "";
  let i = 0;
  while (i < glob.length) {
    const c = glob[i]!;
    if (c === "*") {
      if (glob[i + 1] === "*") {
        const atStart = i === 0 || glob[i - 1] === "/";
        const next = glob[i + 2];
        if (atStart && next === "/") {
          out += "(?:.*/)?"; // "**/": zero or more folders
          i += 3;
          continue;
        }
        if (atStart && next === undefined) {
          out += ".*"; // "/**" at the end: everything inside
          i += 2;
          continue;
        }
        out += "[^/]*"; // any other "**" is a plain "*"
        while (glob[i] === "*") i++;
        continue;
      }
      out += "[^/]*";
      i++;
    } else if (c === "?") {
      out += "[^/]";
      i++;
    } else if (c === "[") {
      const end = classEnd(glob, i);
      if (end === -1) {
        out += "\\[";
        i++;
        continue;
      }
      let body = glob.slice(i + 1, end);
      let negated = false;
      if (body.startsWith("!") || body.startsWith("^")) {
        negated = true;
        body = body.slice(1);
      }
      body = body.replace(/\\(.)/g, "$1").replace(/[\\\]^]/g, "\\$&");
      out += negated ? `(?!/)[^${body}]` : `[${body}]`;
      i = end + 1;
    } else if (c === "\\" && i + 1 < glob.length) {
      out += escapeRegex(glob[i + 1]!);
      i += 2;
    } else {
      out += escapeRegex(c);
      i++;
    }
  }
  return out;
}

/** Index of the `]` closing the class that opens at `start`, or -1. */
function classEnd(glob: string, start: number): number {
  let i = start + 1;
  if (glob[i] === "!" || glob[i] === "^") i++;
  if (glob[i] === "]") i++; // a leading ] is a member
  for (; i < glob.length; i++) {
    if (glob[i] === "\\") i++;
    else if (glob[i] === "]") return i;
  }
  return -1;
}

function escapeRegex(c: string): string {
  return /[.*+?^${}()|[\]\\/]/.test(c) ? "\\" + c : c;
}
