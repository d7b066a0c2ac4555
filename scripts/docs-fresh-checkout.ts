// Generates the docs reference (`pnpm docs:generate`: TypeDoc and the CLI reference) in a fresh copy of the
// repository, as someone who builds from a source tarball and runs `git init && git add -A && git commit` would
// have it: a git repository with a commit and no remote. TypeDoc must not need a remote there (its warnings fail the
// build). The copy holds the files git would give (tracked, and new ones not ignored) and links the installed
// node_modules folders instead of installing again; the packages' dist folders are reached through them. Needs
// `pnpm build` first. CI runs it after `pnpm docs:build`; `--keep` leaves the copy for a look.
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const keep = process.argv.includes("--keep");
const git = (cwd: string, args: readonly string[]) =>
  execFileSync("git", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

const files = git(root, ["ls-files", "-z", "--cached", "--others", "--exclude-standard"])
  .split("\0")
  .filter((file) => file !== "" && existsSync(join(root, file)));
const copy = mkdtempSync(join(tmpdir(), "tributary-checkout-"));
let status = 1;
try {
  for (const file of files) {
    mkdirSync(dirname(join(copy, file)), { recursive: true });
    cpSync(join(root, file), join(copy, file), { verbatimSymlinks: true });
  }
  const installed = ["node_modules", ...files.filter((f) => /^packages\/[^/]+\/package\.json$/.test(f))]
    .map((file) => (file === "node_modules" ? file : join(dirname(file), "node_modules")))
    .filter((folder) => existsSync(join(root, folder)));
  for (const folder of installed) symlinkSync(join(root, folder), join(copy, folder), "dir");

  // Someone's own repository: one commit, no remote (no user configuration needed for the commit).
  git(copy, ["init", "--quiet"]);
  git(copy, ["add", "--all"]);
  git(copy, [
    "-c",
    "user.name=Tributary docs check",
    "-c",
    "user.email=docs-check@localhost",
    "-c",
    "commit.gpgsign=false",
    "commit",
    "--quiet",
    "--message",
    "a fresh checkout",
  ]);
  if (git(copy, ["remote"]).trim() !== "") throw new Error("the copy has a git remote");

  console.log(`docs: generating the reference in a fresh git repository without a remote (${copy})`);
  const run = spawnSync(process.execPath, ["--import", "tsx", join("scripts", "docs-generate.ts")], {
    cwd: copy,
    stdio: "inherit",
  });
  status = run.status ?? 1;
  console.log(
    status === 0
      ? "docs: the reference builds in a fresh checkout without a git remote"
      : "docs: the reference does not build in a fresh checkout without a git remote (above)",
  );
} finally {
  if (keep) console.log(`docs: the copy is kept at ${copy}`);
  else rmSync(copy, { recursive: true, force: true });
}
process.exit(status);
