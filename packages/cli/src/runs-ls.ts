import type { QueuedRunState } from "@tributary/agent";
import { EXIT_CODES } from "./cli-io.js";
import type { CommandContext } from "./command-context.js";
import { parseOptions } from "./command-options.js";
import { formatTable } from "./format-table.js";
import { integerOption, listOption, stringOption } from "./option-values.js";
import { UsageError } from "./parse-command-args.js";
import { RUNS_LS_USAGE } from "./usage.js";

const STATES: readonly QueuedRunState[] = ["waiting", "delayed", "running", "completed", "failed"];

/** `tributary runs ls --queue Q`: how many runs wait, run, completed and failed, and the latest of each. */
export async function runsLs(args: readonly string[], ctx: CommandContext): Promise<number> {
  const parsed = parseOptions(
    args,
    { queue: "string", redis: "string", state: "list", limit: "string", json: "boolean" },
    RUNS_LS_USAGE,
  );
  if (parsed.help) {
    ctx.output.out(RUNS_LS_USAGE);
    return EXIT_CODES.ok;
  }
  if (parsed.positionals.length > 0) throw new UsageError("runs ls takes no arguments", RUNS_LS_USAGE);
  const queue = stringOption(parsed, "queue");
  if (queue === undefined) throw new UsageError("missing --queue", RUNS_LS_USAGE);
  const given = listOption(parsed, "state") as QueuedRunState[];
  const states = given.length > 0 ? given : STATES;
  const wrong = states.find((s) => !STATES.includes(s));
  if (wrong !== undefined) throw new UsageError(`--state must be one of ${STATES.join(", ")}`, RUNS_LS_USAGE);
  const limit = integerOption(parsed, "limit", { min: 1, max: 10_000 }, 20, RUNS_LS_USAGE);
  const { openRunQueue } = await import("@tributary/agent");
  const runs = openRunQueue({ queue, redis: stringOption(parsed, "redis") });
  try {
    const counts = await runs.counts();
    const list = await runs.list({ states, limit });
    if (parsed.values.json === true) {
      ctx.output.json({ queue, counts, runs: list });
      return EXIT_CODES.ok;
    }
    ctx.output.out(`queue ${queue}: ${STATES.map((s) => `${counts[s]} ${s}`).join(", ")}`);
    if (list.length > 0) {
      ctx.output.out(
        formatTable(
          ["RUN", "STATE", "ATTEMPTS", "AGENT", "QUEUED", "ADDRESS", "ERROR"],
          list.map((r) => [
            r.runId,
            r.state,
            String(r.attempts),
            r.agent ?? "-",
            r.enqueuedAt,
            r.address,
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
