// The import-time rule of the integrations, in one place for the check that CI runs (`pnpm check:imports`,
// scripts/check-imports.ts) and the benchmark (`pnpm bench imports`, bench/imports.bench.ts):
//
// 1. Importing an integration loads no SDK module. "SDK modules" are derived, not listed: every third-party package
//    in the package's dependency closure (its dependencies, optional and peer dependencies, followed through the
//    workspace packages it depends on and through each third-party package's own), minus what the core brings (the
//    closure of the workspace packages that IMPORT_RULES does not name: auth, flow, integration-kit). For
//    @tributary/aws that is @aws-sdk/*, @smithy/*, @aws/lambda-invoke-store, tslib, bowser …
//    How "loaded" is known: each built entry of the package's `exports["."]` (`import` → dist/index.js, `require` →
//    dist/index.cjs) is imported or required in a fresh Node process preloaded with scripts/trace-imports.mjs, which
//    records every module the process loads with the file that asked for it (an ES module `resolve` hook and the
//    CommonJS `Module._load`; see its header). This sees what really loads — through workspace packages, CommonJS
//    requires inside an SDK, an `import()` run at import time — where reading the bundles' import statements would
//    have to tell a top-level import from one inside a function and follow every package by hand. A file is
//    attributed to the package whose folder holds it (the deepest one); the verdict depends on no timing.
//    Each SDK module entered from outside the SDK is reported with the file and line that loaded it, mapped back
//    through the build's source map to the source file that holds the import.
// 2. Importing an integration costs no more than importing the SDK it wraps: cold imports (fresh Node processes,
//    the time of `import()` alone, without Node's own start), ours and the SDK's alternated so that machine load hits
//    both alike, compared by their medians. The ratio compares CPU time (user + system, `process.cpuUsage()` around
//    the `import()`): on a shared 2-core machine at a load of 20, the median wall-clock time of the same import moved
//    by half from one batch to the next while its CPU time moved by a millisecond. Wall-clock time is reported beside.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync } from "node:fs";
import { SourceMap } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export const root = fileURLToPath(new URL("..", import.meta.url));
const tracer = fileURLToPath(new URL("./trace-imports.mjs", import.meta.url));

/** What the rule does with a workspace package whose dependencies bring third-party modules beyond the core's. */
export type ImportRule =
  /** No SDK module at import time, and a cold import no dearer than importing `wraps`, the SDK it wraps. */
  | { wraps: string }
  /** No SDK module at import time; no SDK of its own to compare its cost with (the text says why). */
  | { noSdkAtImport: string }
  /** Not checked, for the reason given. */
  | { exempt: string };

/**
 * Every workspace package whose dependencies bring more than the core's is named here: a new one (a new
 * integration) fails `pnpm check:imports` until it is. Packages not named are the core, whose dependencies are
 * allowed everywhere.
 */
export const IMPORT_RULES: Readonly<Record<string, ImportRule>> = {
  "@tributary/aws": { wraps: "@aws-sdk/client-s3" },
  "@tributary/gcp": { wraps: "@googleapis/storage" },
  "@tributary/slack": { wraps: "@slack/web-api" },
  "@tributary/github": { wraps: "@octokit/rest" },
  "@tributary/cli": {
    noSdkAtImport:
      "it wraps no SDK of its own; each command loads the integration, esbuild, bullmq or hono (tributary ui) it needs",
  },
  "@tributary/agent": {
    exempt: "bullmq and ioredis are the agent itself: every one of its exports needs them",
  },
  "@tributary/testing": {
    exempt: "test-only stand-ins: @smithy/signature-v4 checks every request they serve, and none is deferred",
  },
};

interface Manifest {
  name: string;
  private?: boolean;
  main?: string;
  module?: string;
  exports?: Record<string, unknown>;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

/** A package folder (its real path) and its manifest. */
export interface PackageInfo {
  dir: string;
  manifest: Manifest;
}

const manifests = new Map<string, Manifest>();
function manifestOf(dir: string): Manifest {
  let manifest = manifests.get(dir);
  if (!manifest) {
    manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as Manifest;
    manifests.set(dir, manifest);
  }
  return manifest;
}

/** The workspace's published packages. */
export function workspacePackages(): PackageInfo[] {
  return readdirSync(join(root, "packages"))
    .map((name) => realpathSync(join(root, "packages", name)))
    .filter((dir) => existsSync(join(dir, "package.json")))
    .map((dir) => ({ dir, manifest: manifestOf(dir) }))
    .filter(({ manifest }) => manifest.name.startsWith("@tributary/") && !manifest.private);
}

/** The folder of package `name` as Node finds it from `fromDir` (the nearest `node_modules/<name>` upwards). */
function findPackageDir(name: string, fromDir: string): string | undefined {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, "node_modules", name);
    if (existsSync(join(candidate, "package.json"))) return realpathSync(candidate);
    if (dirname(dir) === dir) return undefined;
  }
}

/** Every package folder reachable from `dirs` through dependencies, optional and peer dependencies (installed ones). */
function dependencyClosure(dirs: readonly string[]): Map<string, string> {
  const found = new Map<string, string>();
  const queue = [...dirs];
  for (let dir = queue.shift(); dir !== undefined; dir = queue.shift()) {
    if (found.has(dir)) continue;
    const manifest = manifestOf(dir);
    found.set(dir, manifest.name);
    const names = new Set([
      ...Object.keys(manifest.dependencies ?? {}),
      ...Object.keys(manifest.optionalDependencies ?? {}),
      ...Object.keys(manifest.peerDependencies ?? {}),
    ]);
    for (const name of names) {
      const child = findPackageDir(name, dir);
      if (child && !found.has(child)) queue.push(child);
    }
  }
  return found;
}

const isWorkspaceDir = (dir: string) => !dir.split(sep).includes("node_modules");

/** The SDK of a package: folder → name of every third-party package in its closure that the core does not bring. */
export function sdkPackages(pkg: PackageInfo, core: readonly PackageInfo[]): Map<string, string> {
  const allowed = dependencyClosure(core.map((p) => p.dir));
  return new Map(
    [...dependencyClosure([pkg.dir])].filter(([dir]) => !isWorkspaceDir(dir) && !allowed.has(dir)),
  );
}

/** The packages the rule covers, the core (the others), and the packages that bring an SDK but have no rule. */
export function rulePlan(): {
  checked: { pkg: PackageInfo; rule: ImportRule; sdk: Map<string, string> }[];
  core: PackageInfo[];
  unlisted: { pkg: PackageInfo; sdk: Map<string, string> }[];
} {
  const all = workspacePackages();
  const core = all.filter((p) => IMPORT_RULES[p.manifest.name] === undefined);
  const checked = all.flatMap((pkg) => {
    const rule = IMPORT_RULES[pkg.manifest.name];
    return rule ? [{ pkg, rule, sdk: sdkPackages(pkg, core) }] : [];
  });
  const unlisted = core
    .map((pkg) => ({
      pkg,
      sdk: sdkPackages(
        pkg,
        core.filter((c) => c !== pkg),
      ),
    }))
    .filter(({ sdk }) => sdk.size > 0);
  return { checked, core, unlisted };
}

/** The built entries of a package's `exports["."]`: the ES module one and the CommonJS one. */
export function builtEntries(pkg: PackageInfo): { kind: "import" | "require"; file: string }[] {
  const dot = pkg.manifest.exports?.["."] as
    | { import?: { default?: string } | string; require?: { default?: string } | string }
    | undefined;
  const target = (c: { default?: string } | string | undefined) => (typeof c === "string" ? c : c?.default);
  const esm = target(dot?.import) ?? pkg.manifest.module;
  const cjs = target(dot?.require) ?? pkg.manifest.main;
  return [
    ...(esm ? [{ kind: "import" as const, file: resolve(pkg.dir, esm) }] : []),
    ...(cjs ? [{ kind: "require" as const, file: resolve(pkg.dir, cjs) }] : []),
  ];
}

/** One module load: the file that asked (absent for the process's own entry), what it asked for, the loaded file. */
export interface ImportEdge {
  from?: string;
  specifier: string;
  to: string;
}

/** Imports (`import()`) or requires `file` in a fresh Node process and returns every module load it caused. */
export function traceImports(file: string, kind: "import" | "require"): ImportEdge[] {
  const scratch = mkdtempSync(join(tmpdir(), "tributary-imports-"));
  const log = join(scratch, "edges.jsonl");
  try {
    const args =
      kind === "import"
        ? ["--input-type=module", "-e", `await import(${JSON.stringify(pathToFileURL(file).href)});`]
        : ["-e", `require(${JSON.stringify(file)});`];
    execFileSync(process.execPath, ["--import", pathToFileURL(tracer).href, ...args], {
      cwd: dirname(file),
      env: { ...process.env, TRIBUTARY_TRACE_IMPORTS: log },
      stdio: ["ignore", "ignore", "pipe"],
      timeout: 60_000,
    });
    if (!existsSync(log)) return [];
    return readFileSync(log, "utf8")
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as ImportEdge);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

/** Where a bundle asks for `specifier` (its first static import or require, else any mention), mapped to source. */
export function importSite(file: string, specifier: string): { built: string; source?: string } {
  const quoted = `(["'])${escapeRegExp(specifier)}\\1`;
  const lines = existsSync(file) ? readFileSync(file, "utf8").split("\n") : [];
  const find = (pattern: RegExp) => {
    for (const [line, text] of lines.entries()) {
      const match = pattern.exec(text);
      if (match) return { line, column: match.index };
    }
    return undefined;
  };
  const at =
    find(new RegExp(`(?:\\bfrom\\s*|\\bimport\\s+|\\brequire\\(\\s*)${quoted}`)) ?? find(new RegExp(quoted));
  if (!at) return { built: relative(root, file) };
  const built = `${relative(root, file)}:${at.line + 1}`;
  const mapFile = `${file}.map`;
  if (!existsSync(mapFile)) return { built };
  const entry = new SourceMap(JSON.parse(readFileSync(mapFile, "utf8"))).findEntry(at.line, at.column) as {
    originalSource?: string;
    originalLine?: number;
  };
  if (!entry.originalSource) return { built };
  const source = entry.originalSource.startsWith("file:")
    ? fileURLToPath(entry.originalSource)
    : resolve(dirname(mapFile), entry.originalSource);
  return { built, source: `${relative(root, source)}:${(entry.originalLine ?? 0) + 1}` };
}

/** An SDK package loaded when an entry is imported, and each place outside the SDK that loaded it. */
export interface SdkLoad {
  /** The SDK package entered. */
  name: string;
  /** The files outside the SDK that loaded it: the built file (and line) and the source file it maps to. */
  loadedBy: { built: string; source?: string; specifier: string }[];
}

/** What importing one built entry loads of the package's SDK. */
export interface EntryReport {
  kind: "import" | "require";
  file: string;
  /** How many SDK files were loaded in all. */
  sdkFiles: number;
  /** Every SDK package loaded. */
  sdkNames: string[];
  /** The SDK packages entered directly from outside the SDK: the imports to move. */
  entered: SdkLoad[];
}

/** Traces one entry and attributes what it loads to the package's SDK. */
export function checkEntry(
  entry: { kind: "import" | "require"; file: string },
  sdk: ReadonlyMap<string, string>,
): EntryReport {
  const sdkDirs = [...sdk.keys()].sort((a, b) => b.length - a.length);
  const sdkOf = (file: string | undefined) =>
    file === undefined ? undefined : sdkDirs.find((dir) => file.startsWith(dir + sep));
  const edges = traceImports(entry.file, entry.kind);
  // A tracer that saw nothing would pass every package: the entry and what it loads must be in the trace.
  if (!edges.some((e) => e.to === entry.file) || !edges.some((e) => e.from === entry.file)) {
    throw new Error(
      `tracing ${relative(root, entry.file)} recorded ${edges.length} module loads, neither the entry nor what it ` +
        `loads: scripts/trace-imports.mjs does not see Node ${process.version}'s module loads`,
    );
  }
  const files = new Set<string>();
  const names = new Set<string>();
  const entered = new Map<string, SdkLoad>();
  for (const edge of edges) {
    const dir = sdkOf(edge.to);
    if (!dir) continue;
    const name = sdk.get(dir) as string;
    files.add(edge.to);
    names.add(name);
    if (edge.from === undefined || sdkOf(edge.from) || !edge.from.startsWith(sep)) continue;
    const load = entered.get(name) ?? { name, loadedBy: [] };
    entered.set(name, load);
    const site = { ...importSite(edge.from, edge.specifier), specifier: edge.specifier };
    if (!load.loadedBy.some((s) => s.built === site.built)) load.loadedBy.push(site);
  }
  return {
    ...entry,
    sdkFiles: files.size,
    sdkNames: [...names].sort(),
    entered: [...entered.values()],
  };
}

/** Where the package already loads `specifier` lazily (`import("…")` in its own source), if it does. */
export function lazyLoaderOf(pkg: PackageInfo, specifier: string): string | undefined {
  const src = join(pkg.dir, "src");
  if (!existsSync(src)) return undefined;
  // A call, not a type position (`typeof import("…")`).
  const call = new RegExp(`(?<!typeof\\s*)\\bimport\\(\\s*["']${escapeRegExp(specifier)}["']`);
  for (const name of readdirSync(src, { recursive: true }) as string[]) {
    if (!/\.tsx?$/.test(name) || /\.test\.tsx?$/.test(name)) continue;
    const lines = readFileSync(join(src, name), "utf8").split("\n");
    const line = lines.findIndex((text) => call.test(text));
    if (line >= 0) return `${relative(root, join(src, name))}:${line + 1}`;
  }
  return undefined;
}

/** The cost of one cold import: wall-clock and CPU time (ms) spent in `import()`. */
export interface ImportTime {
  wallMs: number;
  cpuMs: number;
}

/** One cold import of `specifier` (resolved from `cwd`) in a fresh Node process. */
export function coldImport(specifier: string, cwd?: string): ImportTime {
  const script = `const c = process.cpuUsage(); const t = performance.now(); await import(${JSON.stringify(specifier)});
const wallMs = performance.now() - t; const u = process.cpuUsage(c);
console.log(JSON.stringify({ wallMs, cpuMs: (u.user + u.system) / 1000 }));`;
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], {
    cwd,
    encoding: "utf8",
  });
  return JSON.parse(out) as ImportTime;
}

/** Median of a list of numbers. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

const medianTime = (times: readonly ImportTime[]): ImportTime => ({
  wallMs: median(times.map((t) => t.wallMs)),
  cpuMs: median(times.map((t) => t.cpuMs)),
});

/**
 * The cold imports of `ours` and `theirs`, alternated over `runs` fresh processes each: the medians, and `ratio`, ours
 * over theirs in CPU time (what the rule holds to ≤ 1; wall-clock time is reported beside it).
 */
export function compareColdImports(
  ours: string,
  theirs: string,
  cwd: string,
  runs = 9,
): { ours: ImportTime; theirs: ImportTime; ratio: number } {
  const a: ImportTime[] = [];
  const b: ImportTime[] = [];
  for (let i = 0; i < runs; i++) {
    a.push(coldImport(ours, cwd));
    b.push(coldImport(theirs, cwd));
  }
  const [mine, sdk] = [medianTime(a), medianTime(b)];
  return { ours: mine, theirs: sdk, ratio: mine.cpuMs / sdk.cpuMs };
}

/** A comparison in words: `0.18× @aws-sdk/client-s3's (CPU 30 ms vs 170 ms; wall clock 36 ms vs 200 ms)`. */
export function describeComparison(figure: ReturnType<typeof compareColdImports>, sdk: string): string {
  const { ours: a, theirs: b } = figure;
  return (
    `${figure.ratio.toFixed(2)}× ${sdk}'s (CPU ${a.cpuMs.toFixed(0)} ms vs ${b.cpuMs.toFixed(0)} ms; ` +
    `wall clock ${a.wallMs.toFixed(0)} ms vs ${b.wallMs.toFixed(0)} ms)`
  );
}
