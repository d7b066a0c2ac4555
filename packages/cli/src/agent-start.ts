import type { AgentClosed, Isolation, QueuedRun } from "@tributary/agent";
import { agentSecrets } from "./agent-secrets.js";
import { EXIT_CODES } from "./cli-io.js";
import type { CommandContext } from "./command-context.js";
import { parseOptions } from "./command-options.js";
import { loadConfig, trustPolicy } from "./config-file.js";
import { inProcessRunner } from "./in-process-runner.js";
import { integerOption, listOption, stringOption } from "./option-values.js";
import { UsageError } from "./parse-command-args.js";
import { UNVERIFIED_NOTE } from "./run-command.js";
import { AGENT_START_USAGE } from "./usage.js";

/**
 * The `tributary run` command line that runs one queued run in a child process of the agent, with the agent's
 * `leastPrivilege` default and trust policy (always given, so the child reads no config file of its own): each
 * trusted key as `--trust-key=PEM`, or `--unverified` when the agent has none.
 */
export function childRunArgs(
  bin: string,
  run: QueuedRun,
  leastPrivilege = false,
  trustedKeys?: readonly string[],
): string[] {
  const args = [bin, "run", run.address, "--run-id", run.runId, "--json"];
  args.push("--least-privilege", String(leastPrivilege));
  if (trustedKeys === undefined) args.push("--unverified");
  // `--trust-key=PEM` in one argument: a PEM without a label line starts with "-", and would read as an option.
  else for (const key of trustedKeys) args.push(`--trust-key=${key}`);
  if (run.params !== undefined) args.push("--params", JSON.stringify(run.params));
  return args;
}

/** `tributary agent start`: takes runs from a queue until SIGTERM or SIGINT, then stops within the grace period. */
export async function agentStart(args: readonly string[], ctx: CommandContext): Promise<number> {
  const parsed = parseOptions(
    args,
    {
      queue: "string",
      concurrency: "string",
      e: "list",
      env: "list",
      redis: "string",
      grace: "string",
      "stall-timeout": "string",
      isolation: "string",
      name: "string",
      config: "string",
      "keep-runs": "string",
      "keep-days": "string",
      "trust-key": "list",
    },
    AGENT_START_USAGE,
  );
  if (parsed.help) {
    ctx.output.out(AGENT_START_USAGE);
    return EXIT_CODES.ok;
  }
  if (parsed.positionals.length > 0)
    throw new UsageError("agent start takes no arguments", AGENT_START_USAGE);
  const queue = stringOption(parsed, "queue");
  if (queue === undefined) throw new UsageError("missing --queue", AGENT_START_USAGE);
  const isolation = (stringOption(parsed, "isolation") ?? "child-process") as Isolation;
  if (isolation !== "child-process" && isolation !== "in-process") {
    throw new UsageError("--isolation must be child-process or in-process", AGENT_START_USAGE);
  }
  const concurrency = integerOption(parsed, "concurrency", { min: 1, max: 1000 }, 1, AGENT_START_USAGE);
  const graceSeconds = integerOption(parsed, "grace", { min: 0, max: 86_400 }, 30, AGENT_START_USAGE);
  const keepRuns = integerOption(parsed, "keep-runs", { min: 1, max: 1_000_000 }, 1000, AGENT_START_USAGE);
  const keepDays = integerOption(parsed, "keep-days", { min: 1, max: 3650 }, 30, AGENT_START_USAGE);
  const stallSeconds = integerOption(parsed, "stall-timeout", { min: 1, max: 86_400 }, 30, AGENT_START_USAGE);
  const secrets = await agentSecrets(
    [...listOption(parsed, "e"), ...listOption(parsed, "env")],
    AGENT_START_USAGE,
  );
  const bin = process.argv[1] ?? "tributary";
  const config = await loadConfig(stringOption(parsed, "config"));
  const leastPrivilege = config?.leastPrivilege;
  if (config && leastPrivilege !== undefined) {
    ctx.output.err(
      `leastPrivilege: ${leastPrivilege} for runs whose flow does not say (from ${config.path})`,
    );
  }
  const trust = await trustPolicy(listOption(parsed, "trust-key"), stringOption(parsed, "config"));
  const trustedKeys = trust.keys;
  if (trustedKeys === undefined) ctx.output.err(UNVERIFIED_NOTE);
  else {
    const { readTrustedKey } = await import("@tributary/flow");
    const ids = trustedKeys.map((pem) => {
      const key = readTrustedKey(pem);
      return `${key.keyId}${key.label ? ` (${key.label})` : ""}`;
    });
    ctx.output.err(`runs only deployments signed by key ${ids.join(", ")} (from ${trust.from})`);
  }

  // Loaded only for the commands that use a queue: bullmq and ioredis take a while to import.
  const { startAgent } = await import("@tributary/agent");
  const agent = await startAgent({
    queue,
    redis: stringOption(parsed, "redis"),
    concurrency,
    isolation,
    graceMs: graceSeconds * 1000,
    keepRuns,
    keepDays,
    stallTimeoutMs: stallSeconds * 1000,
    name: stringOption(parsed, "name"),
    secrets: () => secrets.values(),
    log: (line) => ctx.output.err(line),
    childCommand: (run) => ({
      command: process.execPath,
      args: childRunArgs(bin, run, leastPrivilege, trustedKeys),
    }),
    ...(isolation === "in-process"
      ? { runInProcess: await inProcessRunner(leastPrivilege, trustedKeys) }
      : {}),
  });
  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      ctx.output.err(
        `agent ${agent.id}: ${signal}: taking no more runs; waiting up to ${graceSeconds} s for ${agent.running()} running`,
      );
      resolve();
    };
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
  });
  // A second signal leaves the running runs to other agents at once. Redis out of reach does not keep the agent
  // waiting: `close` stops without it REDIS_STOP_MS after the grace period.
  let hurried = false;
  const now = (signal: NodeJS.Signals) => {
    if (hurried) return;
    hurried = true;
    ctx.output.err(
      `agent ${agent.id}: ${signal} again: leaving ${agent.running()} running run(s) for other agents now`,
    );
    agent.close({ graceMs: 0 }).catch(() => {});
  };
  process.on("SIGTERM", now);
  process.on("SIGINT", now);
  let ended: AgentClosed;
  try {
    ended = await agent.close();
  } finally {
    process.off("SIGTERM", now);
    process.off("SIGINT", now);
  }
  const { abandoned, redisAnswered } = ended;
  // Without Redis, the agent has said why (its log is this command's stderr).
  if (redisAnswered) {
    ctx.output.err(
      abandoned > 0
        ? `agent ${agent.id} stopped; ${abandoned} run(s) left for other agents`
        : `agent ${agent.id} stopped`,
    );
  }
  const code = redisAnswered ? EXIT_CODES.ok : EXIT_CODES.failure;
  // A run left for other agents must not go on here. A child process is killed; an in-process run that does not
  // stop on its signal would run on beside the agent that takes it, and keep this process alive until it ends.
  if (abandoned > 0 && isolation === "in-process") process.exit(code);
  return code;
}
