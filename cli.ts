#!/usr/bin/env -S deno run --allow-all --unstable-net --no-prompt
/**
 * pigeon's executable entry point: `deno run -A cli.ts <command> …`.
 *
 * All the work is in `lib/cli/main.ts`; this file only exits with its code.
 *
 * @module
 */

import { main } from "./lib/cli/main.ts";

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
