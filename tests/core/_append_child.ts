/**
 * Child process for the crash test: appends deterministic blocks to the core
 * in `Deno.args[0]` forever, printing each committed length.
 */
import { Core } from "../../lib/core/core.ts";
import { FileStorage } from "../../lib/core/file_storage.ts";
import { keyPair } from "../../lib/crypto/ed25519.ts";
import { expectedBlock } from "./_crash_blocks.ts";

const dir = Deno.args[0]!;
const core = await Core.open(new FileStorage(dir), {
  keyPair: keyPair(new Uint8Array(32).fill(7)),
});
const out = Deno.stdout;
const encoder = new TextEncoder();
let batch = 1;
for (;;) {
  const start = core.length;
  const blocks = Array.from({ length: batch }, (_, i) => expectedBlock(start + i));
  core.appendSync(blocks);
  out.writeSync(encoder.encode(`${core.length}\n`));
  batch = (batch % 9) + 1;
}
