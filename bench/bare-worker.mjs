// The baseline of bench/agent.bench.ts: a bare BullMQ worker in its own process doing nothing with each job.
// Usage: node bench/bare-worker.mjs <queue> <prefix> <redis-url> <concurrency>; says "ready" on stderr.
import { Worker } from "bullmq";

const [queue, prefix, url, concurrency] = process.argv.slice(2);
const worker = new Worker(queue, async () => undefined, {
  connection: { url },
  prefix,
  concurrency: Number(concurrency),
});
await worker.waitUntilReady();
process.stderr.write("ready\n");
process.once("SIGTERM", () => worker.close().then(() => process.exit(0)));
