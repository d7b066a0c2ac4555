// Test-only: one agent in its own process, configured by the JSON in TRIBUTARY_TEST_AGENT, the way `tributary agent start`
// runs one. Prints "ready" once it takes runs; on SIGTERM it closes (grace period), prints "closed" and what `close`
// resolved to, and exits 0 (with `endOnItsOwn`, by ending on its own: nothing of the agent may keep it alive).
import { fileURLToPath } from "node:url";
import { directoryBackend } from "@tributary/auth";
import type { AgentOptions } from "../src/agent.js";
import { startAgent } from "../src/agent.js";
// @ts-expect-error: a test-only JavaScript module without types
import { testFlow } from "./flows.mjs";

/** The agent's options, and (test-only) a directory of secrets its runs read as a backend. */
const { secretsDir, endOnItsOwn, ...config } = JSON.parse(process.env.TRIBUTARY_TEST_AGENT ?? "{}") as Omit<
  AgentOptions,
  "childCommand" | "runInProcess"
> & { secretsDir?: string; endOnItsOwn?: boolean };
const runner = fileURLToPath(new URL("./run-process.mjs", import.meta.url));

const agent = await startAgent({
  ...config,
  log: () => {},
  childCommand: (run) => ({
    command: process.execPath,
    args: [
      runner,
      "run",
      run.address,
      "--run-id",
      run.runId,
      "--params",
      JSON.stringify(run.params ?? null),
      "--json",
      ...(secretsDir ? ["--secrets-dir", secretsDir] : []),
    ],
  }),
  runInProcess: (run, { secrets, signal, log }) =>
    testFlow(run.address).run({
      params: run.params,
      runId: run.runId,
      secrets,
      signal,
      logger: { sink: log },
      ...(secretsDir ? { backends: [directoryBackend(secretsDir)] } : {}),
    }),
});
process.once("SIGTERM", () => {
  agent.close().then(
    (closed) => {
      process.stdout.write(`closed ${JSON.stringify(closed)}\n`);
      if (!endOnItsOwn) process.exit(0);
    },
    () => process.exit(1),
  );
});
process.stdout.write(`ready ${agent.id}\n`);
