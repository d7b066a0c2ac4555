import type { QueuedRunState } from "@tributary/agent";
import { EXIT_CODES } from "./cli-io.js";
import type { CommandContext } from "./command-context.js";
import { parseOptions } from "./command-options.js";
import { formatDuration } from "./format-duration.js";
import { formatTable } from "./format-table.js";
import { integerOption, listOption, stringOption } from "./option-values.js";
import { UsageError } from "./parse-command-args.js";
import { RUNS_LS_USAGE } from "./usage.js";

/**
 * `tributary runs ls --queue Q`: how many runs wait, run, completed and failed, then the latest runs, newest first
 * (id, flow, state, started, duration, agent, schedule), filtered by flow, state and time.
 */
export async function runsLs(args: readonly string[], ctx: CommandContext): Promise<number> {
  const parsed = parseOptions(
    args,
    {
      queue: "string",
      redis: "string",
      state: "list",
      flow: "string",
      schedule: "string",
      since: "string",
      limit: "string",
      json: "boolean",
    },
    RUNS_LS_USAGE,
  );
  if (parsed.help) {
    ctx.output.out(RUNS_LS_USAGE);
    return EXIT_CODES.ok;
  }
  if (parsed.positionals.length > 0) throw new UsageError("runs ls takes no arguments", RUNS_LS_USAGE);
  const queue = stringOption(parsed, "queue");
  if (queue === undefined) throw new UsageError("missing --queue", RUNS_LS_USAGE);
  const limit = integerOption(parsed, "limit", { min: 1, max: 10_000 }, 20, RUNS_LS_USAGE);
  const { openRunQueue, RUN_STATES } = await import("@tributary/agent");
  const given = listOption(parsed, "state") as QueuedRunState[];
  const wrong = given.find((s) => !RUN_STATES.includes(s));
  if (wrong !== undefined)
    throw new UsageError(`--state must be one of ${RUN_STATES.join(", ")}`, RUNS_LS_USAGE);
  const runs = openRunQueue({ queue, redis: stringOption(parsed, "redis") });
  try {
    const filter = {
      limit,
      ...(given.length > 0 ? { states: given } : {}),
      ...(stringOption(parsed, "flow") !== undefined ? { flow: stringOption(parsed, "flow") } : {}),
      ...(stringOption(parsed, "schedule") !== undefined
        ? { schedule: stringOption(parsed, "schedule") }
        : {}),
      ...(stringOption(parsed, "since") !== undefined ? { since: stringOption(parsed, "since") } : {}),
    };
    const list = await runs.runs.list(filter);
    const counts = await runs.counts();
    if (parsed.values.json === true) {
      ctx.output.json({ queue, counts, runs: list });
      return EXIT_CODES.ok;
    }
    ctx.output.out(
      `queue ${queue}: ${Object.entries(counts)
        .map(([state, n]) => `${n} ${state}`)
        .join(", ")}`,
    );
    if (list.length > 0) {
      ctx.output.out(
        formatTable(
          ["RUN", "FLOW", "STATE", "STARTED", "DURATION", "AGENT", "SCHEDULE", "ERROR"],
          list.map((r) => [
            r.runId,
            r.flow ?? r.address,
            r.state === "failed" ? "FAILED" : r.state,
            r.startedAt ?? `(queued ${r.enqueuedAt})`,
            formatDuration(r.durationMs),
            r.agent ?? "-",
            r.schedule ?? "-",
            r.error?.split("\n")[0] ?? "",
          ]),
        ),
      );
    }
    return EXIT_CODES.ok;
  } finally {
    await runs.close();
  }
}
