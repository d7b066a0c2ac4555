// Checks that every published @tributary/* package.json has the one shape of docs/conventions.md: the fields below
// hold the same value in every package (the supported Node versions, the module type, what is published, how), and
// `repository.directory` is the package's own folder. Run by `pnpm check:packages` (before publint and attw, which
// look at one package at a time and so cannot see a package that differs from the others). Exits 1 naming each
// package, field and value that differs, and the value the other packages have.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));

/** The fields every package must share, as paths into its package.json. */
const SHARED = [
  "engines.node",
  "type",
  "sideEffects",
  "files",
  "license",
  "publishConfig.access",
  "publishConfig.provenance",
  "repository.type",
  "repository.url",
] as const;

interface Manifest {
  name: string;
  private?: boolean;
  repository?: { directory?: string };
}

/** The value at `path` ("a.b") of `manifest`, as JSON text so that arrays and missing values compare too. */
function valueAt(manifest: unknown, path: string): string {
  let value: unknown = manifest;
  for (const key of path.split(".")) value = (value as Record<string, unknown> | undefined)?.[key];
  return value === undefined ? "(missing)" : JSON.stringify(value);
}

const packages = readdirSync(join(root, "packages"))
  .map((dir) => ({
    dir,
    manifest: JSON.parse(readFileSync(join(root, "packages", dir, "package.json"), "utf8")) as Manifest,
  }))
  .filter(({ manifest }) => manifest.name.startsWith("@tributary/") && !manifest.private);

const problems: string[] = [];
for (const field of SHARED) {
  const byValue = new Map<string, string[]>();
  for (const { manifest } of packages) {
    const value = valueAt(manifest, field);
    byValue.set(value, [...(byValue.get(value) ?? []), manifest.name]);
  }
  if (byValue.size < 2) continue;
  // The value most packages have is the convention; the others are the ones to fix.
  const [usual, ...others] = [...byValue.entries()].sort((a, b) => b[1].length - a[1].length);
  for (const [value, names] of others) {
    problems.push(
      `${names.join(", ")}: ${field} is ${value}, where ${usual?.[1].length} other packages have ${usual?.[0]}`,
    );
  }
}
for (const { dir, manifest } of packages) {
  const expected = `packages/${dir}`;
  if (manifest.repository?.directory !== expected) {
    problems.push(
      `${manifest.name}: repository.directory is ${valueAt(manifest, "repository.directory")}, not "${expected}"`,
    );
  }
}

if (problems.length > 0) {
  console.error(`package.json shape: ${problems.length} difference(s) between the packages:`);
  for (const problem of problems) console.error(`  ${problem}`);
  process.exit(1);
}
console.log(`package.json shape: ${packages.length} packages share ${SHARED.join(", ")}`);
