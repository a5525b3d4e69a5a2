/**
 * `pigeon link KEY|LINK`: checks a key or link and prints its canonical form.
 *
 * @module
 */

import { defineCommand } from "../command.ts";
import { encodeKey, hexEncode } from "../../encoding/id.ts";
import { formatLink, parseLinkOrKey } from "../../encoding/link.ts";

/** `pigeon link`. */
export const link = defineCommand({
  name: "link",
  summary: "Check a key or hyper:// link and print its canonical form",
  usage: `Usage: pigeon link [--hex] KEY|LINK

Reads a data set key (52 z-base-32 characters or 64 hex digits) or a link
hyper://KEY[+VERSION][/PATH] and prints the canonical link (z-base-32 key,
escaped path). A malformed key or link exits with code 2.

Options:
  --hex         Print the key as 64 hex digits instead of the link

With --json: {"event":"link","link":…,"key":<hex>,"id":<z32>,"version":…,"path":…}`,
  options: { hex: { type: "boolean" } },
  positionals: { min: 1, max: 1, names: "KEY|LINK" },
  async run({ values, positionals }, io) {
    const parsed = parseLinkOrKey(positionals[0]!);
    const text = formatLink(parsed);
    const key = hexEncode(parsed.key);
    await io.out.result(values.hex ? key : text, "link", {
      link: text,
      key,
      id: encodeKey(parsed.key),
      version: parsed.version,
      path: parsed.path,
    });
  },
});
