/**
 * `pigeon send` reading to the end in 64-block batches (lib/cli/commands/send.ts
 * readToEnd): inputs that span several batches and end mid-block are stored
 * byte for byte, from a file and from stdin.
 */
import assert from "node:assert/strict";
import {
  BLOCK,
  randomBytes,
  readStoredLog,
  removeDir,
  sameBytes,
  startSend,
  tempDir,
} from "./_cli.ts";

/** Two full batches of 64 blocks, then part of a third batch ending mid-block. */
const SIZE = 2 * 64 * BLOCK + 3 * BLOCK + 12345;

Deno.test("send: a file spanning several batches is stored byte for byte", async () => {
  const dir = await tempDir();
  const input = randomBytes(SIZE);
  await Deno.writeFile(`${dir}/input`, input);
  const sender = await startSend(`${dir}/send`, [`${dir}/input`]);
  try {
    await sender.proc.stop();
    const stored = await readStoredLog(sender.store, sender.key);
    sameBytes(stored, input, "stored log");
  } finally {
    await sender.proc.stop();
    await removeDir(dir);
  }
});

Deno.test("send: stdin spanning several batches is stored byte for byte", async () => {
  const dir = await tempDir();
  const input = randomBytes(SIZE);
  const sender = await startSend(`${dir}/send`, ["-"], { input });
  try {
    await sender.proc.stop();
    const stored = await readStoredLog(sender.store, sender.key);
    assert.equal(stored.byteLength, SIZE);
    sameBytes(stored, input, "stored log");
  } finally {
    await sender.proc.stop();
    await removeDir(dir);
  }
});
