"use strict";
// Replays drive operations on the real hyperdrive 13.3.4 (corestore 7) and
// prints every db and blobs block as hex plus some reads, as one JSON line.
//
// stdin: {"ops": [op…], "readdir": [folder…], "follow": [path…], "diffFrom": version|null}
//   op = {"op":"put","path","data":hex,"executable"?,"metadata"?}
//      | {"op":"chunks","path","chunks":[hex…],"dedup"?} | {"op":"symlink","path","target"}
//      | {"op":"del","path"} | {"op":"exec","path","executable"}
//      | {"op":"meta","path","metadata"} | {"op":"batch","ops":[put|symlink|del…]}
const { req, hex, fromHex, run, readStdinJson, tmpDir, deadline } = require(
  "../interop/_common.js",
);

const Corestore = req("corestore");
const Hyperdrive = req("hyperdrive");

async function apply(drive, op) {
  switch (op.op) {
    case "put":
      return drive.put(op.path, fromHex(op.data, "data"), {
        executable: op.executable ?? false,
        metadata: op.metadata ?? null,
      });
    case "chunks": {
      const ws = drive.createWriteStream(op.path, { dedup: !!op.dedup });
      for (const c of op.chunks) ws.write(fromHex(c, "chunk"));
      ws.end();
      return new Promise((resolve, reject) => {
        ws.on("close", resolve);
        ws.on("error", reject);
      });
    }
    case "symlink":
      return drive.symlink(op.path, op.target);
    case "del":
      return drive.del(op.path);
    case "exec":
    case "meta": {
      const e = await drive.entry(op.path);
      const value = { ...e.value };
      if (op.op === "exec") value.executable = op.executable;
      else value.metadata = op.metadata;
      return drive.putEntry(op.path, value);
    }
    default:
      throw new Error("Unknown op " + op.op);
  }
}

async function collect(stream) {
  const out = [];
  for await (const x of stream) out.push(x);
  return out;
}

run(async () => {
  deadline(60_000, "reference_drive");
  const input = await readStdinJson();
  const store = new Corestore(tmpDir("drive"));
  const drive = new Hyperdrive(store);
  await drive.ready();
  for (const op of input.ops) {
    if (op.op === "batch") {
      const b = drive.batch();
      for (const inner of op.ops) await apply(b, inner);
      await b.flush();
    } else {
      await apply(drive, op);
    }
  }
  const blocks = async (core) => {
    const out = [];
    for (let i = 0; i < core.length; i++) out.push(hex(await core.get(i)));
    return out;
  };
  const result = {
    db: await blocks(drive.core),
    blobs: await blocks(drive.blobs.core),
    list: (await collect(drive.list("/"))).map((e) => ({ path: e.key, seq: e.seq })),
    readdir: {},
    follow: {},
    diff: null,
  };
  for (const folder of input.readdir) result.readdir[folder] = await collect(drive.readdir(folder));
  for (const path of input.follow) {
    const e = await drive.entry(path, { follow: true }).catch((err) => ({ error: err.message }));
    result.follow[path] = e && (e.error ? e : { path: e.key, seq: e.seq });
  }
  if (input.diffFrom) {
    result.diff = (await collect(drive.diff(input.diffFrom, "/"))).map((d) => ({
      left: d.left && { path: d.left.key, seq: d.left.seq },
      right: d.right && { path: d.right.key, seq: d.right.seq },
    }));
  }
  await drive.close();
  process.stdout.write(JSON.stringify(result) + "\n", () => process.exit(0));
});
