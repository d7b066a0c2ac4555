// A child of bench/flow.bench.ts: CPU time (user + system, every thread of the process: the GC's included) per
// no-op call, for 10,000 calls made at once and let through 64 at a time, in a fresh process: `flow` as task runs
// in one flow run, `bare` through a plain semaphore around `Promise.all`.
// Usage: node bench/flow-cpu.mjs <flow|bare> [runs] [entry: another build of @tributary/flow, to compare two].
// Prints one JSON line: { "usPerCall": … }.

const TASKS = 10_000;
const CONCURRENCY = 64;
const [mode = "flow", runsArg = "30", entry = "@tributary/flow"] = process.argv.slice(2);
const { flow, task } = await import(entry);
const RUNS = Number(runsArg);
const WARMUP = 10;

const noop = async (_n) => {};
let once;
if (mode === "flow") {
  const noopTask = task({ name: "noop" }, noop);
  const many = flow({ name: "bench", concurrency: CONCURRENCY, logger: { level: "silent" } }, () =>
    Promise.all(Array.from({ length: TASKS }, (_, i) => noopTask(i))),
  );
  once = async () => {
    const report = await many.run();
    if (report.state !== "completed" || report.tasks.length !== TASKS)
      throw new Error(`bench run ${report.state}`);
  };
} else {
  // The baseline: the same 10,000 calls made at once, 64 let through at a time by a plain semaphore.
  once = async () => {
    let active = 0;
    const waiting = [];
    const limited = async (i) => {
      if (active >= CONCURRENCY) await new Promise((resolve) => waiting.push(resolve));
      else active++;
      try {
        return await noop(i);
      } finally {
        const next = waiting.shift();
        if (next) next();
        else active--;
      }
    };
    await Promise.all(Array.from({ length: TASKS }, (_, i) => limited(i)));
  };
}
for (let i = 0; i < WARMUP; i++) await once();
const cpu = process.cpuUsage();
for (let i = 0; i < RUNS; i++) await once();
const used = process.cpuUsage(cpu);
process.stdout.write(`${JSON.stringify({ usPerCall: (used.user + used.system) / (RUNS * TASKS) })}\n`);
