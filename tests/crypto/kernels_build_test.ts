import assert from "node:assert/strict";

const BUILD = new URL("../../tools/kernels/build.ts", import.meta.url).pathname;
const CONFIG = new URL("../../deno.json", import.meta.url).pathname;

Deno.test({
  name: "kernels: the committed kernels_wasm.ts is what the AssemblyScript sources compile to",
  // Installs the pinned compiler with npm ci on first use, then compiles (a few seconds).
  timeout: 180_000,
  async fn() {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--config", CONFIG, BUILD, "--check"],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, text);
    assert.match(text, /matches its sources/);
  },
});
