// Issue 15: runs per second through in-process agents against a bare BullMQ worker on the same Redis; latency
// from queueing a run to its first task with child-process isolation; agent RSS after many runs.
// BENCH_AGENT_RUNS (default 5000) runs per throughput measure, BENCH_AGENT_ROUNDS (default 3) rounds; BENCH_AGENT_RSS_RUNS (default 10000) for the RSS figure.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { openRunQueue, QUEUE_PREFIX, type RunQueue, startAgent } from "@tributary/agent";
import {
  BUNDLE_FILE,
  createManifest,
  fileStorage,
  MANIFEST_FILE,
  type RunReport,
  runDeployment,
} from "@tributary/flow";
import { startRedis } from "@tributary/testing";
import { Queue } from "bullmq";
import { fmt, median } from "./stats.ts";

const RUNS = Number(process.env.BENCH_AGENT_RUNS ?? 5000);
const ROUNDS = Number(process.env.BENCH_AGENT_ROUNDS ?? 3);
// A run queue keeps the last 10,000 completed runs, and the measures count them.
if (!(RUNS > 0 && RUNS <= 10_000)) throw new Error("BENCH_AGENT_RUNS must be from 1 to 10,000");
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

/** A node process running `args`, resolved once its stderr says `ready`. */
async function startProcess(args: readonly string[], home: string, ready: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [...args], {
    stdio: ["ignore", "ignore", "pipe"],
    cwd: ROOT,
    env: { ...process.env, TRIBUTARY_HOME: home },
  });
  let said = "";
  await new Promise<void>((resolve, reject) => {
    child.stderr.on("data", (d) => {
      said = (said + String(d)).slice(-4000);
      if (said.includes(ready)) resolve();
    });
    child.once("exit", (code) => reject(new Error(`${args[0]} exited with ${code}: ${said}`)));
  });
  return child;
}

/** `tributary agent start` in its own process, resolved once it takes runs. */
function startAgentProcess(
  queue: string,
  redis: string,
  home: string,
  extra: readonly string[],
): Promise<ChildProcess> {
  return startProcess(
    [BIN, "agent", "start", "--queue", queue, "--redis", redis, ...extra],
    home,
    "takes runs from queue",
  );
}

function stopProcess(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once("exit", () => resolve());
    child.kill("SIGTERM");
  });
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
    // Every run is measured the same way: the queue paused (BullMQ's global pause) while the worker processes start
    // and the runs are queued as `tributary run --queue` queues them (same job data and options), then resumed.
    // Each measure has a Redis of its own, so none runs on the jobs the ones before it left.
    const throughput = async (
      queue: string,
      start: (url: string) => Promise<ChildProcess[]>,
    ): Promise<number> => {
      const own = await startRedis();
      try {
        const control = new Queue(queue, { connection: { url: own.url }, prefix: QUEUE_PREFIX });
        await control.pause();
        const workers = await start(own.url);
        const runs = openRunQueue({ queue, redis: own.url });
        for (let i = 0; i < RUNS; i += 200) {
          await Promise.all(Array.from({ length: Math.min(200, RUNS - i) }, () => runs.enqueue({ address })));
        }
        const started = performance.now();
        await control.resume();
        await until(async () => (await runs.counts()).completed === RUNS);
        const rate = RUNS / ((performance.now() - started) / 1000);
        await Promise.all(workers.map(stopProcess));
        await runs.close();
        await control.close();
        return rate;
      } finally {
        await own.close();
      }
    };
    const bare = (queue: string) => (url: string) =>
      Promise.all([
        startProcess(
          [join(ROOT, "bench", "bare-worker.mjs"), queue, QUEUE_PREFIX, url, `${CONCURRENCY}`],
          dir,
          "ready",
        ),
      ]);
    const agents = (queue: string, count: number) => (url: string) =>
      Promise.all(
        Array.from({ length: count }, () =>
          startAgentProcess(queue, url, dir, [
            "--isolation",
            "in-process",
            "--concurrency",
            `${CONCURRENCY}`,
          ]),
        ),
      );
    // Rounds of bare, 1 agent, 2 agents, one after another: each ratio is taken within its round, and the median
    // round is reported (this machine's speed drifts between rounds).
    const rounds: { bare: number; one: number; two: number }[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      rounds.push({
        bare: await throughput(`bare${round}`, bare(`bare${round}`)),
        one: await throughput(`one${round}`, agents(`one${round}`, 1)),
        two: await throughput(`two${round}`, agents(`two${round}`, 2)),
      });
    }
    const medianOf = (pick: (r: (typeof rounds)[number]) => number) => median(rounds.map(pick));
    const bareRate = medianOf((r) => r.bare);

    // The agent's own cost: one in-process agent whose runner returns a fixed report (no flow, no deployment).
    const fixedRuns = openRunQueue({ queue: "fixed", redis: redis.url });
    for (let i = 0; i < RUNS; i += 200) {
      await Promise.all(
        Array.from({ length: Math.min(200, RUNS - i) }, () => fixedRuns.enqueue({ address })),
      );
    }
    const started = performance.now();
    const fixedAgent = await startAgent({
      queue: "fixed",
      redis: redis.url,
      isolation: "in-process",
      concurrency: CONCURRENCY,
      log: () => {},
      secrets: { BENCH_TOKEN: "bench-token-value" },
      runInProcess: (run) => Promise.resolve({ ...FIXED_REPORT, runId: run.runId }),
    });
    await until(async () => (await fixedRuns.counts()).completed === RUNS);
    const fixedRate = RUNS / ((performance.now() - started) / 1000);
    await fixedAgent.close();
    await fixedRuns.close();

    figures[`bare BullMQ worker, no-op job, concurrency ${CONCURRENCY} (${RUNS} jobs)`] = fmt(
      bareRate,
      "jobs/s",
      0,
    );
    const against = (pick: (r: (typeof rounds)[number]) => number) =>
      `${fmt(medianOf(pick), "runs/s", 0)} (${medianOf((r) => pick(r) / r.bare).toFixed(2)}× bare; rounds ${rounds
        .map((r) => (pick(r) / r.bare).toFixed(2))
        .join(", ")})`;
    figures["1 in-process agent (bench process), runner returning a fixed report"] =
      `${fmt(fixedRate, "runs/s", 0)} (${(fixedRate / bareRate).toFixed(2)}× bare)`;
    figures["1 agent process, in-process, no-op deployment (goal ≥ 0.8× bare)"] = against((r) => r.one);
    figures["2 agent processes, in-process, no-op deployment (goal ≥ 0.8× bare)"] = against((r) => r.two);

    // Latency from queueing to the first task, child-process isolation through `tributary agent start`.
    const agent = await startAgentProcess("latency", redis.url, dir, ["--concurrency", "1"]);
    const latency = openRunQueue({ queue: "latency", redis: redis.url });
    const waited: number[] = [];
    for (let i = 0; i < LATENCY_SAMPLES; i++) {
      const { runId } = await latency.enqueue({ address, params: { t0: Date.now() } });
      const report = await latency.wait(runId);
      waited.push((report.result as { waitedMs: number }).waitedMs);
    }
    await stopProcess(agent);
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
