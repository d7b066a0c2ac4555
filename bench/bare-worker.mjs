// The baselines of bench/agent.bench.ts: a bare BullMQ worker in its own process doing nothing with each job, or
// (with `report`) returning a fixed report of the size an agent returns, to show what storing a result costs.
// Usage: node bench/bare-worker.mjs <queue> <prefix> <redis-url> <concurrency> [report]; says "ready" on stderr.
import { Worker } from "bullmq";

const [queue, prefix, url, concurrency, mode] = process.argv.slice(2);
const report = (job) => ({
  flow: "noop",
  runId: job.data.runId,
  state: "completed",
  start: new Date().toISOString(),
  durationMs: 0,
  tasks: [],
  hookErrors: [],
});
const worker = new Worker(queue, mode === "report" ? async (job) => report(job) : async () => undefined, {
  connection: { url },
  prefix,
  concurrency: Number(concurrency),
});
await worker.waitUntilReady();
process.stderr.write("ready\n");
process.once("SIGTERM", () => worker.close().then(() => process.exit(0)));
