"use strict";
// Replays a list of Hyperbee operations on the real hyperbee 2.27.3 (over
// hypercore 11, from tests/interop/node_modules) and prints every block of the
// resulting core as hex, one JSON line: {"blocks": ["…", …]}.
//
// stdin: {"metadata": null | {"contentFeed": hex|null, "userData": hex|null},
//         "ops": [{"op":"put","key":hex,"value":hex} | {"op":"del","key":hex}
//                 | {"op":"batch","ops":[…puts and dels…]}]}
const {
  req,
  hex,
  fromHex,
  run,
  readStdinJson,
  tmpDir,
  deadline,
} = require("../interop/_common.js");

const Hypercore = req("hypercore");
const Hyperbee = req("hyperbee");

run(async () => {
  deadline(60_000, "reference_bee");
  const input = await readStdinJson();
  const core = new Hypercore(tmpDir("bee"));
  const metadata = input.metadata
    ? {
      contentFeed: input.metadata.contentFeed ? fromHex(input.metadata.contentFeed) : null,
      userData: input.metadata.userData ? fromHex(input.metadata.userData) : null,
    }
    : undefined;
  const bee = new Hyperbee(core, { metadata, extension: false });
  await bee.ready();

  const apply = async (target, op) => {
    if (op.op === "put") await target.put(fromHex(op.key, "key"), fromHex(op.value, "value"));
    else if (op.op === "del") await target.del(fromHex(op.key, "key"));
    else throw new Error("Unknown op " + op.op);
  };
  for (const op of input.ops) {
    if (op.op === "batch") {
      const b = bee.batch();
      for (const inner of op.ops) await apply(b, inner);
      await b.flush();
    } else {
      await apply(bee, op);
    }
  }

  const blocks = [];
  for (let i = 0; i < core.length; i++) blocks.push(hex(await core.get(i)));
  await bee.close();
  // Large outputs: exit only once stdout has taken all of it.
  process.stdout.write(JSON.stringify({ blocks }) + "\n", () => process.exit(0));
});
