// Issue 3: the overhead of a task run against a direct call, and heap growth across flow runs.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { flow, task } from "@tributary/flow";
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

export default async function bench(): Promise<Record<string, string>> {
  process.env.TRIBUTARY_HOME = mkdtempSync(join(tmpdir(), "tributary-bench-"));
  const noop = async (_n: number) => {};
  const noopTask = task({ name: "noop" }, noop);

  // The same 10,000 calls, 64 at a time: first directly, then as task runs of one flow run.
  const direct = () => {
    let next = 0;
    return Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < TASKS) await noop(next++);
      }),
    );
  };
  const many = flow({ name: "bench", concurrency: CONCURRENCY, logger: { level: "silent" } }, () =>
    Promise.all(Array.from({ length: TASKS }, (_, i) => noopTask(i))),
  );
  const run = async () => {
    const report = await many.run();
    if (report.state !== "completed" || report.tasks.length !== TASKS)
      throw new Error(`bench run ${report.state}`);
  };
  const directMs = await timeMs(direct);
  const flowMs = await timeMs(run);
  const perTaskUs = ((flowMs - directMs) * 1000) / TASKS;
  const outsideUs = (await microsPerCall(() => noopTask(1))) - (await microsPerCall(() => noop(1)));

  const gc = collectGarbage();
  for (let i = 0; i < 10; i++) await run();
  gc();
  const after10 = process.memoryUsage().heapUsed;
  for (let i = 10; i < 100; i++) await run();
  gc();
  const after100 = process.memoryUsage().heapUsed;
  const mb = (bytes: number) => bytes / 1024 / 1024;

  return {
    [`${TASKS} no-op calls, ${CONCURRENCY} at a time, direct`]: fmt(directMs, "ms"),
    [`${TASKS} no-op task runs in one flow run, concurrency ${CONCURRENCY}`]: fmt(flowMs, "ms"),
    "overhead per task run in a flow (goal ≤ 20 µs)": fmt(perTaskUs, "µs"),
    "overhead per task call outside any flow": fmt(outsideUs, "µs"),
    "heap after 10 runs of 10,000 tasks": fmt(mb(after10), "MB", 1),
    "heap after 100 runs (goal: no growth)": fmt(mb(after100), "MB", 1),
    "heap growth from run 10 to run 100": fmt(mb(after100 - after10), "MB", 1),
  };
}
