/**
 * The CLI as a user meets it: real `deno run cli.ts` processes (and the built
 * bundle), with stdout, stderr and exit code checked separately.
 */
import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url);
const CLI = new URL("cli.ts", ROOT).pathname;
const DENO_DIR_OF_EXEC = Deno.execPath().replace(/\/[^/]*$/, "");
const ID = "tkrq8zmwb8a3m9k15csu3q17qmfgqnp9dskbrg9uq1rydpyxp7qy";
const HEX = "8a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c";
const VERSION: string = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT))).version;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `program args…` with a clean, colourless environment, bounded by a timeout. */
async function run(program: string, args: string[], cwd: string = ROOT.pathname): Promise<Run> {
  const child = new Deno.Command(program, {
    args,
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: {
      NO_COLOR: "1",
      RUST_BACKTRACE: "0",
      PATH: `${DENO_DIR_OF_EXEC}:${Deno.env.get("PATH")}`,
    },
    clearEnv: false,
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), 60_000);
  try {
    const out = await child.output();
    return {
      code: out.code,
      stdout: new TextDecoder().decode(out.stdout),
      stderr: new TextDecoder().decode(out.stderr),
    };
  } finally {
    clearTimeout(timer);
  }
}

function pigeon(...args: string[]): Promise<Run> {
  return run(Deno.execPath(), ["run", "-A", CLI, ...args]);
}

/** One line on stderr, starting "pigeon: ", with no stack trace. */
function assertOneLineError(result: Run, mentions: string): void {
  assert.equal(result.stdout, "");
  assert.match(result.stderr, /^pigeon: [^\n]+\n$/, `stderr was ${JSON.stringify(result.stderr)}`);
  assert.ok(result.stderr.includes(mentions), `stderr ${result.stderr} should mention ${mentions}`);
  assert.doesNotMatch(result.stderr, /\s+at /);
}

Deno.test("cli e2e: --version prints pigeon's and Deno's versions", async () => {
  for (const flag of ["--version", "-V", "version"]) {
    const result = await pigeon(flag);
    assert.equal(result.code, 0);
    assert.equal(result.stdout, `pigeon ${VERSION} (deno ${Deno.version.deno})\n`);
    assert.equal(result.stderr, "");
  }
});

Deno.test("cli e2e: help lists every command and the exit codes on stdout", async () => {
  const result = await pigeon("help");
  assert.equal(result.code, 0);
  assert.equal(result.stderr, "");
  for (const word of ["link", "version", "help", "Exit codes:", "130", "--json"]) {
    assert.ok(result.stdout.includes(word), `help mentions ${word}`);
  }
  assert.equal((await pigeon("--help")).stdout, result.stdout);
});

Deno.test("cli e2e: no command prints the overview on stderr and exits 2", async () => {
  const result = await pigeon();
  assert.equal(result.code, 2);
  assert.equal(result.stdout, "");
  assert.ok(result.stderr.includes("Commands:"));
});

Deno.test("cli e2e: help COMMAND and COMMAND --help show the same page", async () => {
  const a = await pigeon("help", "link");
  const b = await pigeon("link", "--help");
  assert.equal(a.code, 0);
  assert.equal(b.code, 0);
  assert.ok(a.stdout.startsWith("Usage: pigeon link"));
  assert.ok(a.stdout.includes("Global options:"));
  assert.equal(a.stdout, b.stdout);
  assert.equal(a.stderr + b.stderr, "");
});

Deno.test("cli e2e: an unknown command exits 2 with one line and no stack", async () => {
  const result = await pigeon("frobnicate", "--x");
  assert.equal(result.code, 2);
  assertOneLineError(result, '"frobnicate"');
});

Deno.test("cli e2e: a bad flag exits 2 with one line", async () => {
  const unknown = await pigeon("link", "--bogus", ID);
  assert.equal(unknown.code, 2);
  assertOneLineError(unknown, "unknown option --bogus");
  const early = await pigeon("--bogus");
  assert.equal(early.code, 2);
  assertOneLineError(early, "unknown option --bogus");
  const missing = await pigeon("link");
  assert.equal(missing.code, 2);
  assertOneLineError(missing, "expects 1 argument");
});

Deno.test("cli e2e: link prints the canonical form, and a bad link exits 2", async () => {
  const ok = await pigeon("link", `hyper://${HEX}+4/a%20b.txt`);
  assert.equal(ok.code, 0);
  assert.equal(ok.stdout, `hyper://${ID}+4/a%20b.txt\n`);
  assert.equal(ok.stderr, "");

  const json = await pigeon("link", "--json", ID);
  assert.equal(json.code, 0);
  assert.deepEqual(JSON.parse(json.stdout), {
    event: "link",
    link: `hyper://${ID}`,
    key: HEX,
    id: ID,
    version: null,
    path: null,
  });

  const bad = await pigeon("link", `hyper://${ID}/../etc/passwd`);
  assert.equal(bad.code, 2);
  assertOneLineError(bad, '".." segment');

  const badJson = await pigeon("--json", "link", "hyper://nope");
  assert.equal(badJson.code, 2);
  assert.equal(badJson.stdout, "");
  const event = JSON.parse(badJson.stderr);
  assert.equal(event.event, "error");
  assert.equal(event.code, "INVALID_LINK");
  assert.equal(event.exit, 2);
});

Deno.test("cli e2e: the bundle from tools/build.sh runs in an empty folder", async () => {
  const dist = await Deno.makeTempDir({ prefix: "pigeon-build-" });
  const empty = await Deno.makeTempDir({ prefix: "pigeon-empty-" });
  try {
    const build = await run(
      "bash",
      [new URL("tools/build.sh", ROOT).pathname, dist],
      ROOT.pathname,
    );
    assert.equal(build.code, 0, build.stderr);
    const bin = `${dist}/pigeon`;
    const version = await run(bin, ["--version"], empty);
    assert.equal(version.code, 0, version.stderr);
    assert.equal(version.stdout, `pigeon ${VERSION} (deno ${Deno.version.deno})\n`);
    const help = await run(bin, ["help"], empty);
    assert.equal(help.code, 0);
    assert.ok(help.stdout.includes("Commands:"));
    const link = await run(bin, ["link", HEX], empty);
    assert.equal(link.stdout, `hyper://${ID}\n`);
    const bad = await run(bin, ["frobnicate"], empty);
    assert.equal(bad.code, 2);
    assertOneLineError(bad, "frobnicate");
    assert.deepEqual([...Deno.readDirSync(empty)], [], "running it wrote nothing in the folder");
  } finally {
    await Deno.remove(dist, { recursive: true });
    await Deno.remove(empty, { recursive: true });
  }
});
