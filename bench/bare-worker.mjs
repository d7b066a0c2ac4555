// The baselines of bench/agent.bench.ts: a bare BullMQ worker in its own process doing nothing with each job, or
// (with `report`) returning a fixed report of the size an agent returns, to show what storing a result costs.
// Usage: node bench/bare-worker.mjs <queue> <prefix> <redis-url> <concurrency> [report]; says "ready" on stderr.
import { Worker } from "bullmq";
import { fixedReport } from "./fixed-report.mjs";

const [queue, prefix, url, concurrency, mode] = process.argv.slice(2);
const worker = new Worker(
  queue,
  mode === "report" ? async (job) => fixedReport(job.data.runId) : async () => undefined,
  {
    connection: { url },
    prefix,
    concurrency: Number(concurrency),
    // A worker run for real keeps a bounded history, as agents do by default (1,000 records, 30 days): without it
    // Redis keeps every job for ever. This costs Redis a removal per job, and the worker next to nothing.
    removeOnComplete: { count: 1000, age: 30 * 86_400 },
    removeOnFail: { count: 1000, age: 30 * 86_400 },
  },
);
await worker.waitUntilReady();
process.stderr.write("ready\n");
process.once("SIGTERM", () => worker.close().then(() => process.exit(0)));
