/**
 * `pigeon keys [DIR]`, `pigeon keys export [DIR]`, `pigeon keys import [DIR]`:
 * a drive's public identity, and moving its secret key deliberately.
 *
 * @module
 */

import { defineCommand, type Io } from "../command.ts";
import { PigeonError } from "../../errors.ts";
import { UsageError } from "../exit.ts";
import { equals, fromHex, toHex } from "../../crypto/bytes.ts";
import { SECRET_KEY_BYTES, validateKeyPair } from "../../crypto/ed25519.ts";
import type { FolderDrive } from "../../drive/folder_drive.ts";
import { linkOf, openDrive, resolveDir } from "./_drive.ts";

/** Longest secret-key input read (stdin or file), in bytes. */
export const MAX_KEY_INPUT_BYTES = 4096;

const SECRET_MODE = 0o600;

/** `pigeon keys`. */
export const keys = defineCommand({
  name: "keys",
  summary: "Show a drive's keys, or export/import its secret key",
  usage: `Usage: pigeon keys [DIR]
       pigeon keys export [DIR] [-o FILE]
       pigeon keys import [DIR] [-i FILE]

pigeon keys prints the drive's link, its discovery key (the only name
announced on a network) and whether this machine can write it. The secret
key that allows writing is not in DIR: it lives in the data folder
(<data>/keys/<discovery key>), so copying DIR never copies the right to write.

pigeon keys export prints the secret key (128 hex digits) on stdout, or with
-o FILE writes it to a new file readable only by you. Anyone who has it can
publish versions of the drive: move it only to a machine that should.

pigeon keys import reads such a key from stdin (or -i FILE; never from the
command line), checks that it belongs to the drive in DIR, and stores it in
this machine's data folder, so pigeon add works here.

Options:
  -o, --out FILE   keys export: write to FILE (must not exist) instead of stdout
  -i, --in FILE    keys import: read from FILE instead of stdin

With --json: {"event":"keys","link","key","discoveryKey","writable","keyFile"};
export: {"event":"secret-key","link","secretKey"} (or {"event":"exported",
"file"}); import: {"event":"imported","link","keyFile"}.`,
  options: { out: { type: "string", short: "o" }, in: { type: "string", short: "i" } },
  positionals: { min: 0, max: 2, names: "[export|import] [DIR]" },
  async run({ values, positionals }, io) {
    const sub = positionals[0] === "export" || positionals[0] === "import" ? positionals[0] : null;
    const rest = sub === null ? positionals : positionals.slice(1);
    if (rest.length > 1) throw new UsageError(`keys takes one DIR, got ${rest.join(" ")}`);
    if (sub !== "export" && values.out !== undefined) {
      throw new UsageError("-o/--out goes with keys export");
    }
    if (sub !== "import" && values.in !== undefined) {
      throw new UsageError("-i/--in goes with keys import");
    }
    const dir = resolveDir(io, rest[0]);
    const drive = await openDrive(io, dir);
    if (sub === "export") return await exportKey(io, drive, values.out);
    if (sub === "import") return await importKey(io, drive, dir, values.in);
    const writable = drive.hasSecretKey;
    await io.out.result(
      [
        `link:          ${linkOf(drive)}`,
        `discovery key: ${toHex(drive.discoveryKey)}`,
        `writable:      ${writable ? `yes (secret key in ${drive.keyPath})` : "no"}`,
      ].join("\n"),
      "keys",
      {
        link: linkOf(drive),
        key: toHex(drive.key),
        discoveryKey: toHex(drive.discoveryKey),
        writable,
        keyFile: writable ? drive.keyPath : null,
      },
    );
  },
});

async function exportKey(io: Io, drive: FolderDrive, out: string | undefined): Promise<void> {
  if (!drive.hasSecretKey) {
    throw new PigeonError(
      "NOT_WRITABLE",
      `This machine has no secret key for the drive in ${drive.dir}`,
    );
  }
  const secret = Deno.readFileSync(drive.keyPath);
  const text = toHex(secret);
  if (out === undefined) {
    await io.out.result(text, "secret-key", { link: linkOf(drive), secretKey: text });
    return;
  }
  const path = resolveDir(io, out);
  try {
    const file = Deno.openSync(path, { write: true, createNew: true, mode: SECRET_MODE });
    try {
      const bytes = new TextEncoder().encode(text + "\n");
      let done = 0;
      while (done < bytes.byteLength) done += file.writeSync(bytes.subarray(done));
    } finally {
      file.close();
    }
    Deno.chmodSync(path, SECRET_MODE);
  } catch (err) {
    if (err instanceof Deno.errors.AlreadyExists) {
      throw new UsageError(`${path} already exists; keys export never overwrites a file`);
    }
    throw err;
  }
  await io.out.note(`wrote the secret key to ${path} (mode 0600); keep it private`);
  await io.out.event("exported", { file: path });
}

async function importKey(
  io: Io,
  drive: FolderDrive,
  dir: string,
  from: string | undefined,
): Promise<void> {
  if (drive.kind !== "writer") {
    throw new PigeonError(
      "BAD_ARGUMENT",
      `The drive in ${dir} is a clone; its files are a download, not a folder this machine publishes`,
    );
  }
  let bytes: Uint8Array;
  if (from !== undefined) {
    bytes = await readLimited((await Deno.open(resolveDir(io, from))).readable);
  } else {
    if (io.stdinIsTerminal) {
      throw new UsageError("pipe the secret key into keys import, or give -i FILE");
    }
    bytes = await readLimited(io.stdin);
  }
  const secret = parseSecret(new TextDecoder().decode(bytes));
  const pair = { publicKey: secret.slice(32), secretKey: secret };
  const manifest = drive.db.manifest;
  if (
    !validateKeyPair(pair) || manifest === null ||
    !manifest.signers.some((s) => equals(s.publicKey, pair.publicKey))
  ) {
    throw new PigeonError("BAD_ARGUMENT", `That secret key does not belong to the drive in ${dir}`);
  }
  const path = drive.keyPath;
  Deno.mkdirSync(path.slice(0, path.lastIndexOf("/")), { recursive: true, mode: 0o700 });
  const temp = `${path}.tmp-${crypto.randomUUID()}`;
  Deno.writeFileSync(temp, secret, { mode: SECRET_MODE, createNew: true });
  Deno.chmodSync(temp, SECRET_MODE);
  Deno.renameSync(temp, path);
  await io.out.result(`imported the secret key: ${linkOf(drive)} is writable here`, "imported", {
    link: linkOf(drive),
    keyFile: path,
  });
}

/** 128 hex digits (or the JSON that keys export --json prints) → the 64-byte secret key. */
function parseSecret(text: string): Uint8Array {
  let hex = text.trim();
  if (hex.startsWith("{")) {
    try {
      const parsed = JSON.parse(hex) as { secretKey?: unknown };
      hex = typeof parsed.secretKey === "string" ? parsed.secretKey : "";
    } catch {
      hex = "";
    }
  }
  if (!new RegExp(`^[0-9a-fA-F]{${SECRET_KEY_BYTES * 2}}$`).test(hex)) {
    throw new PigeonError(
      "BAD_ARGUMENT",
      `A secret key is ${SECRET_KEY_BYTES * 2} hex digits (as keys export prints it)`,
    );
  }
  return fromHex(hex.toLowerCase());
}

async function readLimited(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of stream) {
    total += chunk.byteLength;
    if (total > MAX_KEY_INPUT_BYTES) {
      throw new PigeonError(
        "BAD_ARGUMENT",
        `Key input is longer than ${MAX_KEY_INPUT_BYTES} bytes`,
      );
    }
    chunks.push(chunk);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}
