// A reference for bench/agent.bench.ts: an in-process agent (the same `startAgent` as `tributary agent start`)
// whose runner returns a fixed report, with no deployment and no flow: what the agent's own machinery costs.
// Usage: node bench/fixed-report-agent.mjs <queue> <redis-url> <concurrency>; says "ready" on stderr.
import { startAgent } from "@tributary/agent";
import { fixedReport } from "./fixed-report.mjs";

const [queue, url, concurrency] = process.argv.slice(2);
const agent = await startAgent({
  queue,
  redis: url,
  isolation: "in-process",
  concurrency: Number(concurrency),
  log: () => {},
  runInProcess: async (run) => fixedReport(run.runId),
});
process.stderr.write("ready\n");
process.once("SIGTERM", () => agent.close().then(() => process.exit(0)));
