// Issue 15: runs per second through in-process agents against a bare BullMQ worker on the same Redis; latency
// from queueing a run to its first task with child-process isolation; agent RSS after many runs.
// BENCH_AGENT_RUNS (default 2000) runs per throughput round; BENCH_AGENT_RSS_RUNS (default 10000) for the RSS figure.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { openRunQueue, type RunQueue, startAgent } from "@tributary/agent";
import {
  BUNDLE_FILE,
  createManifest,
  fileStorage,
  MANIFEST_FILE,
  type RunReport,
  runDeployment,
} from "@tributary/flow";
import { startRedis } from "@tributary/testing";
import { Queue, Worker } from "bullmq";
import { fmt, median } from "./stats.ts";

const RUNS = Number(process.env.BENCH_AGENT_RUNS ?? 2000);
const RSS_RUNS = Number(process.env.BENCH_AGENT_RSS_RUNS ?? 10_000);
const CONCURRENCY = 16;
const LATENCY_SAMPLES = 30;
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BIN = join(ROOT, "packages", "cli", "dist", "bin.js");

const NOOP = `import { flow, task } from "@tributary/flow";
const first = task({ name: "first" }, async (t0) => Date.now() - t0);
export const main = flow({ name: "noop", logger: { level: "silent" } }, async ({ params }) =>
  params && params.t0 ? { waitedMs: await first(params.t0) } : undefined);
`;

const FIXED_REPORT: RunReport = {
  flow: "noop",
  runId: "",
  state: "completed",
  start: new Date(0).toISOString(),
  durationMs: 0,
  tasks: [],
  hookErrors: [],
};

async function deployNoop(dir: string): Promise<string> {
  const storage = fileStorage({ path: dir });
  const bundle = Buffer.from(NOOP);
  const manifest = createManifest({
    flow: "noop",
    flowSecrets: [],
    storageSecrets: [],
    bundle,
    tributary: {},
  });
  await storage.save("noop", [
    { name: BUNDLE_FILE, bytes: bundle },
    { name: MANIFEST_FILE, bytes: Buffer.from(JSON.stringify(manifest)) },
  ]);
  return storage.address("noop");
}

async function until(check: () => Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((r) => setTimeout(r, 10));
}

export default async function bench(): Promise<Record<string, string>> {
  const redis = await startRedis();
  const dir = mkdtempSync(join(tmpdir(), "tributary-agent-bench-"));
  process.env.TRIBUTARY_HOME = dir;
  const address = await deployNoop(dir);
  const figures: Record<string, string> = {};
  try {
    // The bare baseline: a BullMQ worker doing nothing with each job.
    const bareQueue = new Queue("bare", { connection: { url: redis.url } });
    await bareQueue.addBulk(Array.from({ length: RUNS }, (_, i) => ({ name: "noop", data: { i } })));
    let started = performance.now();
    const bare = new Worker("bare", async () => undefined, {
      connection: { url: redis.url },
      concurrency: CONCURRENCY,
    });
    await until(async () => (await bareQueue.getJobCounts("completed")).completed === RUNS);
    const bareRate = RUNS / ((performance.now() - started) / 1000);
    await bare.close();
    await bareQueue.close();

    // The same number of no-op deployment runs through 1, then 2, in-process agents (queued beforehand).
    const rates: number[] = [];
    // The agent's own cost: a runner that returns a fixed report (no flow, no deployment) — then 1 and 2 agents.
    for (const count of [0, 1, 2]) {
      const queue = `inproc${count}`;
      const runs = openRunQueue({ queue, redis: redis.url });
      for (let i = 0; i < RUNS; i += 200) {
        await Promise.all(Array.from({ length: Math.min(200, RUNS - i) }, () => runs.enqueue({ address })));
      }
      started = performance.now();
      const agents = await Promise.all(
        Array.from({ length: Math.max(count, 1) }, () =>
          startAgent({
            queue,
            redis: redis.url,
            isolation: "in-process",
            concurrency: CONCURRENCY,
            log: () => {},
            secrets: { BENCH_TOKEN: "bench-token-value" },
            runInProcess: (run, { secrets, signal }) =>
              count === 0
                ? Promise.resolve({ ...FIXED_REPORT, runId: run.runId })
                : runDeployment(run.address, {
                    runId: run.runId,
                    params: run.params,
                    secrets,
                    signal,
                    root: ROOT,
                  }),
          }),
        ),
      );
      await until(async () => (await runs.counts()).completed === RUNS);
      rates.push(RUNS / ((performance.now() - started) / 1000));
      await Promise.all(agents.map((a) => a.close()));
      await runs.close();
    }
    figures[`bare BullMQ worker, no-op job, concurrency ${CONCURRENCY} (${RUNS} jobs)`] = fmt(
      bareRate,
      "jobs/s",
      0,
    );
    const against = (rate = 0) => `${fmt(rate, "runs/s", 0)} (${(rate / bareRate).toFixed(2)}× bare)`;
    figures["1 in-process agent, runner returning a fixed report"] = against(rates[0]);
    figures["1 in-process agent, no-op deployment (goal ≥ 0.8× bare)"] = against(rates[1]);
    figures["2 in-process agents (one process), no-op deployment"] = against(rates[2]);

    // Latency from queueing to the first task, child-process isolation through `tributary agent start`.
    const agent = spawn(
      process.execPath,
      [BIN, "agent", "start", "--queue", "latency", "--redis", redis.url, "--concurrency", "1"],
      { stdio: ["ignore", "ignore", "pipe"], cwd: ROOT, env: { ...process.env, TRIBUTARY_HOME: dir } },
    );
    await new Promise<void>((resolve) =>
      agent.stderr.on("data", (d) => String(d).includes("takes runs from queue") && resolve()),
    );
    const latency = openRunQueue({ queue: "latency", redis: redis.url });
    const waited: number[] = [];
    for (let i = 0; i < LATENCY_SAMPLES; i++) {
      const { runId } = await latency.enqueue({ address, params: { t0: Date.now() } });
      const report = await latency.wait(runId);
      waited.push((report.result as { waitedMs: number }).waitedMs);
    }
    agent.kill("SIGTERM");
    await latency.close();
    const sorted = [...waited].sort((a, b) => a - b);
    figures[`queued → first task, child process (median of ${LATENCY_SAMPLES})`] = fmt(
      median(waited),
      "ms",
      0,
    );
    figures["queued → first task, child process (p99)"] = fmt(
      sorted[Math.ceil(sorted.length * 0.99) - 1] ?? 0,
      "ms",
      0,
    );
    // For scale: one `tributary run` of the same deployment in a fresh process, start to exit.
    const t = performance.now();
    execFileSync(process.execPath, [BIN, "run", address, "--json"], {
      cwd: ROOT,
      env: { ...process.env, TRIBUTARY_HOME: dir },
    });
    figures["one `tributary run` of it in a fresh process (for scale)"] = fmt(performance.now() - t, "ms", 0);

    // RSS of an in-process agent after 1,000 runs and after RSS_RUNS runs.
    figures[`in-process agent RSS after 1,000 / ${RSS_RUNS.toLocaleString("en")} runs (after GC)`] =
      await rssAfter(redis.url, address, [1000, RSS_RUNS]);
  } finally {
    await redis.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return figures;
}

async function rssAfter(url: string, address: string, marks: number[]): Promise<string> {
  const runs: RunQueue = openRunQueue({ queue: "rss", redis: url });
  const agent = await startAgent({
    queue: "rss",
    redis: url,
    isolation: "in-process",
    concurrency: CONCURRENCY,
    log: () => {},
    secrets: { BENCH_TOKEN: "bench-token-value" },
    runInProcess: (run, { secrets, signal }) =>
      runDeployment(run.address, { runId: run.runId, secrets, signal, root: ROOT }),
  });
  const out: string[] = [];
  let queued = 0;
  setFlagsFromString("--expose-gc");
  const collect = runInNewContext("gc") as () => void;
  const gc = () => {
    for (let i = 0; i < 3; i++) collect();
  };
  try {
    for (const mark of marks) {
      while (queued < mark) {
        const n = Math.min(200, mark - queued);
        await Promise.all(Array.from({ length: n }, () => runs.enqueue({ address })));
        queued += n;
      }
      await until(async () => (await runs.counts()).completed >= mark);
      gc();
      const { rss, heapUsed } = process.memoryUsage();
      out.push(`${fmt(rss / 1024 / 1024, "MB", 0)} (heap ${fmt(heapUsed / 1024 / 1024, "MB", 0)})`);
    }
  } finally {
    await agent.close();
    await runs.close();
  }
  return out.join(" / ");
}
