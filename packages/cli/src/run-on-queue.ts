import { EXIT_CODES } from "./cli-io.js";
import type { CommandContext } from "./command-context.js";
import type { OptionSpec, ParsedOptions } from "./command-options.js";
import { formatRunReport } from "./format-report.js";
import { integerOption, stringOption } from "./option-values.js";
import { UsageError } from "./parse-command-args.js";
import { RUN_USAGE } from "./usage.js";

/** The options `tributary run` takes for the queue path, beside its own. */
export const QUEUE_RUN_OPTIONS: OptionSpec = Object.freeze({
  queue: "string",
  wait: "boolean",
  redis: "string",
  retries: "string",
});

/**
 * The queue path of `tributary run`: when `--queue` was given, queues the run (see `runOnQueue`) and resolves to
 * the exit code; otherwise resolves to `undefined` and the run happens in this process.
 */
export async function runOnQueueIfAsked(
  parsed: ParsedOptions,
  run: { address: string; params: unknown; runId: string | undefined; json: boolean },
  ctx: CommandContext,
): Promise<number | undefined> {
  const queue = stringOption(parsed, "queue");
  if (queue === undefined) {
    const stray = ["wait", "redis", "retries"].find((o) => o in parsed.values);
    if (stray) throw new UsageError(`--${stray} goes with --queue`, RUN_USAGE);
    return undefined;
  }
  return runOnQueue(
    {
      ...run,
      queue,
      wait: parsed.values.wait === true,
      redis: stringOption(parsed, "redis"),
      retries: integerOption(parsed, "retries", { min: 0, max: 100 }, 0, RUN_USAGE),
    },
    ctx,
  );
}

/** What `tributary run ADDRESS --queue Q` queues. */
export interface QueueRunRequest {
  /** The deployment address. */
  address: string;
  /** The queue. */
  queue: string;
  /** The run's parameters, parsed from `--params`. */
  params?: unknown;
  /** `--run-id`. */
  runId?: string;
  /** `--retries`: how many times a failed run is tried again. */
  retries?: number;
  /** `--redis`, else `TRIBUTARY_REDIS_URL`. */
  redis?: string;
  /** `--wait`: follow the run and print its masked report. */
  wait: boolean;
  /** `--json`: print JSON instead of text. */
  json: boolean;
}

/**
 * `tributary run ADDRESS --queue Q [--wait]`: queues the run and prints its run id (the id the flow sees); with
 * `--wait`, follows it and prints its masked report. Exit 0 when queued (without `--wait`) or completed.
 */
export async function runOnQueue(request: QueueRunRequest, ctx: CommandContext): Promise<number> {
  const secrets = await neededSecrets(request.address, ctx);
  const { openRunQueue } = await import("@tributary/agent");
  const runs = openRunQueue({ queue: request.queue, redis: request.redis });
  try {
    const { runId } = await runs.enqueue({
      address: request.address,
      params: request.params,
      runId: request.runId,
      retries: request.retries,
      secrets,
    });
    if (!request.wait) {
      if (request.json) ctx.output.json({ runId, queue: request.queue, state: "waiting" });
      else ctx.output.out(runId);
      return EXIT_CODES.ok;
    }
    ctx.output.err(`run ${runId} queued on ${request.queue}; waiting for an agent`);
    const report = await runs.wait(runId);
    if (request.json) ctx.output.json(report);
    else ctx.output.out(formatRunReport(report));
    return report.state === "completed" ? EXIT_CODES.ok : EXIT_CODES.failure;
  } finally {
    await runs.close();
  }
}

/**
 * The secret names the run needs, put on the job so an agent not given one refuses the run at once, naming the
 * `-e` it lacks: the manifest's (the flow's and its storage's), read here as a run would read it. When it cannot be
 * read here (no credential for the storage on this machine, a folder only the agents' machines have), the storage's
 * own names, with a note; a malformed address is refused before anything is queued.
 */
export async function neededSecrets(address: string, ctx: CommandContext): Promise<string[]> {
  const { parseDeploymentAddress, readDeploymentManifest, storageKindsFor } = await import("@tributary/flow");
  const kinds = await storageKindsFor(address);
  const { storage } = parseDeploymentAddress(address, kinds);
  try {
    const manifest = await readDeploymentManifest(address, { kinds });
    return [...new Set([...manifest.secrets.storage, ...manifest.secrets.flow])];
  } catch (error) {
    // The first line, without the list a message may announce ("… Tried, in order:").
    const first = (error instanceof Error ? error.message : String(error)).split("\n")[0] ?? "";
    const line = first.endsWith(":")
      ? first.slice(0, Math.max(0, first.lastIndexOf(". ")) || first.length - 1)
      : first;
    const why = error instanceof Error ? `${error.name}: ${line}` : line;
    ctx.output.err(
      `note: the manifest cannot be read here (${why}); the run is queued with the storage's secret names only, and the flow's own are checked where it runs`,
    );
    return [...(storage.secrets ?? [])];
  }
}
