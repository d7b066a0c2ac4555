import { openRunQueue } from "@tributary/agent";
import { EXIT_CODES } from "./cli-io.js";
import type { CommandContext } from "./command-context.js";
import type { OptionSpec } from "./parse-options.js";

/** The options `tributary run` takes for the queue path, beside its own. */
export const QUEUE_RUN_OPTIONS: Readonly<Record<string, OptionSpec>> = Object.freeze({
  queue: { type: "string" },
  wait: { type: "boolean" },
  redis: { type: "string" },
  retries: { type: "string" },
});

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
  const runs = openRunQueue({ queue: request.queue, redis: request.redis });
  try {
    const { runId } = await runs.enqueue({
      address: request.address,
      params: request.params,
      runId: request.runId,
      retries: request.retries,
    });
    if (!request.wait) {
      if (request.json) ctx.output.json({ runId, queue: request.queue, state: "waiting" });
      else ctx.output.out(runId);
      return EXIT_CODES.ok;
    }
    ctx.output.err(`run ${runId} queued on ${request.queue}; waiting for an agent`);
    const report = await runs.wait(runId);
    if (request.json) ctx.output.json(report);
    else {
      const error = report.error ? `: ${report.error.name}: ${report.error.message}` : "";
      ctx.output.out(`run ${runId} ${report.state} in ${report.durationMs} ms${error}`);
    }
    return report.state === "completed" ? EXIT_CODES.ok : EXIT_CODES.failure;
  } finally {
    await runs.close();
  }
}
