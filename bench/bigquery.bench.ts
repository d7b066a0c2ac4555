// Issue 25: reading a 1,000,000-row query result as a stream — bigqueryQuery({ as: "stream" }) against the official
// client's createQueryStream — on the same BigQuery stand-in, in the same run. The stand-in runs in its own process and
// each client run in a fresh process of its own, so the peak RSS reported is the client's alone. Goal: ≥ 1.0× the
// official client's rows per second, and no more RSS. BENCH_BIGQUERY_ROWS sets the row count (default 1,000,000).

import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { spawnStandIn } from "./stats.ts";

const here = fileURLToPath(new URL(".", import.meta.url));
const gcpPackage = join(here, "..", "packages", "gcp");
const gcpDist = pathToFileURL(join(gcpPackage, "dist", "index.js")).href;
const testingDist = pathToFileURL(join(here, "..", "packages", "testing", "dist", "index.js")).href;

const STAND_IN = `
import { startBigQueryStandIn } from ${JSON.stringify(testingDist)};
const rows = Number(process.env.BENCH_BIGQUERY_ROWS ?? 1000000);
const bigquery = await startBigQueryStandIn();
const key = await bigquery.createServiceAccount();
await bigquery.createDataset("bench");
await bigquery.query(\`CREATE TABLE bench.orders AS SELECT range AS id, 'region-' || (range % 10) AS region,
  range * 0.25 AS amount, TIMESTAMP '2026-01-01 00:00:00+00' + to_seconds(range) AS placed_at FROM range(\${rows})\`);
process.stdout.write(JSON.stringify({ url: bigquery.url, key, rows }) + "\\n");
const stop = async () => { await bigquery.close(); process.exit(0); };
process.stdin.on("end", stop);
process.stdin.resume();
process.on("SIGTERM", stop);
`;

/** One client run: reads the whole result as a stream; prints rows, seconds and this process's peak RSS. */
const CLIENT = `
import { createRequire } from "node:module";
import { bigqueryQuery, gcpAuth } from ${JSON.stringify(gcpDist)};
const { mode, url, key } = JSON.parse(process.env.BENCH_BIGQUERY_JOB);
const query = "SELECT id, region, amount, placed_at FROM bench.orders";
const options = { credentials: key, endpoint: url };
let count = 0;
let seconds;
if (mode === "ours") {
  // Warm up as the official run does: modules loaded and a token in hand before the clock starts.
  await bigqueryQuery({ ...options, query: "SELECT 1 AS one" });
  const t = performance.now();
  const { rows } = await bigqueryQuery({ ...options, query, as: "stream" });
  for await (const row of rows) if (row.id !== undefined) count++;
  seconds = (performance.now() - t) / 1000;
} else {
  // The official client, with the same credential (the token exchange is not what is measured).
  const { client } = await gcpAuth(options);
  const { BigQuery } = createRequire(${JSON.stringify(join(gcpPackage, "package.json"))})("@google-cloud/bigquery");
  const bigquery = new BigQuery({ projectId: key.project_id, apiEndpoint: url, authClient: client });
  await bigquery.query("SELECT 1 AS one");
  const t = performance.now();
  await new Promise((resolve, reject) => {
    bigquery
      .createQueryStream({ query })
      .on("data", (row) => { if (row.id !== undefined) count++; })
      .on("error", reject)
      .on("end", resolve);
  });
  seconds = (performance.now() - t) / 1000;
}
process.stdout.write(JSON.stringify({ count, seconds, peakMb: process.resourceUsage().maxRSS / 1024 }) + "\\n");
`;

type ClientRun = { count: number; seconds: number; peakMb: number };

function runClient(job: object): ClientRun {
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", CLIENT], {
    env: { ...process.env, BENCH_BIGQUERY_JOB: JSON.stringify(job) },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    maxBuffer: 1024 * 1024,
  });
  return JSON.parse(out.trim().split("\n").at(-1) as string);
}

export default async function bigqueryBench(): Promise<Record<string, number | string>> {
  const standIn = await spawnStandIn<{ url: string; key: object; rows: number }>([
    "--input-type=module",
    "-e",
    STAND_IN,
  ]);
  try {
    const job = (mode: string) => ({ mode, url: standIn.url, key: standIn.key });
    // Official first, then ours, then both again; the better of two runs of each is kept.
    const results = { official: [] as ClientRun[], ours: [] as ClientRun[] };
    for (let round = 0; round < 2; round++) {
      results.official.push(runClient(job("official")));
      results.ours.push(runClient(job("ours")));
    }
    for (const run of [...results.official, ...results.ours]) {
      if (run.count !== standIn.rows) throw new Error(`a run read ${run.count} rows of ${standIn.rows}`);
    }
    const best = (runs: ClientRun[]) => Math.min(...runs.map((r) => r.seconds));
    const peak = (runs: ClientRun[]) => Math.max(...runs.map((r) => r.peakMb));
    const rate = (runs: ClientRun[]) => standIn.rows / best(runs);
    return {
      rows: standIn.rows,
      "rows/s (bigqueryQuery as: stream)": Math.round(rate(results.ours)),
      "rows/s (official createQueryStream)": Math.round(rate(results.official)),
      "rows/s ratio (ours / official, goal ≥ 1.00)": Number(
        (rate(results.ours) / rate(results.official)).toFixed(2),
      ),
      "peak RSS MB (ours)": Number(peak(results.ours).toFixed(0)),
      "peak RSS MB (official)": Number(peak(results.official).toFixed(0)),
      "peak RSS ratio (ours / official, goal ≤ 1.00)": Number(
        (peak(results.ours) / peak(results.official)).toFixed(2),
      ),
    };
  } finally {
    standIn.child.stdin?.end();
    await new Promise((resolve) => standIn.child.once("exit", resolve));
  }
}
