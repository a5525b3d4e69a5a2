/**
 * `hyper://` links: the address of a data set, optionally pinned to a version
 * and pointing at a path inside it.
 *
 * | part        | form                                     | parsed as                      |
 * |-------------|------------------------------------------|--------------------------------|
 * | scheme      | `hyper://` (any case)                    | —                              |
 * | key         | 52 z-base-32 chars or 64 hex (SPEC c.7)  | `key`: 32 bytes                |
 * | `+version`  | decimal, no leading zeros, ≤ 2^53−1      | `version`: number, else `null` |
 * | `/path`     | `/`-separated, `%XX` escapes allowed     | `path`: decoded, starts with `/`, else `null` |
 *
 * {@link formatLink} always writes the key as z-base-32 and escapes the path,
 * so `formatLink(parseLink(s))` is the one canonical spelling of `s`.
 * Parsing is strict: anything else (a query, a fragment, `.`/`..` or empty
 * path segments, control characters, a bad escape) is an `INVALID_LINK`.
 *
 * @module
 */

import { PigeonError } from "../errors.ts";
import { decodeKey, encodeKey, HEX_KEY_CHARS, quote, Z32_KEY_CHARS } from "./id.ts";

/** The scheme every link starts with. */
export const LINK_SCHEME = "hyper://";

/** The longest link {@link parseLink} reads. */
export const MAX_LINK_CHARS = 8192;

/** A parsed `hyper://` link. */
export interface Link {
  /** The 32-byte public key of the data set. */
  key: Uint8Array;
  /** The version (log length) the link is pinned to, or `null` for the latest. */
  version: number | null;
  /** The decoded path inside the data set, starting with `/`, or `null` for none. */
  path: string | null;
}

/** What {@link formatLink} needs; `version` and `path` may be left out. */
export interface LinkParts {
  /** The 32-byte public key. */
  key: Uint8Array;
  /** A version to pin, or `null`/absent. */
  version?: number | null | undefined;
  /** A path starting with `/`, or `null`/absent. */
  path?: string | null | undefined;
}

/**
 * Parses `hyper://<key>[+<version>][/<path>]`.
 *
 * @example
 * ```ts
 * import { parseLink } from "./link.ts";
 * const link = parseLink("hyper://iqi4zk7miqi4zk7miqi4zk7miqi4zk7miqi4zk7miqi4zk7miqio+3/a%20b.txt");
 * if (link.version !== 3 || link.path !== "/a b.txt") throw new Error("unexpected");
 * ```
 *
 * @throws {PigeonError} `INVALID_LINK` naming the link and what is wrong with it.
 */
export function parseLink(input: string): Link {
  if (typeof input !== "string") {
    throw new PigeonError("INVALID_LINK", `Not a link: ${typeof input}`);
  }
  if (input.length > MAX_LINK_CHARS) {
    throw new PigeonError(
      "INVALID_LINK",
      `Not a link: ${input.length} characters long (at most ${MAX_LINK_CHARS})`,
    );
  }
  if (input.slice(0, LINK_SCHEME.length).toLowerCase() !== LINK_SCHEME) {
    throw bad(input, `it does not start with ${LINK_SCHEME}`);
  }
  const rest = input.slice(LINK_SCHEME.length);
  const slash = rest.indexOf("/");
  const authority = slash < 0 ? rest : rest.slice(0, slash);
  const rawPath = slash < 0 ? null : rest.slice(slash);

  const plus = authority.indexOf("+");
  const keyText = plus < 0 ? authority : authority.slice(0, plus);
  if (keyText.length !== Z32_KEY_CHARS && keyText.length !== HEX_KEY_CHARS) {
    throw bad(
      input,
      `its key has ${keyText.length} characters, not ${Z32_KEY_CHARS} (z-base-32) or ` +
        `${HEX_KEY_CHARS} (hex)`,
    );
  }
  let key: Uint8Array;
  try {
    key = decodeKey(keyText);
  } catch (err) {
    throw new PigeonError("INVALID_LINK", `Not a link: ${quote(input)} (its key is not valid)`, {
      cause: err,
    });
  }
  const version = plus < 0 ? null : parseVersion(input, authority.slice(plus + 1));
  const path = rawPath === null ? null : parsePath(input, rawPath);
  return { key, version, path };
}

/**
 * Reads either a bare key (52 z-base-32 / 64 hex characters) or a full
 * `hyper://` link, for commands that accept both.
 *
 * @throws {PigeonError} `INVALID_LINK` when it is neither.
 */
export function parseLinkOrKey(input: string): Link {
  if (typeof input === "string" && !input.includes("://")) {
    return { key: decodeKey(input), version: null, path: null };
  }
  return parseLink(input);
}

/**
 * The canonical text of a link: `hyper://<z32 key>[+<version>][/<escaped path>]`.
 *
 * @example
 * ```ts
 * import { formatLink } from "./link.ts";
 * const text = formatLink({ key: new Uint8Array(32).fill(0xab), version: 3, path: "/a b.txt" });
 * if (text !== "hyper://iqi4zk7miqi4zk7miqi4zk7miqi4zk7miqi4zk7miqi4zk7miqio+3/a%20b.txt") {
 *   throw new Error("unexpected");
 * }
 * ```
 *
 * @throws {PigeonError} `BAD_ARGUMENT` on a key that is not 32 bytes, a version
 * that is not a non-negative safe integer, or a path {@link parseLink} would reject.
 */
export function formatLink(parts: LinkParts): string {
  let out = LINK_SCHEME + encodeKey(parts.key);
  const { version, path } = parts;
  if (version !== null && version !== undefined) {
    if (!Number.isSafeInteger(version) || version < 0) {
      throw new PigeonError("BAD_ARGUMENT", `A link version is a whole number ≥ 0, got ${version}`);
    }
    out += "+" + version;
  }
  if (path !== null && path !== undefined) {
    const why = pathProblem(path);
    if (why !== null) {
      throw new PigeonError("BAD_ARGUMENT", `Cannot put path ${quote(path)} in a link: ${why}`);
    }
    out += path.split("/").map(escapeSegment).join("/");
  }
  return out;
}

const VERSION_DIGITS = /^(0|[1-9][0-9]*)$/;

function parseVersion(input: string, text: string): number {
  if (!VERSION_DIGITS.test(text)) {
    throw bad(input, `its version ${quote(text)} is not a whole number without leading zeros`);
  }
  const version = Number(text);
  if (!Number.isSafeInteger(version)) throw bad(input, `its version ${text} is too large`);
  return version;
}

/** Characters never allowed raw in a link path (besides control characters). */
const FORBIDDEN_RAW = /[?#\\]/;
const BAD_ESCAPE = /%(?![0-9a-fA-F]{2})/;

function parsePath(input: string, raw: string): string {
  const control = controlCharacter(raw);
  if (control !== null) throw bad(input, `its path has the control character ${control}`);
  const forbidden = FORBIDDEN_RAW.exec(raw);
  if (forbidden !== null) {
    throw bad(input, `its path has ${JSON.stringify(forbidden[0])}, which a link cannot hold`);
  }
  if (BAD_ESCAPE.test(raw)) throw bad(input, "its path has a % not followed by two hex digits");
  let segments: string[];
  try {
    segments = raw.split("/").map(decodeURIComponent);
  } catch {
    throw bad(input, "its path's %-escapes are not UTF-8");
  }
  if (segments.some((segment) => segment.includes("/"))) {
    throw bad(input, "its path has an escaped / (%2F) inside a name");
  }
  const path = segments.join("/");
  const why = pathProblem(path);
  if (why !== null) throw bad(input, why);
  return path;
}

/** Why a decoded path cannot be in a link, or `null` when it can. */
function pathProblem(path: string): string | null {
  if (!path.startsWith("/")) return "a path starts with /";
  const control = controlCharacter(path);
  if (control !== null) return `its path has the control character ${control}`;
  const segments = path.split("/").slice(1);
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i];
    // An empty last segment is a trailing slash (a folder); elsewhere it is "//".
    if (segment === "" && i < segments.length - 1) return "its path has an empty segment (//)";
    if (segment === "." || segment === "..") {
      return `its path has a ${JSON.stringify(segment)} segment`;
    }
  }
  return null;
}

/** The first C0 control character or DEL in `text` as `U+XXXX`, or `null`. */
function controlCharacter(text: string): string | null {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) {
      return "U+" + code.toString(16).padStart(4, "0").toUpperCase();
    }
  }
  return null;
}

/** Escapes one path segment: RFC 3986 unreserved characters and sub-delims stay as they are. */
function escapeSegment(segment: string): string {
  return encodeURIComponent(segment).replace(
    /%(21|24|26|27|28|29|2A|2B|2C|3B|3D|3A|40)/g,
    (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)),
  );
}

function bad(input: string, why: string): PigeonError {
  return new PigeonError("INVALID_LINK", `Not a link: ${quote(input)} (${why})`);
}
