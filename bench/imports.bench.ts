// Issue 13: the cold import of each integration against the SDK it wraps, and the SDK modules its entry loads — the
// figures `pnpm check:imports` holds to (≤ 1.00×, none), measured by the same code (scripts/import-cost.ts, whose
// header says how) — and the time of `tributary --help`.
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import {
  builtEntries,
  checkEntry,
  compareColdImports,
  describeComparison,
  median,
  root,
  rulePlan,
} from "../scripts/import-cost.ts";
import { fmt } from "./stats.ts";

const RUNS = 7;

function wallMs(args: readonly string[]): number {
  const started = performance.now();
  execFileSync(process.execPath, args, { cwd: root, stdio: "ignore" });
  return performance.now() - started;
}

export default async function run(): Promise<Record<string, string>> {
  const figures: Record<string, string> = {};
  for (const { pkg, rule, sdk } of rulePlan().checked) {
    if ("exempt" in rule) continue;
    const name = pkg.manifest.name;
    const entries = builtEntries(pkg);
    const loaded = entries.map((entry) => `${checkEntry(entry, sdk).sdkFiles} (${entry.kind})`);
    figures[`${name}: SDK modules loaded by its entry (goal 0)`] = loaded.join(", ");
    const esm = entries.find((entry) => entry.kind === "import");
    if (!("wraps" in rule) || !esm) continue;
    const figure = compareColdImports(pathToFileURL(esm.file).href, rule.wraps, pkg.dir, RUNS);
    figures[`${name}: cold import vs the SDK it wraps (goal ≤ 1.00×)`] = describeComparison(
      figure,
      rule.wraps,
    );
  }
  const bin = join(root, "packages", "cli", "dist", "bin.js");
  const help = median(Array.from({ length: RUNS }, () => wallMs([bin, "--help"])));
  const bare = median(Array.from({ length: RUNS }, () => wallMs(["-e", ""])));
  figures["tributary --help, wall clock (goal ≤ 100 ms)"] = fmt(help, "ms", 0);
  figures["node -e '' on this machine, for scale"] = fmt(bare, "ms", 0);
  figures["tributary --help beyond Node's own start"] = fmt(help - bare, "ms", 0);
  return figures;
}
