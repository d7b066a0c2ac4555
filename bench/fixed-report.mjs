// The report the baselines of bench/agent.bench.ts return: the size of a no-op run's report.
/** A completed no-op run's report for `runId`. */
export const fixedReport = (runId) => ({
  flow: "noop",
  runId,
  state: "completed",
  start: new Date().toISOString(),
  durationMs: 0,
  tasks: [],
  hookErrors: [],
});
