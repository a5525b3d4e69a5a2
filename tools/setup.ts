/**
 * `deno task setup`: installs the Node reference harness (tests/interop) that
 * the interop tests and benchmarks run against, with `npm ci` from its
 * committed lock file.
 *
 * The install is skipped when node_modules already matches the lock file (a
 * stamp holds the lock file's SHA-256), so repeated `deno task test` runs stay
 * fast. A missing harness folder or a missing `npm` is reported and skipped:
 * the tests that need the harness then skip themselves with a printed reason.
 *
 * Usage: deno run -A tools/setup.ts [--force]
 *
 * @module
 */

const HARNESSES = ["tests/interop"];
const STAMP = "node_modules/.pigeon-setup-stamp";
/** npm ci of the harness must finish within this (a fresh install takes about 10 s here). */
const MAX_INSTALL_MS = 10 * 60 * 1000;

const root = new URL("../", import.meta.url);
const force = Deno.args.includes("--force");
let failed = false;

for (const harness of HARNESSES) {
  const dir = new URL(harness + "/", root);
  const lock = await readOrNull(new URL("package-lock.json", dir));
  if (lock === null) {
    const why = (await exists(new URL("package.json", dir)))
      ? "it has no package-lock.json"
      : "it does not exist yet";
    console.log(`setup: skipping ${harness}: ${why}`);
    continue;
  }
  const digest = await sha256Hex(lock);
  const stamp = await readOrNull(new URL(STAMP, dir));
  if (!force && stamp !== null && new TextDecoder().decode(stamp).trim() === digest) {
    console.log(`setup: ${harness} is up to date`);
    continue;
  }
  console.log(`setup: npm ci --prefix ${harness}`);
  const started = performance.now();
  const code = await npmCi(harness);
  if (code !== 0) {
    console.error(`setup: npm ci --prefix ${harness} failed with exit code ${code}`);
    failed = true;
    continue;
  }
  await Deno.writeTextFile(new URL(STAMP, dir), digest + "\n");
  console.log(
    `setup: ${harness} installed in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
}
Deno.exit(failed ? 1 : 0);

async function npmCi(harness: string): Promise<number> {
  const command = new Deno.Command("npm", {
    args: ["ci", "--prefix", harness, "--no-audit", "--no-fund", "--loglevel=error"],
    cwd: root,
    stdin: "null",
    stdout: "inherit",
    stderr: "inherit",
  });
  let child: Deno.ChildProcess;
  try {
    child = command.spawn();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      console.error("setup: npm is not on PATH; the interop harness is not installed");
      return 127;
    }
    throw err;
  }
  const timer = setTimeout(() => child.kill("SIGTERM"), MAX_INSTALL_MS);
  try {
    return (await child.status).code;
  } finally {
    clearTimeout(timer);
  }
}

async function readOrNull(url: URL): Promise<Uint8Array | null> {
  try {
    return await Deno.readFile(url);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw err;
  }
}

async function exists(url: URL): Promise<boolean> {
  return (await readOrNull(url)) !== null;
}

async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as BufferSource));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}
