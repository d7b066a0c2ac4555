// Issue 3: the overhead of a task run against a direct call, and heap growth across flow runs; the cost of a no-op
// flow run and its GC share; the cost of a run that resolves a secret of its own, early and after 19,000 such runs.
// Issue 30: the CPU a no-op task costs in a flow, whole process (GC threads included), each figure from a fresh
// process (bench/flow-cpu.mjs), flow and baseline taking turns: wall time on a shared machine says little.
import { execFileSync } from "node:child_process";

import { randomBytes } from "node:crypto";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PerformanceObserver } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { resolveSecret } from "@tributary/auth";
import { flow, type RunReport, task } from "@tributary/flow";
import { fmt, median, microsPerCall } from "./stats.ts";

const TASKS = 10_000;
const CONCURRENCY = 64;

function collectGarbage(): () => void {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  return () => {
    for (let i = 0; i < 3; i++) gc();
  };
}

async function timeMs(fn: () => Promise<unknown>, rounds = 9): Promise<number> {
  await fn();
  const samples: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const start = process.hrtime.bigint();
    await fn();
    samples.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return median(samples);
}

/** CPU µs per no-op call of bench/flow-cpu.mjs in `mode`, in a fresh process. */
function cpuPerCall(mode: "flow" | "bare"): number {
  const script = fileURLToPath(new URL("flow-cpu.mjs", import.meta.url));
  const out = execFileSync(process.execPath, [script, mode], { encoding: "utf8" });
  return (JSON.parse(out) as { usPerCall: number }).usPerCall;
}

function check(report: RunReport): void {
  if (report.state !== "completed" || report.tasks.length !== TASKS)
    throw new Error(`bench run ${report.state}`);
}

export default async function bench(): Promise<Record<string, string>> {
  process.env.TRIBUTARY_HOME = mkdtempSync(join(tmpdir(), "tributary-bench-"));
  const noop = async (_n: number) => {};
  const noopTask = task({ name: "noop" }, noop);

  // 10,000 calls kept 64 in flight by the caller.
  const lanes = (call: (n: number) => Promise<void>) => {
    let next = 0;
    return Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < TASKS) await call(next++);
      }),
    );
  };
  // As users write it: every call made at once, the flow's `concurrency` holding all but 64 back.
  const many = flow({ name: "bench", concurrency: CONCURRENCY, logger: { level: "silent" } }, () =>
    Promise.all(Array.from({ length: TASKS }, (_, i) => noopTask(i))),
  );
  // The body keeping 64 in flight itself: a task run's own cost, without 10,000 calls waiting for a slot.
  const laned = flow({ name: "bench-lanes", logger: { level: "silent" } }, () => lanes(noopTask));
  const run = async () => check(await many.run());

  const flowCpu: number[] = [];
  const bareCpu: number[] = [];
  for (let i = 0; i < 7; i++) {
    flowCpu.push(cpuPerCall("flow"));
    bareCpu.push(cpuPerCall("bare"));
  }

  const directMs = await timeMs(() => lanes(noop));
  const flowMs = await timeMs(run);
  const lanedMs = await timeMs(async () => check(await laned.run()));
  const outsideUs = (await microsPerCall(() => noopTask(1))) - (await microsPerCall(() => noop(1)));

  // Many short runs, 16 at a time, as an agent makes them: the cost of a no-op run, and how much of it is GC.
  // (A run's objects must die young: a per-run accessor once kept every run alive through young collections.)
  const noopFlow = flow({ name: "noop", logger: { level: "silent" } }, async () => undefined);
  const RUNS = 50_000;
  const runMany = async (one: (i: number) => Promise<unknown>) => {
    let next = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (next < RUNS) await one(next++);
      }),
    );
  };
  await runMany((i) => noopFlow.run({ runId: `warm-${i}` }));
  let gcMs = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) gcMs += entry.duration;
  });
  observer.observe({ entryTypes: ["gc"] });
  const started = performance.now();
  await runMany((i) => noopFlow.run({ runId: `run-${i}` }));
  const runsMs = performance.now() - started;
  // GC entries reach the observer on a later turn of the event loop.
  await new Promise((resolve) => setTimeout(resolve, 100));
  observer.disconnect();

  // Runs with a distinct secret each, one at a time, logging it: every run registers values with the masker. The
  // cost of a run must not grow with the runs before it (the masker before issue 10 grew with every value it held).
  const secretFlow = flow({ name: "secret", logger: { sink: () => {} } }, async ({ log }) => {
    log.info(`using ${(await resolveSecret("RUN_TOKEN")).value as string}`);
  });
  const secretRuns = async (count: number) => {
    const cpu = process.cpuUsage();
    for (let i = 0; i < count; i++)
      await secretFlow.run({ secrets: { RUN_TOKEN: `ghp_${randomBytes(18).toString("hex")}` } });
    const used = process.cpuUsage(cpu);
    return (used.user + used.system) / count;
  };
  // The first 3,000 or so runs are the compiler's warm-up.
  await secretRuns(3_000);
  const secretEarlyUs = await secretRuns(1_000);
  await secretRuns(15_000);
  const secretLateUs = await secretRuns(1_000);

  const gc = collectGarbage();
  for (let i = 0; i < 10; i++) await run();
  gc();
  const after10 = process.memoryUsage().heapUsed;
  for (let i = 10; i < 100; i++) await run();
  gc();
  const after100 = process.memoryUsage().heapUsed;
  const mb = (bytes: number) => bytes / 1024 / 1024;
  const perTask = (ms: number) => ((ms - directMs) * 1000) / TASKS;

  return {
    [`CPU per no-op task run, ${TASKS} at ${CONCURRENCY}, whole process (goal ≤ 5 µs)`]: fmt(
      median(flowCpu),
      "µs",
    ),
    "CPU per no-op call, same, bare Promise.all and a semaphore": fmt(median(bareCpu), "µs"),
    [`${TASKS} no-op calls, ${CONCURRENCY} at a time, direct`]: fmt(directMs, "ms"),
    [`${TASKS} no-op task runs in one flow run, concurrency ${CONCURRENCY}`]: fmt(flowMs, "ms"),
    "overhead per task run in a flow (goal ≤ 20 µs)": fmt(perTask(flowMs), "µs"),
    "same, the body keeping 64 in flight itself": fmt(perTask(lanedMs), "µs"),
    "overhead per task call outside any flow": fmt(outsideUs, "µs"),
    [`no-op flow runs, 16 at a time (${RUNS.toLocaleString("en")} runs)`]: `${fmt((runsMs * 1000) / RUNS, "µs")} per run, of which GC pauses ${fmt((gcMs * 1000) / RUNS, "µs")}`,
    "run with its own secret, CPU, runs 3,001–4,000": fmt(secretEarlyUs, "µs"),
    "same, runs 19,001–20,000 (goal: no growth)": `${fmt(secretLateUs, "µs")}, ${(secretLateUs / secretEarlyUs).toFixed(2)}×`,
    "heap after 10 runs of 10,000 tasks": fmt(mb(after10), "MB", 1),
    "heap after 100 runs (goal: no growth)": fmt(mb(after100), "MB", 1),
    "heap growth from run 10 to run 100": fmt(mb(after100 - after10), "MB", 1),
  };
}
