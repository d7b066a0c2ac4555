// Shared by the tests that need a project outside the workspace holding real copies of built packages (flow's
// storage kinds without the integrations, aws's tasks without the optional service clients).
import { cpSync, existsSync, readFileSync, realpathSync } from "node:fs";
import { dirname, join, relative, sep } from "node:path";

interface PackageJson {
  name: string;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

/** The folder of the package `name` as Node finds it from `from`: the first `node_modules/<name>` up the tree. */
function installedFolder(name: string, from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, "node_modules", name);
    if (existsSync(join(candidate, "package.json"))) return realpathSync(candidate);
    if (dirname(dir) === dir) throw new Error(`${name} is not installed above ${from}`);
  }
}

/**
 * Copies the package in `folder` and everything it needs (its dependencies and non-optional peers, and theirs) into
 * `into/node_modules`, flat as npm lays them out: a project where exactly these packages are installed, and nothing
 * of the workspace can be found by walking up from them (copies, not links). Returns the packages' names.
 */
export function installCopies(folder: string, into: string, done = new Set<string>()): Set<string> {
  const manifest = JSON.parse(readFileSync(join(folder, "package.json"), "utf8")) as PackageJson;
  if (done.has(manifest.name)) return done;
  done.add(manifest.name);
  cpSync(folder, join(into, "node_modules", manifest.name), {
    recursive: true,
    filter: (path) => !relative(folder, path).split(sep).includes("node_modules"),
  });
  const optional = manifest.peerDependenciesMeta ?? {};
  const needs = [
    ...Object.keys(manifest.dependencies ?? {}),
    ...Object.keys(manifest.peerDependencies ?? {}).filter((name) => !optional[name]?.optional),
  ];
  for (const name of needs) installCopies(installedFolder(name, folder), into, done);
  return done;
}
