import assert from "node:assert/strict";
import { cryptoPath, parseCryptoPath } from "../../lib/crypto/backend.ts";

const PROBE = `
import { blake2bBackend } from "${new URL("../../lib/crypto/blake2b.ts", import.meta.url).href}";
import { chacha20Backend } from "${new URL("../../lib/crypto/chacha20.ts", import.meta.url).href}";
import { poly1305Backend } from "${new URL("../../lib/crypto/poly1305.ts", import.meta.url).href}";
import { cryptoPath } from "${new URL("../../lib/crypto/backend.ts", import.meta.url).href}";
import { SecretstreamPush } from "${
  new URL("../../lib/crypto/secretstream.ts", import.meta.url).href
}";
const ss = new SecretstreamPush(new Uint8Array(32)).path;
console.log([cryptoPath(), blake2bBackend().name, chacha20Backend().name, poly1305Backend().name, ss].join(" "));
`;

/** Runs the probe in a fresh Deno with the given env and permission flags. */
async function probe(env: Record<string, string>, flags: string[]): Promise<string> {
  const dir = Deno.makeTempDirSync({ prefix: "pigeon-backend-" });
  try {
    const file = `${dir}/probe.ts`;
    Deno.writeTextFileSync(file, PROBE);
    const config = new URL("../../deno.json", import.meta.url).pathname;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--config", config, ...flags, file],
      env: { ...env, NO_COLOR: "1" },
      clearEnv: false,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    return new TextDecoder().decode(out.stdout).trim();
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

const READ = ["--allow-read"];

Deno.test("backend: PIGEON_CRYPTO=ts selects the noble path for every primitive", async () => {
  assert.equal(
    await probe({ PIGEON_CRYPTO: "ts" }, [...READ, "--allow-env"]),
    "ts noble noble noble ts",
  );
});

Deno.test("backend: PIGEON_CRYPTO=wasm and an unset variable select the kernels", async () => {
  assert.equal(
    await probe({ PIGEON_CRYPTO: "wasm" }, [...READ, "--allow-env"]),
    "wasm wasm wasm wasm wasm",
  );
  assert.equal(
    await probe({ PIGEON_CRYPTO: "" }, [...READ, "--allow-env"]),
    "wasm wasm wasm wasm wasm",
  );
});

Deno.test("backend: without env permission the default is used and nothing throws", async () => {
  assert.equal(await probe({ PIGEON_CRYPTO: "ts" }, READ), "wasm wasm wasm wasm wasm");
});

Deno.test("backend: parseCryptoPath accepts ts and wasm, defaults otherwise", () => {
  assert.equal(parseCryptoPath("ts"), "ts");
  assert.equal(parseCryptoPath(" WASM "), "wasm");
  assert.equal(parseCryptoPath("sodium"), "wasm");
  assert.equal(parseCryptoPath(undefined), "wasm");
  assert.ok(cryptoPath() === "ts" || cryptoPath() === "wasm");
});
