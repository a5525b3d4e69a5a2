"use strict";
// Prints hyperdrive 13.3.4's normalised form of each path on stdin (a JSON
// array of strings): {"paths": [string | {"error": message}, …]}.
const { req, run, readStdinJson, deadline } = require("../interop/_common.js");

const Hyperdrive = req("hyperdrive");

run(async () => {
  deadline(30_000, "reference_paths");
  const names = await readStdinJson();
  const paths = names.map((name) => {
    try {
      return Hyperdrive.normalizePath(name);
    } catch (err) {
      return { error: err.message };
    }
  });
  process.stdout.write(JSON.stringify({ paths }) + "\n", () => process.exit(0));
});
