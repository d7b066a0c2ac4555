// Issue 13: cold import of each integration against the main SDK package it wraps, measured in one run (median of
// fresh Node processes, alternating the two so machine load hits both alike), and the time of `tributary --help`.
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { fmt, median } from "./stats.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const RUNS = 7;

/** The integrations and the SDK package each wraps, resolved from the integration's own folder. */
export const PAIRS = [
  { pkg: "aws", ours: "@tributary/aws", sdk: "@aws-sdk/client-s3" },
  { pkg: "gcp", ours: "@tributary/gcp", sdk: "@googleapis/storage" },
  { pkg: "slack", ours: "@tributary/slack", sdk: "@slack/web-api" },
  { pkg: "github", ours: "@tributary/github", sdk: "@octokit/rest" },
] as const;

function importMs(specifier: string, cwd: string): number {
  const script = `const t = performance.now(); await import(${JSON.stringify(specifier)}); console.log(performance.now() - t);`;
  return Number(
    execFileSync(process.execPath, ["--input-type=module", "-e", script], { cwd, encoding: "utf8" }).trim(),
  );
}

function wallMs(args: readonly string[]): number {
  const started = performance.now();
  execFileSync(process.execPath, args, { cwd: root, stdio: "ignore" });
  return performance.now() - started;
}

export default async function run(): Promise<Record<string, string>> {
  const figures: Record<string, string> = {};
  for (const { pkg, ours, sdk } of PAIRS) {
    const cwd = join(root, "packages", pkg);
    const a: number[] = [];
    const b: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      a.push(importMs(ours, cwd));
      b.push(importMs(sdk, cwd));
    }
    const [mine, theirs] = [median(a), median(b)];
    figures[`${ours} vs ${sdk} (goal ≤ 1.00×)`] =
      `${(mine / theirs).toFixed(2)}× (${fmt(mine, "ms", 0)} vs ${fmt(theirs, "ms", 0)})`;
  }
  const bin = join(root, "packages", "cli", "dist", "bin.js");
  const help = median(Array.from({ length: RUNS }, () => wallMs([bin, "--help"])));
  const bare = median(Array.from({ length: RUNS }, () => wallMs(["-e", ""])));
  figures["tributary --help, wall clock (goal ≤ 100 ms)"] = fmt(help, "ms", 0);
  figures["node -e '' on this machine, for scale"] = fmt(bare, "ms", 0);
  figures["tributary --help beyond Node's own start"] = fmt(help - bare, "ms", 0);
  return figures;
}
