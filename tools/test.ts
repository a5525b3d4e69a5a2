/**
 * `deno task test [deno test flags] [paths]`: runs pigeon's tests and ends
 * with one line `N passed, N failed` (`, N skipped` when tests were ignored),
 * which CI reads; exits with `deno test`'s exit code.
 *
 * - Without paths it runs every test file under tests/ plus the JSDoc examples
 *   of mod.ts and lib/ (`--doc`). The test files are listed one by one so that
 *   `--doc` does not also run code blocks of Markdown files under tests/.
 *   With paths (anything that exists on disk) it runs only those, without `--doc`.
 * - Tests run with `-A` and the ops and resources sanitizers on (Deno 2.9 has
 *   them off by default): a test that leaks a timer, socket or file fails.
 * - `PIGEON_CRYPTO=ts|wasm` and every other variable pass through to the tests;
 *   `PIGEON_LAN` defaults to `loopback` so no test multicasts onto a real network.
 * - Output streams as it comes; the counts come from Deno's summary line
 *   (`ok | 7 passed (6 steps) | 0 failed | 1 ignored (…)`; steps are not counted).
 *
 * @module
 */

const SUMMARY =
  /^(?:ok|FAILED) \| (\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed(?: \(\d+ steps?\))?(?: \| (\d+) ignored(?: \(\d+ steps?\))?)?/;
const DOC_PATHS = ["mod.ts", "lib/"];
/** Deno's own test file pattern: `{*_,*.,}test.{ts,tsx,mts,js,mjs,jsx}`. */
const TEST_FILE = /(^|[_.])test\.(ts|tsx|mts|js|mjs|jsx)$/;
const SANITIZERS = ["--sanitize-ops", "--sanitize-resources"];

const root = new URL("../", import.meta.url);

// The name matches Deno's test file pattern, so a bare `deno test` in the root
// would load this file: only run when executed directly.
if (import.meta.main) await runTests();

/** Runs the suite and exits with deno test's exit code. */
async function runTests(): Promise<void> {
  const args = [...Deno.args];
  const hasPaths = await anyExists(args.filter((a) => !a.startsWith("-")));
  const testArgs = ["test", "-A", ...SANITIZERS, ...(hasPaths ? [] : ["--doc"]), ...args];
  let shown = testArgs.join(" ");
  if (!hasPaths) {
    const files = await testFiles("tests");
    testArgs.push(...files, ...DOC_PATHS);
    shown += ` <${files.length} test files under tests/> ${DOC_PATHS.join(" ")}`;
  }
  const crypto = Deno.env.get("PIGEON_CRYPTO");
  console.log(`test: deno ${shown}${crypto ? ` (PIGEON_CRYPTO=${crypto})` : ""}`);

  // Tests must never send multicast DNS onto a real network: keep pigeon's LAN
  // discovery on loopback unless the caller chose otherwise (tests/lan sets its own).
  const env = { PIGEON_LAN: Deno.env.get("PIGEON_LAN") ?? "loopback" };
  const child = new Deno.Command(Deno.execPath(), {
    args: testArgs,
    env,
    cwd: root,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();

  let passed = 0;
  let failed = 0;
  let ignored = 0;
  let summaries = 0;
  const [, status] = await Promise.all([
    Promise.all([
      pump(child.stdout, Deno.stdout, (line) => {
        const m = SUMMARY.exec(line);
        if (m === null) return;
        summaries++;
        passed += Number(m[1]);
        failed += Number(m[2]);
        ignored += Number(m[3] ?? 0);
      }),
      pump(child.stderr, Deno.stderr, () => {}),
    ]),
    child.status,
  ]);

  let code = status.code;
  if (summaries === 0 && code !== 0) {
    // Deno stopped before running tests (a type error, a missing module): count that as a failure.
    console.log("test: deno test stopped before printing a summary (see above)");
    failed = Math.max(failed, 1);
  }
  if (code === 0 && failed > 0) code = 1;
  console.log(`${passed} passed, ${failed} failed${ignored > 0 ? `, ${ignored} skipped` : ""}`);
  Deno.exit(code);
}

/** Copies `from` to `to` as it arrives, calling `onLine` for each complete line. */
async function pump(
  from: ReadableStream<Uint8Array>,
  to: { write(p: Uint8Array): Promise<number> },
  onLine: (line: string) => void,
): Promise<void> {
  const decoder = new TextDecoder();
  let pending = "";
  for await (const chunk of from) {
    let done = 0;
    while (done < chunk.byteLength) done += await to.write(chunk.subarray(done));
    pending += decoder.decode(chunk, { stream: true });
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) onLine(line);
  }
  if (pending !== "") onLine(pending);
}

/** Test files under `dir` (relative to the root), sorted, skipping node_modules. */
async function testFiles(dir: string): Promise<string[]> {
  const found: string[] = [];
  for await (const entry of Deno.readDir(new URL(dir + "/", root))) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory && entry.name !== "node_modules") found.push(...(await testFiles(path)));
    else if (entry.isFile && TEST_FILE.test(entry.name)) found.push(path);
  }
  return found.sort();
}

async function anyExists(paths: string[]): Promise<boolean> {
  for (const path of paths) {
    try {
      await Deno.stat(new URL(path, root));
      return true;
    } catch {
      // not a path: a flag's value such as `--filter name`
    }
  }
  return false;
}
