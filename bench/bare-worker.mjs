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
  },
);
await worker.waitUntilReady();
process.stderr.write("ready\n");
process.once("SIGTERM", () => worker.close().then(() => process.exit(0)));
