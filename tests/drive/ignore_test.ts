/**
 * .pigeonignore rules: gitignore semantics (anchoring, folders only,
 * negation, wildcards, classes, `**`, escapes) and pigeon's defaults.
 */
import assert from "node:assert/strict";
import { DEFAULT_IGNORE_RULES, IgnoreRules } from "../../lib/drive/ignore.ts";

function rules(text: string): IgnoreRules {
  return IgnoreRules.parse(text, { defaults: false });
}

Deno.test("ignore: a name without a slash matches at any depth, files and folders", () => {
  const r = rules("build\n*.log\n");
  assert.equal(r.ignores("build", true), true);
  assert.equal(r.ignores("a/b/build", true), true);
  assert.equal(r.ignores("a/build", false), true);
  assert.equal(r.ignores("x.log", false), true);
  assert.equal(r.ignores("deep/er/x.log", false), true);
  assert.equal(r.ignores("x.logs", false), false);
  assert.equal(r.ignores("builder", false), false);
});

Deno.test("ignore: a slash at the start or inside anchors the pattern at the root", () => {
  const r = rules("/top.txt\ndocs/*.md\n");
  assert.equal(r.ignores("top.txt", false), true);
  assert.equal(r.ignores("sub/top.txt", false), false);
  assert.equal(r.ignores("docs/a.md", false), true);
  assert.equal(r.ignores("docs/sub/a.md", false), false, "* does not cross /");
  assert.equal(r.ignores("x/docs/a.md", false), false);
});

Deno.test("ignore: a trailing slash matches folders only", () => {
  const r = rules("cache/\n");
  assert.equal(r.ignores("cache", true), true);
  assert.equal(r.ignores("cache", false), false);
  assert.equal(r.ignores("a/cache", true), true);
});

Deno.test("ignore: the last matching rule wins and ! re-includes", () => {
  const r = rules("*.txt\n!keep.txt\n");
  assert.equal(r.ignores("a.txt", false), true);
  assert.equal(r.ignores("keep.txt", false), false);
  assert.equal(r.ignores("d/keep.txt", false), false);
  const again = rules("!keep.txt\n*.txt\n");
  assert.equal(again.ignores("keep.txt", false), true);
});

Deno.test("ignore: ** spans folders at the start, in the middle and at the end", () => {
  const r = rules("**/tmp\na/**/z\nout/**\n");
  assert.equal(r.ignores("tmp", true), true);
  assert.equal(r.ignores("x/y/tmp", false), true);
  assert.equal(r.ignores("a/z", false), true);
  assert.equal(r.ignores("a/b/c/z", false), true);
  assert.equal(r.ignores("b/a/z", false), false);
  assert.equal(r.ignores("out/x", false), true);
  assert.equal(r.ignores("out/x/y", false), true);
  assert.equal(r.ignores("out", true), false, "out/** matches what is inside, not out itself");
});

Deno.test("ignore: ? and classes match one character, never a slash", () => {
  const r = rules("f?.bin\nv[0-9].txt\nn[!a-c].txt\n");
  assert.equal(r.ignores("f1.bin", false), true);
  assert.equal(r.ignores("f12.bin", false), false);
  assert.equal(r.ignores("v7.txt", false), true);
  assert.equal(r.ignores("vx.txt", false), false);
  assert.equal(r.ignores("nd.txt", false), true);
  assert.equal(r.ignores("nb.txt", false), false);
  assert.equal(r.ignores("f/.bin", false), false);
});

Deno.test("ignore: comments, blank lines, escapes and trailing spaces", () => {
  const r = rules("# comment\n\n\\#hash\n\\!bang\ntrail   \nspace\\ \n");
  assert.equal(r.size, 4);
  assert.equal(r.ignores("# comment", false), false);
  assert.equal(r.ignores("#hash", false), true);
  assert.equal(r.ignores("!bang", false), true);
  assert.equal(r.ignores("trail", false), true);
  assert.equal(r.ignores("space ", false), true);
  assert.equal(r.ignores("space", false), false);
});

Deno.test("ignore: regex characters in names are literal", () => {
  const r = rules("a+b(1).txt\n");
  assert.equal(r.ignores("a+b(1).txt", false), true);
  assert.equal(r.ignores("aab(1).txt", false), false);
});

Deno.test("ignore: defaults leave out .git, OS junk, editor swap files and export temp files", () => {
  const r = IgnoreRules.parse("");
  assert.ok(DEFAULT_IGNORE_RULES.length > 5);
  for (
    const [path, isDir] of [
      [".git", true],
      ["sub/.git", true],
      [".DS_Store", false],
      ["a/Thumbs.db", false],
      [".notes.txt.swp", false],
      ["draft.txt~", false],
      [".#lock", false],
      ["#autosave#", false],
      [".pigeon-tmp-123", false],
    ] as const
  ) {
    assert.equal(r.ignores(path, isDir), true, path);
  }
  assert.equal(r.ignores("notes.txt", false), false);
  assert.equal(r.ignores(".pigeonignore", false), false, "the ignore file travels with the data");
  assert.equal(r.ignores(".gitignore", false), false);
});

Deno.test("ignore: .pigeon is always left out, even when re-included", () => {
  const r = IgnoreRules.parse("!.pigeon\n!.pigeon/\n!.git/\n");
  assert.equal(r.ignores(".pigeon", true), true);
  assert.equal(r.ignores(".pigeon/db/header", false), true);
  assert.equal(r.ignores(".git", true), false, "a default can be re-included");
});

Deno.test("ignore: ignoresPath also checks parent folders", () => {
  const r = rules("build/\n!build/keep\n");
  assert.equal(r.ignores("build/keep", false), false);
  assert.equal(r.ignoresPath("build/keep", false), true, "an ignored folder is never entered");
});

Deno.test("ignore: forFolder reads .pigeonignore at the top of the folder", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/.pigeonignore`, "*.tmp\n");
    const r = IgnoreRules.forFolder(dir);
    assert.equal(r.ignores("x.tmp", false), true);
    assert.equal(r.ignores(".DS_Store", false), true);
    const none = IgnoreRules.forFolder(`${dir}/missing`);
    assert.equal(none.ignores("x.tmp", false), false);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ignore: agrees with git check-ignore on the same patterns and tree", async () => {
  const patterns = [
    "*.log",
    "!important.log",
    "/root-only.txt",
    "build/",
    "docs/**/draft*",
    "**/cache",
    "tmp/**",
    "a?c.bin",
    "n[0-4].dat",
    "x[!ab].dat",
    "sub/*.md",
    "\\#literal",
    "space\\ ",
    "data/",
    "!data/keep",
  ];
  const files = [
    "a.log",
    "important.log",
    "deep/b.log",
    "deep/important.log",
    "root-only.txt",
    "sub/root-only.txt",
    "build/out.o",
    "src/build/out.o",
    "build.txt",
    "docs/draft1.md",
    "docs/x/y/draft2.md",
    "docs/final.md",
    "cache/f",
    "a/b/cache/f",
    "cacheX/f",
    "tmp/a/b",
    "abc.bin",
    "abbc.bin",
    "n3.dat",
    "n5.dat",
    "xc.dat",
    "xa.dat",
    "sub/readme.md",
    "sub/deeper/readme.md",
    "#literal",
    "space ",
    "space",
    "data/keep",
    "data/other",
    "plain.txt",
  ];
  const dir = await Deno.makeTempDir();
  try {
    const git = (args: string[], stdin?: string) => {
      const child = new Deno.Command("git", {
        args,
        cwd: dir,
        stdin: stdin === undefined ? "null" : "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      if (stdin !== undefined) {
        const w = child.stdin.getWriter();
        void w.write(new TextEncoder().encode(stdin)).then(() => w.close());
      }
      return child.output();
    };
    const init = await git(["init", "-q"]);
    assert.equal(init.code, 0, new TextDecoder().decode(init.stderr));
    await Deno.writeTextFile(`${dir}/.gitignore`, patterns.join("\n") + "\n");
    for (const f of files) {
      const parent = f.includes("/") ? f.slice(0, f.lastIndexOf("/")) : "";
      if (parent) await Deno.mkdir(`${dir}/${parent}`, { recursive: true });
      await Deno.writeTextFile(`${dir}/${f}`, "x");
    }
    const out = await git(["check-ignore", "--no-index", "--stdin"], files.join("\n") + "\n");
    const gitIgnored = new Set(
      new TextDecoder().decode(out.stdout).split("\n").filter((l) => l !== ""),
    );
    const r = IgnoreRules.parse(patterns.join("\n"), { defaults: false });
    for (const f of files) {
      assert.equal(
        r.ignoresPath(f, false),
        gitIgnored.has(f),
        `${f}: git says ${gitIgnored.has(f)}`,
      );
    }
    assert.ok(gitIgnored.size > 10, "the comparison covers many ignored paths");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
