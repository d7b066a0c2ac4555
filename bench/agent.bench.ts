// Issue 15: runs per second through in-process agents against a bare BullMQ worker on the same Redis; latency
// from queueing a run to its first task with child-process isolation; agent RSS after many runs.
// The throughput measures take turns in chunks of BENCH_AGENT_CHUNK (default 2000) runs: BENCH_AGENT_CYCLES (default
// 10) measured cycles after BENCH_AGENT_WARMUP_CYCLES (default 2) not measured. BENCH_AGENT_RSS_RUNS (default 10000)
// for the RSS figure.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { openRunQueue, QUEUE_PREFIX, type RunQueue, startAgent } from "@tributary/agent";
import { BUNDLE_FILE, createManifest, fileStorage, MANIFEST_FILE, runDeployment } from "@tributary/flow";
import { startRedis } from "@tributary/testing";
import { Queue } from "bullmq";
import { fmt, median } from "./stats.ts";

/** The kernel's clock ticks per second, in which /proc/<pid>/stat counts CPU time (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;
const CHUNK = Number(process.env.BENCH_AGENT_CHUNK ?? 2000);
const CYCLES = Number(process.env.BENCH_AGENT_CYCLES ?? 10);
const WARMUP_CYCLES = Number(process.env.BENCH_AGENT_WARMUP_CYCLES ?? 2);
for (const [name, value, least] of [
  ["BENCH_AGENT_CHUNK", CHUNK, 1],
  ["BENCH_AGENT_CYCLES", CYCLES, 1],
  ["BENCH_AGENT_WARMUP_CYCLES", WARMUP_CYCLES, 0],
] as const) {
  if (!(Number.isInteger(value) && value >= least)) throw new Error(`${name} must be an integer ≥ ${least}`);
}
const RSS_RUNS = Number(process.env.BENCH_AGENT_RSS_RUNS ?? 10_000);
const CONCURRENCY = 16;
const LATENCY_SAMPLES = 30;
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BIN = join(ROOT, "packages", "cli", "dist", "bin.js");
/**
 * On Node 22, `tributary agent start` runs with async context frames unless NODE_OPTIONS says otherwise; the agent
 * without the CLI does here too.
 */
const CONTEXT_FRAMES =
  Number(process.versions.node.split(".")[0]) < 24 &&
  process.allowedNodeEnvironmentFlags.has("--experimental-async-context-frame") &&
  !process.env.NODE_OPTIONS?.includes("async-context-frame")
    ? ["--experimental-async-context-frame"]
    : [];

const NOOP = `import { flow, task } from "@tributary/flow";
const first = task({ name: "first" }, async (t0) => Date.now() - t0);
export const main = flow({ name: "noop", logger: { level: "silent" } }, async ({ params }) =>
  params && params.t0 ? { waitedMs: await first(params.t0) } : undefined);
`;

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
    // Every worker group runs as its own process(es) on its own queue of one Redis, all of them alive at once, its
    // queue paused (BullMQ's global pause) while the others work. Each cycle gives every group a chunk in turn: its
    // runs are queued as `tributary run --queue` queues them (same job data and options), the queue is resumed, and
    // the time until none is left waiting or running is that group's figure for the cycle. Taking turns in short
    // chunks puts every group through the same moments of this machine, whose speed drifts; the first cycles let
    // each process's code be optimized and are not counted: the figures are the steady rates of long-lived workers.
    // This Redis writes nothing to disk: its append-only file's writes and rewrites would drown the difference.
    const own = await startRedis({ persist: false });
    type Group = { name: string; queue: string; processes: ChildProcess[]; rates: number[]; cpu: number[] };
    const groups: Group[] = [];
    try {
      const group = async (name: string, start: (queue: string) => Promise<ChildProcess>[]) => {
        const queue = `${name}-runs`;
        const control = new Queue(queue, { connection: { url: own.url }, prefix: QUEUE_PREFIX });
        await control.pause();
        await control.close();
        groups.push({ name, queue, processes: await Promise.all(start(queue)), rates: [], cpu: [] });
      };
      const agentProcess = (queue: string) =>
        startAgentProcess(queue, own.url, dir, [
          "--isolation",
          "in-process",
          "--concurrency",
          `${CONCURRENCY}`,
        ]);
      const bareWorker = (queue: string, ...mode: string[]) =>
        startProcess(
          [join(ROOT, "bench", "bare-worker.mjs"), queue, QUEUE_PREFIX, own.url, `${CONCURRENCY}`, ...mode],
          dir,
          "ready",
        );
      const fixedAgent = (queue: string) =>
        startProcess(
          [
            ...CONTEXT_FRAMES,
            join(ROOT, "bench", "fixed-report-agent.mjs"),
            queue,
            own.url,
            `${CONCURRENCY}`,
          ],
          dir,
          "ready",
        );
      await group("bare", (queue) => [bareWorker(queue)]);
      await group("bare-report", (queue) => [bareWorker(queue, "report")]);
      await group("bare-two", (queue) => [bareWorker(queue), bareWorker(queue)]);
      await group("bare-report-two", (queue) => [bareWorker(queue, "report"), bareWorker(queue, "report")]);
      await group("fixed", (queue) => [fixedAgent(queue)]);
      await group("fixed-two", (queue) => [fixedAgent(queue), fixedAgent(queue)]);
      await group("one", (queue) => [agentProcess(queue)]);
      await group("two", (queue) => [agentProcess(queue), agentProcess(queue)]);

      // CPU time (user + system) from /proc, in µs: [the group's workers, Redis, the workers' main threads]. The
      // rest of a worker's time is its other threads': V8's garbage collection and compilation, mostly.
      const cpuOf = (g: Group) => {
        const read = (stat: string) => {
          const fields = readFileSync(stat, "utf8").split(") ")[1]?.split(" ") ?? [];
          return ((Number(fields[11]) + Number(fields[12])) * 1e6) / TICKS_PER_SECOND;
        };
        const workers = (stat: (pid: number | undefined) => string) =>
          g.processes.reduce((sum, p) => sum + read(stat(p.pid)), 0);
        return [
          workers((pid) => `/proc/${pid}/stat`),
          read(`/proc/${own.pid}/stat`),
          workers((pid) => `/proc/${pid}/task/${pid}/stat`),
        ];
      };
      const chunk = async (queue: string): Promise<number> => {
        const control = new Queue(queue, { connection: { url: own.url }, prefix: QUEUE_PREFIX });
        const runs = openRunQueue({ queue, redis: own.url });
        try {
          for (let i = 0; i < CHUNK; i += 200) {
            await Promise.all(
              Array.from({ length: Math.min(200, CHUNK - i) }, () => runs.enqueue({ address })),
            );
          }
          const left = async () => {
            const counts = await control.getJobCounts("wait", "active", "prioritized", "delayed");
            return Object.values(counts).reduce((a, b) => a + b, 0);
          };
          const started = performance.now();
          await control.resume();
          while ((await left()) > 0) await new Promise((r) => setTimeout(r, 5));
          const rate = CHUNK / ((performance.now() - started) / 1000);
          await control.pause();
          return rate;
        } finally {
          await runs.close();
          await control.close();
        }
      };
      for (let cycle = 0; cycle < WARMUP_CYCLES + CYCLES; cycle++) {
        // Each cycle starts one group further on, so that no group always comes first or last.
        for (const g of groups.map((_, i) => groups[(i + cycle) % groups.length] as Group)) {
          const before = cpuOf(g);
          const rate = await chunk(g.queue);
          const after = cpuOf(g);
          if (cycle < WARMUP_CYCLES) continue;
          g.rates.push(rate);
          g.cpu.push(...after.map((t, i) => t - (before[i] as number)));
        }
      }
    } finally {
      await Promise.all(groups.flatMap((g) => g.processes.map(stopProcess)));
      await own.close();
    }
    const [bare, bareReport, bareTwo, bareReportTwo, fixed, fixedTwo, one, two] = groups as [
      Group,
      ...Group[],
    ];
    // Every figure's CPU: µs per run of its worker processes (and of their main threads) and of Redis, over all
    // measured chunks (the chunks include the queueing and polling of this process, which Redis serves too).
    const cpuPerRun = (g: Group) => {
      const total = (offset: number) => g.cpu.filter((_, i) => i % 3 === offset).reduce((a, b) => a + b, 0);
      const runs = CHUNK * g.rates.length;
      const us = (offset: number) => fmt(total(offset) / runs, "µs", 0);
      return `CPU per run: workers ${us(0)} (main threads ${us(2)}), Redis ${us(1)}`;
    };
    const ratio = (g: Group, base: Group) =>
      median(g.rates.map((rate, i) => rate / (base.rates[i] as number)));
    // The workers' CPU per run of `base` over `g`'s: what the rates would be on an idle machine, and steadier than
    // the rates on a shared one.
    const cpuOfWorkers = (g: Group) => g.cpu.filter((_, i) => i % 3 === 0).reduce((a, b) => a + b, 0);
    const cpuRatio = (g: Group, base: Group) =>
      (cpuOfWorkers(base) / base.rates.length / (cpuOfWorkers(g) / g.rates.length)).toFixed(2);
    const against = (g: Group | undefined, also?: Group) => {
      if (!g) return "not measured";
      const ratios = g.rates.map((rate, i) => rate / (bare.rates[i] as number));
      const second = also
        ? `, ${ratio(g, also).toFixed(2)}× ${also.name}, CPU ${cpuRatio(g, also)}× ${also.name}'s`
        : "";
      return `${fmt(median(g.rates), "runs/s", 0)} (${median(ratios).toFixed(2)}× bare${second}; cycles ${ratios
        .map((r) => r.toFixed(2))
        .join(", ")}; ${cpuPerRun(g)})`;
    };
    figures[
      `bare BullMQ worker, no-op job, concurrency ${CONCURRENCY} (median of ${CYCLES} chunks of ${CHUNK})`
    ] = `${fmt(median(bare.rates), "jobs/s", 0)} (${cpuPerRun(bare)})`;
    figures["bare BullMQ worker returning a fixed report (what storing the result costs)"] =
      against(bareReport);
    figures["2 bare BullMQ worker processes (what a second process costs on this machine)"] =
      against(bareTwo);
    figures["2 bare BullMQ worker processes returning a fixed report"] = against(bareReportTwo);
    figures["1 agent process, runner returning a fixed report (the agent's own cost)"] = against(
      fixed,
      bareReport,
    );
    figures["2 agent processes, runner returning a fixed report"] = against(fixedTwo, bareReportTwo);
    figures["1 agent process, in-process, no-op deployment (goal ≥ 0.9× bare-report)"] = against(
      one,
      bareReport,
    );
    figures["2 agent processes, in-process, no-op deployment (goal ≥ 0.9× bare-report-two)"] = against(
      two,
      bareReportTwo,
    );

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
    // Every run's record kept, so that the completed count reaches each mark.
    keepRuns: Math.max(...marks),
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
