// `pnpm check:imports` (part of `pnpm verify`, after the build): importing an integration loads no SDK module, and
// costs no more than importing the SDK it wraps. Needs `pnpm build` first: it checks the built entries, what users
// load. How each half is measured, and what counts as an SDK module, is written at the top of scripts/import-cost.ts
// (shared with bench/imports.bench.ts). Exits 1 naming, for each failure, the package, the entry, the SDK module
// loaded, the file and source line that loaded it, and what to do. It also holds the built ES module files to reading
// Node's built-ins through `process.getBuiltinModule` (tsup.config.ts), an integration's import to loading neither
// `node:crypto` nor `node:fs/promises`, and every ES entry to importing on Node 22.0–22.2 (no `getBuiltinModule`).
//
// The ratio is of CPU-time medians over alternated fresh processes; one over the limit is measured once more with
// twice the runs, and only that second figure counts, so that a burst of load on a shared machine does not fail CI
// while a real regression (a static SDK import costs the whole SDK and more) still does.
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { isBuiltin } from "node:module";
import { dirname, join, relative } from "node:path";
import { pathToFileURL } from "node:url";
import {
  builtEntries,
  checkEntry,
  compareColdImports,
  describeComparison,
  type EntryReport,
  IMPORT_RULES,
  lazyLoaderOf,
  type PackageInfo,
  root,
  rulePlan,
  workspacePackages,
} from "./import-cost.ts";

const LIMIT = 1.0;
const RUNS = 9;
const failures: string[] = [];
const fail = (message: string) => {
  failures.push(message);
  console.error(`check:imports: FAIL ${message}\n`);
};

function describeLoad(pkg: PackageInfo, report: EntryReport): string {
  const lines = [
    `${pkg.manifest.name}: importing its entry ${relative(root, report.file)} (${report.kind}) loads the SDK at ` +
      `import time: ${report.sdkFiles} files of ${report.sdkNames.join(", ")}.`,
  ];
  for (const load of report.entered) {
    for (const site of load.loadedBy) {
      lines.push(
        `  ${load.name} is loaded by ${site.built}${site.source ? ` (source: ${site.source})` : ""}, ` +
          `which asks for "${site.specifier}" when the package is imported.`,
      );
      const loader = lazyLoaderOf(pkg, site.specifier);
      lines.push(
        loader
          ? `  Fix: move that import behind the package's lazy loader, the import("${site.specifier}") at ${loader}: ` +
              `keep only \`import type\` at the top of the file and take the module from the loader when a call needs it.`
          : `  Fix: load "${site.specifier}" lazily: keep only \`import type\` at the top of the file and add one ` +
              `loader that caches import("${site.specifier}") on first use (as loadS3Sdk in packages/aws/src/s3-client.ts ` +
              `does), used by every caller.`,
      );
    }
  }
  return lines.join("\n");
}

const plan = rulePlan();
for (const { pkg, sdk } of plan.unlisted) {
  fail(
    `${pkg.manifest.name} brings third-party modules beyond the core's (${[...new Set(sdk.values())].slice(0, 5).join(", ")} …) ` +
      `but has no entry in IMPORT_RULES (scripts/import-cost.ts): name the SDK it wraps, or why it is exempt.`,
  );
}
for (const name of Object.keys(IMPORT_RULES)) {
  if (!plan.checked.some((c) => c.pkg.manifest.name === name)) {
    fail(`IMPORT_RULES (scripts/import-cost.ts) names ${name}, which is not a workspace package.`);
  }
}

// The ES module files of every package import Node's built-ins through `loadBuiltin` (the shared tsup options,
// tsup.config.ts), never with an ES `import` of the built-in, which runs all of its lazy getters; the loader's own
// `node:module` import (its fallback for Node 22.0–22.2) is the one exception.
const STATIC_IMPORT = /^import\s[^;]*?\sfrom\s*["']([^"']+)["'];?$/gm;
/** A chunk of the same build: `from "./chunk-X.js"` or `import("./run-cli-Y.js")`. */
const CHUNK_IMPORT = /(?:\sfrom\s*|\bimport\(\s*)["'](\.\/[^"']+\.js)["']/g;
for (const pkg of workspacePackages()) {
  // The ES module files a user can load: the ES entry and the commands (`bin`), and the chunks they import. A chunk
  // left in dist/ by an older build is not one of them.
  const bins = Object.values((pkg.manifest as { bin?: Record<string, string> }).bin ?? {});
  const esm = builtEntries(pkg).find((e) => e.kind === "import")?.file;
  const files = [...(esm ? [esm] : []), ...bins.map((bin) => join(pkg.dir, bin))].filter((f) =>
    existsSync(f),
  );
  for (const file of files) {
    const text = readFileSync(file, "utf8");
    for (const match of text.matchAll(CHUNK_IMPORT)) {
      const chunk = join(dirname(file), match[1] as string);
      if (!files.includes(chunk) && existsSync(chunk)) files.push(chunk);
    }
    for (const match of text.matchAll(STATIC_IMPORT)) {
      const specifier = match[1] as string;
      if (!isBuiltin(specifier) || specifier === "node:module") continue;
      const line = text.slice(0, match.index).split("\n").length;
      fail(
        `${pkg.manifest.name}: ${relative(root, file)}:${line} imports ${specifier} as an ES module, ` +
          "which loads every lazy part of it. Build the package with the shared tsup options (`sharedOptions` of " +
          "tsup.config.ts), which read built-ins through process.getBuiltinModule.",
      );
    }
  }
}

/** Built-ins an integration's import must not load: their functions load them on first call. */
const DEFERRED_BUILTINS = ["crypto", "fs/promises"];

/** The Node built-ins (by name) that importing `specifier` in a fresh process loads. */
function builtinsLoadedByImport(specifier: string, cwd: string): string[] {
  const script = `const before = new Set(process.moduleLoadList);
await import(${JSON.stringify(specifier)});
console.log(JSON.stringify(process.moduleLoadList.filter((m) => !before.has(m) && m.startsWith("NativeModule ")).map((m) => m.slice(13))));`;
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], {
    cwd,
    encoding: "utf8",
  });
  return JSON.parse(out.trim().split("\n").at(-1) ?? "[]") as string[];
}

// Node 22.0–22.2 have no `process.getBuiltinModule`: the built modules fall back to `createRequire` there, which
// every entry is imported with here, the function removed first.
const WITHOUT_GET_BUILTIN = `data:text/javascript,${encodeURIComponent("delete process.getBuiltinModule;")}`;
for (const { pkg } of plan.checked) {
  const esm = builtEntries(pkg).find((e) => e.kind === "import")?.file;
  if (!esm || !existsSync(esm)) continue;
  try {
    execFileSync(
      process.execPath,
      [
        "--import",
        WITHOUT_GET_BUILTIN,
        "--input-type=module",
        "-e",
        `await import(${JSON.stringify(pathToFileURL(esm).href)});`,
      ],
      { cwd: pkg.dir, stdio: ["ignore", "ignore", "pipe"] },
    );
  } catch (error) {
    fail(
      `${pkg.manifest.name}: ${relative(root, esm)} cannot be imported without process.getBuiltinModule (Node 22.0–22.2): ` +
        String((error as { stderr?: Buffer }).stderr ?? error)
          .trim()
          .split("\n")
          .slice(0, 5)
          .join(" "),
    );
  }
}

for (const { pkg, rule, sdk } of plan.checked) {
  const name = pkg.manifest.name;
  if ("exempt" in rule) {
    console.log(`check:imports: ${name}: exempt (${rule.exempt})`);
    continue;
  }
  const results: string[] = [];
  let loadsSdk = false;
  for (const entry of builtEntries(pkg)) {
    if (!existsSync(entry.file)) {
      fail(`${name}: ${relative(root, entry.file)} does not exist: run \`pnpm build\` first.`);
      continue;
    }
    let report: EntryReport;
    try {
      report = checkEntry(entry, sdk);
    } catch (error) {
      fail(`${name}: ${(error as Error).message}`);
      continue;
    }
    loadsSdk ||= report.sdkFiles > 0;
    if (report.sdkFiles > 0) fail(describeLoad(pkg, report));
    else results.push(`${relative(pkg.dir, entry.file)} loads no SDK module`);
  }
  if ("wraps" in rule) {
    const esm = builtEntries(pkg).find((e) => e.kind === "import")?.file;
    if (esm) {
      const loaded = builtinsLoadedByImport(pathToFileURL(esm).href, pkg.dir);
      const early = DEFERRED_BUILTINS.filter((b) => loaded.includes(b));
      if (early.length > 0) {
        fail(
          `${name}: importing ${relative(root, esm)} loads ${early.map((b) => `node:${b}`).join(" and ")}, whose ` +
            "functions load it on their first call (LOADED_ON_FIRST_CALL in tsup.config.ts): something calls one of " +
            "them while the package is imported. Make that value on first use instead (as `thisHostId` in " +
            "packages/auth/src/store-lock.ts does).",
        );
      } else results.push(`loads no ${DEFERRED_BUILTINS.map((b) => `node:${b}`).join(" nor ")} at import`);
    }
    const direct = Object.keys(pkg.manifest.dependencies ?? {});
    if (!direct.includes(rule.wraps)) {
      fail(`${name}: IMPORT_RULES says it wraps ${rule.wraps}, which is not one of its dependencies.`);
    } else {
      const ours = builtEntries(pkg).find((e) => e.kind === "import")?.file ?? pkg.dir;
      const specifier = pathToFileURL(ours).href;
      let figure = compareColdImports(specifier, rule.wraps, pkg.dir, RUNS);
      if (figure.ratio > LIMIT) figure = compareColdImports(specifier, rule.wraps, pkg.dir, RUNS * 2);
      const text = `cold import ${describeComparison(figure, rule.wraps)}`;
      if (figure.ratio > LIMIT) {
        fail(
          `${name}: ${text}, over the limit of ${LIMIT.toFixed(2)}×. Importing the package must cost less than ` +
            `importing the SDK it wraps. ` +
            (loadsSdk
              ? "It loads the SDK at import time (above): move those imports behind the lazy loader."
              : `It loads none of its SDK, so the cost is its own modules and the core's (${plan.core
                  .map((c) => c.manifest.name)
                  .join(", ")}): defer what is heavy with import() where a call needs it.`),
        );
      } else results.push(text);
    }
  }
  if (results.length > 0) console.log(`check:imports: ${name}: ${results.join("; ")}`);
}

if (failures.length > 0) {
  console.error(
    `check:imports: ${failures.length} failure(s); the rule: docs/conventions.md, "Import time".`,
  );
  process.exit(1);
}
console.log("check:imports: ok");
