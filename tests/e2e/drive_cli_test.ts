/**
 * The drive-folder commands as a user runs them: real `deno run cli.ts`
 * processes with their own data folder (PIGEON_HOME) and working directory;
 * stdout, stderr, exit codes and --json shapes checked apart.
 */
import assert from "node:assert/strict";
import { parseLink } from "../../lib/encoding/link.ts";
import { toHex } from "../../lib/crypto/bytes.ts";
import { discoveryKey } from "../../lib/core/caps.ts";

const CLI = new URL("../../cli.ts", import.meta.url).pathname;
/** Bound on one CLI run. */
const MAX_RUN_MS = 60_000;
const dec = new TextDecoder();

interface Run {
  code: number;
  bytes: Uint8Array;
  stdout: string;
  stderr: string;
}

interface Env {
  root: string;
  dir: string;
  home: string;
}

/** Runs pigeon with `home` as its data folder, in `cwd`, feeding `stdin` if given. */
async function pigeon(
  env: { home: string },
  args: string[],
  options: { cwd?: string; stdin?: Uint8Array } = {},
): Promise<Run> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", CLI, ...args],
    cwd: options.cwd ?? Deno.cwd(),
    stdin: options.stdin ? "piped" : "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", RUST_BACKTRACE: "0", PIGEON_HOME: env.home },
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), MAX_RUN_MS);
  try {
    if (options.stdin) {
      const w = child.stdin.getWriter();
      await w.write(options.stdin).catch(() => {});
      await w.close().catch(() => {});
    }
    const out = await child.output();
    return {
      code: out.code,
      bytes: out.stdout,
      stdout: dec.decode(out.stdout),
      stderr: dec.decode(out.stderr),
    };
  } finally {
    clearTimeout(timer);
  }
}

async function withEnv(body: (e: Env) => Promise<void>): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "pigeon-drive-cli-" });
  const e = { root, dir: `${root}/data`, home: `${root}/home` };
  await Deno.mkdir(e.dir);
  try {
    await body(e);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

function put(e: Env, path: string, data: string | Uint8Array, mode?: number): void {
  const full = `${e.dir}/${path}`;
  Deno.mkdirSync(full.slice(0, full.lastIndexOf("/")), { recursive: true });
  if (typeof data === "string") Deno.writeTextFileSync(full, data);
  else Deno.writeFileSync(full, data);
  if (mode !== undefined) Deno.chmodSync(full, mode);
}

function lines(text: string): string[] {
  return text.split("\n").filter((l) => l !== "");
}

function json(text: string): Record<string, unknown>[] {
  return lines(text).map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** One line on stderr, starting "pigeon: ", no stack trace, nothing on stdout. */
function assertOneLineError(r: Run, code: number, mentions: RegExp): void {
  assert.equal(r.code, code, `exit code; stderr: ${r.stderr}`);
  assert.equal(r.stdout, "", "nothing on stdout");
  assert.match(r.stderr, /^pigeon: [^\n]+\n$/, `stderr was ${JSON.stringify(r.stderr)}`);
  assert.match(r.stderr, mentions);
}

/** Makes a drive of a small tree; resolves to the create run's JSON result. */
async function createDrive(e: Env): Promise<Record<string, unknown>> {
  put(e, "a.txt", "alpha\n");
  put(e, "bin/run.sh", "#!/bin/sh\necho hi\n", 0o755);
  put(e, "docs/guide.md", "# guide\n");
  put(e, "empty", "");
  Deno.symlinkSync("a.txt", `${e.dir}/link`);
  const r = await pigeon(e, ["create", e.dir, "--json"]);
  assert.equal(r.code, 0, r.stderr);
  return json(r.stdout).at(-1)!;
}

Deno.test("drive cli: create prints the link as the only stdout line, key kept outside the folder", async () => {
  await withEnv(async (e) => {
    put(e, "hello.txt", "hello");
    const r = await pigeon(e, ["create"], { cwd: e.dir });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^hyper:\/\/[a-z0-9]{52}\n$/);
    assert.match(r.stderr, /created a drive in .*: version 2, 1 added/);
    const key = parseLink(r.stdout.trim()).key;
    const keyFile = `${e.home}/keys/${toHex(discoveryKey(key))}`;
    assert.equal(Deno.statSync(keyFile).mode! & 0o777, 0o600);
    assert.ok(Deno.statSync(`${e.dir}/.pigeon/drive.json`).isFile);

    const again = await pigeon(e, ["create", e.dir]);
    assertOneLineError(again, 2, /already a drive/);
    const onFile = await pigeon(e, ["create", `${e.dir}/hello.txt`]);
    assertOneLineError(onFile, 2, /Not a folder/);
  });
});

Deno.test("drive cli: create --json ends with link and version; the version is accepted everywhere", async () => {
  await withEnv(async (e) => {
    const last = await createDrive(e);
    assert.equal(last.event, "created");
    assert.match(String(last.link), /^hyper:\/\//);
    assert.equal(last.version, 6);
    assert.equal(last.added, 5);
    assert.equal(typeof last.key, "string");
    const v = String(last.version);
    const cat = await pigeon(e, ["cat", e.dir, "/a.txt", "--version", v]);
    assert.equal(cat.stdout, "alpha\n");
    const out = await pigeon(e, ["checkout", v, e.dir, "--out", `${e.root}/out`]);
    assert.equal(out.code, 0, out.stderr);
    const log = json((await pigeon(e, ["log", e.dir, "--json"])).stdout);
    assert.deepEqual(log.map((l) => l.version), [6]);
  });
});

Deno.test("drive cli: add prints each change and the new version; nothing changed keeps the version", async () => {
  await withEnv(async (e) => {
    await createDrive(e);
    const none = await pigeon(e, ["add", e.dir]);
    assert.equal(none.code, 0, none.stderr);
    assert.equal(none.stdout, "no changes (version 6)\n");

    put(e, "a.txt", "alpha, edited\n");
    put(e, "new/file.bin", new Uint8Array([0, 1, 2, 255]));
    Deno.removeSync(`${e.dir}/empty`);
    Deno.chmodSync(`${e.dir}/bin/run.sh`, 0o644);
    const r = await pigeon(e, ["add"], { cwd: e.dir });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(lines(r.stdout), [
      "M /a.txt",
      "M /bin/run.sh",
      "D /empty",
      "A /new/file.bin",
      "version 10",
    ]);

    put(e, "b.txt", "b");
    const j = await pigeon(e, ["add", e.dir, "--json"]);
    const events = json(j.stdout);
    assert.deepEqual(events[0], {
      event: "change",
      type: "add",
      path: "/b.txt",
      kind: "file",
      size: 1,
    });
    const last = events.at(-1)!;
    assert.equal(last.event, "added");
    assert.equal(last.version, 11);
    assert.equal(last.previous, 10);
    assert.match(String(last.link), /^hyper:\/\//);
    assert.equal(j.stderr, "");
  });
});

Deno.test("drive cli: status shows link, version, writable and uncommitted changes", async () => {
  await withEnv(async (e) => {
    const created = await createDrive(e);
    put(e, "c.txt", "new");
    Deno.removeSync(`${e.dir}/a.txt`);
    const r = await pigeon(e, ["status", e.dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(lines(r.stdout), [
      `link:     ${created.link}`,
      "version:  6",
      "writable: yes",
      "changes:  1 added, 0 changed, 1 deleted (record them with pigeon add)",
      "  D /a.txt",
      "  A /c.txt",
    ]);
    const j = json((await pigeon(e, ["status", e.dir, "--json"])).stdout);
    assert.equal(j.length, 1, "one JSON document");
    assert.equal(j[0]!.event, "status");
    assert.equal(j[0]!.writable, true);
    assert.equal(j[0]!.kind, "writer");
    assert.deepEqual(j[0]!.changes, [
      { type: "delete", path: "/a.txt", kind: "file", size: 0 },
      { type: "add", path: "/c.txt", kind: "file", size: 3 },
    ]);
    const other = await pigeon({ home: `${e.root}/elsewhere` }, ["status", e.dir, "--json"]);
    assert.equal(json(other.stdout)[0]!.writable, false, "another data folder has no key");
  });
});

Deno.test("drive cli: every command on a folder that is not a drive exits 3 with one line", async () => {
  await withEnv(async (e) => {
    for (
      const args of [
        ["add", e.dir],
        ["status", e.dir],
        ["log", e.dir],
        ["diff", e.dir],
        ["ls", e.dir, "/"],
        ["cat", e.dir, "/x"],
        ["checkout", "1", e.dir, "--out", `${e.root}/o`],
        ["keys", e.dir],
        ["keys", "export", e.dir],
      ]
    ) {
      const r = await pigeon(e, args);
      assertOneLineError(r, 3, /is not a pigeon drive/);
    }
    const j = await pigeon(e, ["status", e.dir, "--json"]);
    assert.equal(j.code, 3);
    const err = JSON.parse(j.stderr.trim());
    assert.equal(err.event, "error");
    assert.equal(err.code, "NOT_FOUND");
  });
});

Deno.test("drive cli: log and diff list versions and their changes", async () => {
  await withEnv(async (e) => {
    await createDrive(e);
    put(e, "a.txt", "v2\n");
    await pigeon(e, ["add", e.dir]);
    put(e, "z.txt", "z");
    Deno.removeSync(`${e.dir}/link`);
    await pigeon(e, ["add", e.dir]);

    const log = await pigeon(e, ["log", e.dir]);
    assert.equal(log.code, 0, log.stderr);
    const text = lines(log.stdout);
    assert.match(text[0]!, /^version 9 {2}\d{4}-\d\d-\d\dT.*\(1 added, 0 changed, 1 deleted\)$/);
    assert.deepEqual(text.slice(1, 3), ["  D /link@", "  A /z.txt"]);
    assert.match(text[3]!, /^version 7 .*\(0 added, 1 changed, 0 deleted\)$/);
    assert.equal(text[4], "  M /a.txt");
    assert.match(text[5]!, /^version 6 .*\(5 added/);

    const limited = lines((await pigeon(e, ["log", e.dir, "-n", "1", "--stat"])).stdout);
    assert.equal(limited.length, 1);
    const jl = json((await pigeon(e, ["log", e.dir, "--json"])).stdout);
    assert.deepEqual(jl.map((v) => [v.version, v.previous]), [[9, 7], [7, 6], [6, 1]]);
    assert.deepEqual((jl[1]!.changes as unknown[])[0], {
      type: "change",
      path: "/a.txt",
      kind: "file",
      size: 3,
    });

    const d = await pigeon(e, ["diff", e.dir]);
    assert.deepEqual(lines(d.stdout), ["D /link@", "A /z.txt"]);
    const d2 = await pigeon(e, ["diff", e.dir, "--from", "6", "--to", "9"]);
    assert.deepEqual(lines(d2.stdout), ["M /a.txt", "D /link@", "A /z.txt"]);
    const back = await pigeon(e, ["diff", e.dir, "--from", "9", "--to", "6"]);
    assert.deepEqual(lines(back.stdout), ["M /a.txt", "A /link@", "D /z.txt"]);
    const jd = json((await pigeon(e, ["diff", e.dir, "--from", "7", "--json"])).stdout);
    assert.deepEqual(jd.at(-1), {
      event: "diff",
      from: 7,
      to: 9,
      added: 1,
      changed: 0,
      deleted: 1,
    });
    const bad = await pigeon(e, ["diff", e.dir, "--from", "99"]);
    assertOneLineError(bad, 2, /No version 99/);
    const junk = await pigeon(e, ["diff", e.dir, "--to", "x"]);
    assertOneLineError(junk, 2, /--to must be a version number/);
  });
});

Deno.test("drive cli: ls lists folders, files, symlinks and versions", async () => {
  await withEnv(async (e) => {
    await createDrive(e);
    const root = await pigeon(e, ["ls"], { cwd: e.dir });
    assert.equal(root.code, 0, root.stderr);
    assert.deepEqual(lines(root.stdout), ["a.txt", "bin/", "docs/", "empty", "link -> a.txt"]);
    const sub = await pigeon(e, ["ls", "bin", "-l"], { cwd: e.dir });
    assert.deepEqual(lines(sub.stdout), ["x           18  run.sh*"]);
    const byDir = await pigeon(e, ["ls", e.dir, "/docs"]);
    assert.deepEqual(lines(byDir.stdout), ["guide.md"]);
    const oneArgDir = await pigeon(e, ["ls", e.dir]);
    assert.equal(lines(oneArgDir.stdout).length, 5, "a drive folder as the only argument is DIR");
    const rec = await pigeon(e, ["ls", e.dir, "-r"]);
    assert.deepEqual(lines(rec.stdout), [
      "/a.txt",
      "/bin/run.sh*",
      "/docs/guide.md",
      "/empty",
      "/link -> a.txt",
    ]);
    const j = json((await pigeon(e, ["ls", e.dir, "--json"])).stdout);
    assert.deepEqual(j[1], {
      event: "entry",
      path: "/bin",
      name: "bin",
      type: "directory",
      size: 0,
      executable: false,
      linkname: null,
    });
    assert.deepEqual(j[0], {
      event: "entry",
      path: "/a.txt",
      name: "a.txt",
      type: "file",
      size: 6,
      executable: false,
      linkname: null,
    });
    put(e, "later.txt", "l");
    await pigeon(e, ["add", e.dir]);
    const old = await pigeon(e, ["ls", e.dir, "--version", "6"]);
    assert.equal(lines(old.stdout).includes("later.txt"), false);
    const missing = await pigeon(e, ["ls", e.dir, "/nope"]);
    assertOneLineError(missing, 3, /No \/nope in version 7/);
  });
});

Deno.test("drive cli: cat writes exact bytes, old versions, and exits 3 for changed content", async () => {
  await withEnv(async (e) => {
    const bytes = new Uint8Array(200_000).map((_, i) => (i * 13) % 256);
    put(e, "bin.dat", bytes);
    put(e, "note.txt", "first\n");
    Deno.symlinkSync("note.txt", `${e.dir}/ln`);
    await pigeon(e, ["create", e.dir]);
    const r = await pigeon(e, ["cat", e.dir, "/bin.dat"]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.bytes, bytes);
    assert.equal(
      (await pigeon(e, ["cat", "ln"], { cwd: e.dir })).stdout,
      "first\n",
      "follows symlinks",
    );

    put(e, "note.txt", "second, longer\n");
    await pigeon(e, ["add", e.dir]);
    assert.equal((await pigeon(e, ["cat", e.dir, "note.txt"])).stdout, "second, longer\n");
    const old = await pigeon(e, ["cat", e.dir, "note.txt", "--version", "4"]);
    assertOneLineError(old, 3, /no longer available/);

    const missing = await pigeon(e, ["cat", e.dir, "/nope"]);
    assertOneLineError(missing, 3, /No file \/nope/);
    Deno.symlinkSync("../outside", `${e.dir}/escape`);
    Deno.symlinkSync("/etc/passwd", `${e.dir}/abs`);
    await pigeon(e, ["add", e.dir]);
    assertOneLineError(await pigeon(e, ["cat", e.dir, "escape"]), 3, /outside the drive/);
    assertOneLineError(await pigeon(e, ["cat", e.dir, "abs"]), 3, /outside the drive/);
    // A LINK is fetched from the network: with no way to find peers it is a usage error,
    // and a link nobody serves runs into its --timeout (exit 3).
    const link = await pigeon(e, ["cat", "hyper://" + "y".repeat(52) + "/x", "--no-lan"]);
    assertOneLineError(link, 2, /--peer/);
    const bareKey = await pigeon(e, [
      "cat",
      "a".repeat(64) + "+3/x",
      "--peer",
      "127.0.0.1:1",
      "--no-lan",
      "--timeout",
      "1",
    ]);
    assertOneLineError(bareKey, 3, /No peer supplied \/x within 1 s/);
  });
});

Deno.test("drive cli: checkout writes a version to a folder, refuses the drive itself, reports unavailable files", async () => {
  await withEnv(async (e) => {
    await createDrive(e);
    put(e, "a.txt", "changed\n");
    put(e, "added.txt", "added\n");
    await pigeon(e, ["add", e.dir]);

    const out = `${e.root}/out`;
    const r = await pigeon(e, ["checkout", "8", e.dir, "--out", out]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^wrote version 8 to .*: 5 files, 1 symlinks, /);
    assert.equal(Deno.readTextFileSync(`${out}/a.txt`), "changed\n");
    assert.equal(Deno.statSync(`${out}/bin/run.sh`).mode! & 0o777, 0o755);
    assert.equal(Deno.readLinkSync(`${out}/link`), "a.txt");

    const old = await pigeon(e, ["checkout", "6", e.dir, "--out", `${e.root}/old`, "--json"]);
    assert.equal(old.code, 3, "a file of version 6 is no longer available");
    const doc = json(old.stdout).at(-1)!;
    assert.equal(doc.event, "checkout");
    assert.deepEqual(doc.unavailable, ["/a.txt"]);
    assert.equal(doc.files, 3);
    assert.match(old.stderr, /"event":"warning".*a\.txt/);
    assert.equal(Deno.readTextFileSync(`${e.root}/old/docs/guide.md`), "# guide\n");

    put(e, "../out/stray.txt", "stray");
    const pruned = await pigeon(e, ["checkout", "6", e.dir, "--out", out, "--prune", "--json"]);
    assert.deepEqual((json(pruned.stdout).at(-1)!.pruned as string[]).sort(), [
      "/added.txt",
      "/stray.txt",
    ]);

    assertOneLineError(await pigeon(e, ["checkout", "6", e.dir]), 2, /--out/);
    assertOneLineError(
      await pigeon(e, ["checkout", "6", e.dir, "--out", e.dir]),
      2,
      /another folder than the drive's own/,
    );
    assertOneLineError(await pigeon(e, ["checkout", "0", e.dir, "--out", out]), 2, /VERSION/);
  });
});

Deno.test("drive cli: keys shows identity; export and import move the right to write", async () => {
  await withEnv(async (e) => {
    const created = await createDrive(e);
    const k = await pigeon(e, ["keys", e.dir, "--json"]);
    const info = json(k.stdout)[0]!;
    assert.equal(info.event, "keys");
    assert.equal(info.link, created.link);
    assert.equal(info.writable, true);
    assert.equal(info.discoveryKey, toHex(discoveryKey(parseLink(String(created.link)).key)));
    const human = await pigeon(e, ["keys", e.dir]);
    assert.match(
      human.stdout,
      /^link: +hyper:\/\/.*\ndiscovery key: +[0-9a-f]{64}\nwritable: +yes/,
    );

    const exported = await pigeon(e, ["keys", "export", e.dir]);
    assert.equal(exported.code, 0, exported.stderr);
    assert.match(exported.stdout, /^[0-9a-f]{128}\n$/);
    const file = `${e.root}/secret.key`;
    const toFile = await pigeon(e, ["keys", "export", e.dir, "-o", file]);
    assert.equal(toFile.code, 0, toFile.stderr);
    assert.equal(toFile.stdout, "");
    assert.equal(Deno.statSync(file).mode! & 0o777, 0o600);
    assert.equal(Deno.readTextFileSync(file), exported.stdout);
    assertOneLineError(
      await pigeon(e, ["keys", "export", e.dir, "-o", file]),
      2,
      /already exists/,
    );

    // Another machine (data folder) with a copy of the folder cannot write until it imports the key.
    const other = { home: `${e.root}/other-home` };
    put(e, "more.txt", "more");
    const denied = await pigeon(other, ["add", e.dir]);
    assertOneLineError(denied, 2, /no secret key.*keys import/);
    const noKey = await pigeon(other, ["keys", "export", e.dir]);
    assertOneLineError(noKey, 2, /no secret key/);
    const wrong = await pigeon(other, ["keys", "import", e.dir], {
      stdin: new TextEncoder().encode("ab".repeat(64)),
    });
    assertOneLineError(wrong, 2, /does not belong/);
    const imported = await pigeon(other, ["keys", "import", e.dir], {
      stdin: new TextEncoder().encode(exported.stdout),
    });
    assert.equal(imported.code, 0, imported.stderr);
    assert.match(imported.stdout, /imported the secret key/);
    const added = await pigeon(other, ["add", e.dir]);
    assert.equal(added.code, 0, added.stderr);
    assert.deepEqual(lines(added.stdout), ["A /more.txt", "version 7"]);

    const third = { home: `${e.root}/third-home` };
    const fromFile = await pigeon(third, ["keys", "import", e.dir, "-i", file, "--json"]);
    assert.equal(json(fromFile.stdout)[0]!.event, "imported");
    const garbage = await pigeon(third, ["keys", "import", e.dir], {
      stdin: new TextEncoder().encode("not a key"),
    });
    assertOneLineError(garbage, 2, /128 hex digits/);
  });
});

Deno.test("drive cli: help lists the drive commands", async () => {
  await withEnv(async (e) => {
    const r = await pigeon(e, ["help"]);
    for (
      const name of ["create", "add", "status", "log", "diff", "ls", "cat", "checkout", "keys"]
    ) {
      assert.match(r.stdout, new RegExp(`\\b${name}\\b`));
    }
    const h = await pigeon(e, ["checkout", "--help"]);
    assert.equal(h.code, 0);
    assert.match(h.stdout, /Usage: pigeon checkout VERSION \[DIR\] --out OUTDIR/);
  });
});
