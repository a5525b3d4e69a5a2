import assert from "node:assert/strict";
import { dataDir, FOLDER_STATE_DIR } from "../../lib/cli/data_dir.ts";
import { isPigeonError } from "../../lib/errors.ts";

function envOf(vars: Record<string, string>): (name: string) => string | undefined {
  return (name) => vars[name];
}

Deno.test("data dir: PIGEON_HOME wins, then XDG_DATA_HOME, then ~/.local/share", () => {
  const all = { PIGEON_HOME: "/p", XDG_DATA_HOME: "/x/", HOME: "/home/u" };
  assert.equal(dataDir(envOf(all)), "/p");
  assert.equal(dataDir(envOf({ ...all, PIGEON_HOME: "" })), "/x/pigeon");
  assert.equal(dataDir(envOf({ HOME: "/home/u" })), "/home/u/.local/share/pigeon");
  assert.equal(FOLDER_STATE_DIR, ".pigeon");
});

Deno.test("data dir: no home and no PIGEON_HOME is a BAD_ARGUMENT naming the variable", () => {
  assert.throws(() => dataDir(envOf({})), (err: unknown) => {
    assert.ok(isPigeonError(err, "BAD_ARGUMENT"));
    assert.ok(err.message.includes("PIGEON_HOME"));
    return true;
  });
});
