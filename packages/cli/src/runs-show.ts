import { ValidationError } from "@tributary/auth";
import { EXIT_CODES } from "./cli-io.js";
import type { CommandContext } from "./command-context.js";
import { parseOptions } from "./command-options.js";
import { formatDuration } from "./format-duration.js";
import { formatTable } from "./format-table.js";
import { stringOption } from "./option-values.js";
import { UsageError } from "./parse-command-args.js";
import { RUNS_SHOW_USAGE } from "./usage.js";

/**
 * `tributary runs show RUN_ID --queue Q [--logs]`: one run's record: its masked report, task timeline, credential
 * table (name, source, scope, principal) and, with `--logs`, its log lines.
 */
export async function runsShow(args: readonly string[], ctx: CommandContext): Promise<number> {
  const parsed = parseOptions(
    args,
    { queue: "string", redis: "string", logs: "boolean", json: "boolean" },
    RUNS_SHOW_USAGE,
  );
  if (parsed.help) {
    ctx.output.out(RUNS_SHOW_USAGE);
    return EXIT_CODES.ok;
  }
  const [runId, ...extra] = parsed.positionals;
  if (runId === undefined) throw new UsageError("missing RUN_ID", RUNS_SHOW_USAGE);
  if (extra.length > 0) throw new UsageError("runs show takes one RUN_ID", RUNS_SHOW_USAGE);
  const queue = stringOption(parsed, "queue");
  if (queue === undefined) throw new UsageError("missing --queue", RUNS_SHOW_USAGE);
  const { openRunQueue } = await import("@tributary/agent");
  const runs = openRunQueue({ queue, redis: stringOption(parsed, "redis") });
  try {
    const run = await runs.runs.get(runId, { logs: parsed.values.logs === true });
    if (!run) {
      throw new ValidationError(
        "runId",
        `no run ${runId} on queue ${queue}: never queued there, or older than the agents keep (--keep-runs, --keep-days)`,
      );
    }
    if (parsed.values.json === true) {
      ctx.output.json(run);
      return EXIT_CODES.ok;
    }
    const out: string[] = [`run ${run.runId} on queue ${queue}: ${run.state}`];
    const facts: [string, string | undefined][] = [
      ["flow", run.flow ? `${run.flow} (${run.address})` : run.address],
      ["schedule", run.schedule ? `${run.schedule}, slot ${run.scheduledFor}` : undefined],
      ["agent", run.agent],
      ["queued", run.enqueuedAt],
      ["started", run.startedAt],
      ["ended", run.finishedAt],
      ["duration", run.durationMs === undefined ? undefined : formatDuration(run.durationMs)],
      ["attempts", String(run.attempts)],
      ["params", run.params === undefined ? undefined : JSON.stringify(run.params)],
      ["error", run.report?.error ? `${run.report.error.name}: ${run.report.error.message}` : run.error],
      ["ended in", run.endedIn ? `task ${run.endedIn}` : undefined],
    ];
    for (const [label, value] of facts) if (value !== undefined) out.push(`  ${label.padEnd(9)} ${value}`);
    if (run.tasks.length > 0) {
      out.push("", "tasks:");
      out.push(
        formatTable(
          ["#", "TASK", "STATE", "ATTEMPTS", "START", "DURATION", "ERROR"],
          run.tasks.map((t) => [
            String(t.id),
            t.name,
            t.state,
            String(t.attempts),
            t.start ?? "-",
            formatDuration(t.durationMs),
            t.error ? `${t.error.name}: ${t.error.message.split("\n")[0]}` : "",
          ]),
        ),
      );
    }
    out.push("", "credentials:");
    if (run.credentials.length === 0)
      out.push("  none resolved (or none logged: a flow whose logger is silent)");
    else {
      out.push(
        formatTable(
          ["NAME", "SOURCE", "DETAIL", "SCOPE", "PRINCIPAL"],
          run.credentials.map((c) => [c.name, c.source, c.detail, c.scope ?? "-", c.principal ?? "-"]),
        ),
      );
    }
    if (run.logs) out.push("", `logs (${run.logs.length} lines):`, ...run.logs);
    ctx.output.out(out.join("\n"));
    return EXIT_CODES.ok;
  } finally {
    await runs.close();
  }
}
