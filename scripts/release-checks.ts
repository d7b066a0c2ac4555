// The checks a published @tributary/* package must pass, on its manifest as the registry serves it and the files of
// its tarball. Used by `pnpm release:rehearse` on what it published; tested on broken packages in
// release-checks.test.ts (run by `pnpm test`).
import { readFileSync } from "node:fs";
import { posix } from "node:path";

/** A published manifest: the fields these checks read. */
export interface PublishedManifest {
  name: string;
  version: string;
  license?: string;
  repository?: { type?: string; url?: string; directory?: string } | string;
  engines?: { node?: string };
  publishConfig?: { provenance?: boolean; access?: string };
  main?: string;
  module?: string;
  types?: string;
  bin?: string | Record<string, string>;
  exports?: unknown;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

/** A published package: its manifest, the paths in its tarball (relative, `/`-separated), and how to read a file. */
export interface PublishedPackage {
  manifest: PublishedManifest;
  files: readonly string[];
  read(path: string): string;
}

/** Files every package page shows besides the code. */
const ALWAYS = /^(package\.json|README\.md|LICENSE|CHANGELOG\.md)$/;
const TEST_FILE = /(^|\/)(test|tests|__tests__|fixtures)\/|\.(test|spec)\.[cm]?[jt]sx?$|\.test-d\.ts$/;
const STAND_IN = /stand-in/i;

/** The files the manifest points at: every target of `exports`, `main`, `module`, `types` and `bin`. */
export function entryPoints(manifest: PublishedManifest): string[] {
  const out: string[] = [];
  const collect = (value: unknown) => {
    if (typeof value === "string") out.push(value);
    else if (value && typeof value === "object") for (const v of Object.values(value)) collect(v);
  };
  collect(manifest.exports);
  collect([manifest.main, manifest.module, manifest.types]);
  collect(manifest.bin);
  return [...new Set(out.map((p) => posix.normalize(p)).filter((p) => p !== "package.json"))];
}

/** The files reachable from the entry points: relative imports and requires, declaration references, source maps. */
export function reachableFiles(pkg: PublishedPackage): Set<string> {
  const present = new Set(pkg.files);
  const seen = new Set<string>();
  const queue = entryPoints(pkg.manifest).filter((p) => present.has(p));
  const specifier =
    /(?:from\s*|import\s*\(\s*|require\s*\(\s*|import\s+)["'](\.{1,2}\/[^"']+)["']|\/\/[#@] sourceMappingURL=([^\s]+)|<reference path=["']([^"']+)["']/g;
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    if (seen.has(file)) continue;
    seen.add(file);
    if (!/\.(c|m)?js$|\.d\.(c|m)?ts$/.test(file)) continue;
    for (const match of pkg.read(file).matchAll(specifier)) {
      const target = match[1] ?? match[2] ?? match[3];
      if (!target || /^data:/.test(target)) continue;
      const base = posix.normalize(posix.join(posix.dirname(file), target));
      // A declaration imports "./chunk.js" for "./chunk.d.ts"; try the forms a resolver would.
      const candidates = [base, base.replace(/\.(c|m)?js$/, ".d.$1ts"), `${base}.js`, `${base}.d.ts`];
      for (const candidate of candidates) if (present.has(candidate)) queue.push(candidate);
    }
  }
  return seen;
}

/** Whether `version` satisfies `range` (exact, `^`, `~`, `>=`, `*`, with partial versions such as `^0`). */
export function satisfies(version: string, range: string): boolean {
  const v = version.split(".").map(Number);
  const m = /^(\^|~|>=)?(\d+)(?:\.(\d+))?(?:\.(\d+))?$/.exec(range.trim());
  if (range.trim() === "*") return true;
  if (!m) return false;
  const [, op = "", ...rest] = m;
  const r = rest.map((x) => (x === undefined ? undefined : Number(x)));
  const given = r.filter((x) => x !== undefined).length;
  const lower = [r[0] ?? 0, r[1] ?? 0, r[2] ?? 0];
  const cmp = (a: number[], b: number[]) => (a[0]! - b[0]! || a[1]! - b[1]! || a[2]! - b[2]!) as number;
  if (cmp(v, lower) < 0) return false;
  if (op === ">=") return true;
  if (op === "") return given === 3 ? cmp(v, lower) === 0 : v.slice(0, given).every((x, i) => x === lower[i]);
  if (op === "~") return v[0] === lower[0] && (given < 2 || v[1] === lower[1]);
  // ^: the left-most non-zero part given stays fixed.
  const fixed = lower.findIndex((x, i) => x !== 0 || i === given - 1);
  const keep = fixed === -1 ? given : Math.min(fixed + 1, given);
  return v.slice(0, keep).every((x, i) => x === lower[i]);
}

/**
 * What is wrong with a published package, one line each (empty when nothing): `workspace:` anywhere in the manifest,
 * a @tributary/* dependency whose range does not take the version published together (`version`), a missing
 * `repository`, `license`, `engines.node` or `publishConfig.provenance: true`, README.md or LICENSE missing from the
 * tarball, an entry point missing, and any file the entry points do not reach (tests, stand-ins, leftovers).
 */
export function checkPublishedPackage(pkg: PublishedPackage, version: string): string[] {
  const { manifest } = pkg;
  const problems: string[] = [];
  const text = JSON.stringify(manifest);
  for (const match of text.matchAll(/"([^"]+)":"(workspace:[^"]*)"/g))
    problems.push(`"${match[1]}" is "${match[2]}" in the published manifest (a workspace range left in)`);
  for (const field of ["dependencies", "peerDependencies", "optionalDependencies"] as const) {
    for (const [name, range] of Object.entries(manifest[field] ?? {})) {
      if (name.startsWith("@tributary/") && !range.startsWith("workspace:") && !satisfies(version, range))
        problems.push(`${field}.${name} is "${range}", which does not take ${version}, published together`);
    }
  }
  if (manifest.version !== version)
    problems.push(`version is ${manifest.version}, not ${version} like the others`);
  const repository = typeof manifest.repository === "string" ? manifest.repository : manifest.repository?.url;
  if (!repository) problems.push("no repository");
  if (!manifest.license) problems.push("no license");
  if (!manifest.engines?.node) problems.push("no engines.node");
  if (manifest.publishConfig?.provenance !== true) problems.push("publishConfig.provenance is not true");
  const files = new Set(pkg.files);
  for (const required of ["README.md", "LICENSE"])
    if (!files.has(required)) problems.push(`${required} is not in the tarball`);
  for (const entry of entryPoints(manifest))
    if (!files.has(entry)) problems.push(`${entry} is an entry point but is not in the tarball`);
  const reachable = reachableFiles(pkg);
  const integration = manifest.name !== "@tributary/testing";
  for (const file of pkg.files) {
    if (TEST_FILE.test(file)) problems.push(`${file} is a test file`);
    else if (integration && STAND_IN.test(file))
      problems.push(`${file} is a stand-in, shipped outside @tributary/testing`);
    else if (!ALWAYS.test(file) && !reachable.has(file))
      problems.push(
        `${file} is shipped but no entry point reaches it (files must hold what the exports point at)`,
      );
  }
  if (
    integration &&
    (manifest.dependencies?.["@tributary/testing"] || manifest.peerDependencies?.["@tributary/testing"])
  )
    problems.push("depends on @tributary/testing (the stand-ins are a dev dependency)");
  return problems.map((p) => `${manifest.name}: ${p}`);
}

/** A package as installed in a folder (what npm extracted from its tarball), for `checkPublishedPackage`. */
export function installedPackage(
  dir: string,
  manifest: PublishedManifest,
  files: readonly string[],
): PublishedPackage {
  return { manifest, files, read: (path) => readFileSync(posix.join(dir, path), "utf8") };
}
