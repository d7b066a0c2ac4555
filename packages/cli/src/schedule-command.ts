import { ValidationError } from "@tributary/auth";
import { EXIT_CODES } from "./cli-io.js";
import type { CommandContext } from "./command-context.js";
import { parseOptions } from "./command-options.js";
import { formatTable } from "./format-table.js";
import { integerOption, stringOption } from "./option-values.js";
import { UsageError } from "./parse-command-args.js";
import { neededSecrets } from "./run-on-queue.js";
import { SCHEDULE_ADD_USAGE, SCHEDULE_LS_USAGE, SCHEDULE_NAME_USAGE } from "./usage.js";

function parseParams(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    // The text may hold a secret: name the option, never echo it.
    throw new UsageError("--params must be JSON", SCHEDULE_ADD_USAGE);
  }
}

/**
 * `tributary schedule add ADDRESS --queue Q (--cron EXPR [--tz ZONE] | --every 15m)`: a schedule on a BullMQ job
 * scheduler, so each slot fires once however many agents listen. The cron expression and zone are checked
 * before anything is read or written; params are checked for secret values as `run --queue` does.
 */
export async function scheduleAdd(args: readonly string[], ctx: CommandContext): Promise<number> {
  const parsed = parseOptions(
    args,
    {
      queue: "string",
      cron: "string",
      tz: "string",
      every: "string",
      params: "string",
      name: "string",
      "no-overlap": "boolean",
      retries: "string",
      replace: "boolean",
      redis: "string",
      json: "boolean",
    },
    SCHEDULE_ADD_USAGE,
  );
  if (parsed.help) {
    ctx.output.out(SCHEDULE_ADD_USAGE);
    return EXIT_CODES.ok;
  }
  const [address, ...extra] = parsed.positionals;
  if (address === undefined) throw new UsageError("missing ADDRESS", SCHEDULE_ADD_USAGE);
  if (extra.length > 0) throw new UsageError("schedule add takes one ADDRESS", SCHEDULE_ADD_USAGE);
  const queue = stringOption(parsed, "queue");
  if (queue === undefined) throw new UsageError("missing --queue", SCHEDULE_ADD_USAGE);
  const cron = stringOption(parsed, "cron");
  const every = stringOption(parsed, "every");
  const tz = stringOption(parsed, "tz");
  if ((cron === undefined) === (every === undefined)) {
    throw new UsageError("give one of --cron EXPR (with --tz ZONE) and --every DURATION", SCHEDULE_ADD_USAGE);
  }
  if (tz !== undefined && cron === undefined)
    throw new UsageError("--tz goes with --cron", SCHEDULE_ADD_USAGE);
  const params = parseParams(stringOption(parsed, "params"));
  const retries = integerOption(parsed, "retries", { min: 0, max: 100 }, 0, SCHEDULE_ADD_USAGE);
  const { checkCron, openRunQueue } = await import("@tributary/agent");
  if (cron !== undefined) checkCron(cron, tz);
  const secrets = await neededSecrets(address, ctx);
  const runs = openRunQueue({ queue, redis: stringOption(parsed, "redis") });
  try {
    const schedule = await runs.schedules.add({
      address,
      params,
      secrets,
      retries,
      noOverlap: parsed.values["no-overlap"] === true,
      replace: parsed.values.replace === true,
      ...(stringOption(parsed, "name") !== undefined ? { name: stringOption(parsed, "name") } : {}),
      ...(cron !== undefined ? { cron } : {}),
      ...(tz !== undefined ? { tz } : {}),
      ...(every !== undefined ? { every } : {}),
    });
    if (parsed.values.json === true) ctx.output.json(schedule);
    else {
      ctx.output.out(
        `schedule ${schedule.name} on queue ${queue}: ${when(schedule)}; next ${schedule.next.join(", ")}`,
      );
    }
    return EXIT_CODES.ok;
  } finally {
    await runs.close();
  }
}

function when(s: { cron?: string; tz?: string; everyMs?: number }): string {
  if (s.cron !== undefined) return `cron "${s.cron}"${s.tz ? ` ${s.tz}` : " UTC"}`;
  return `every ${(s.everyMs ?? 0) / 1000} s`;
}

/** `tributary schedule ls --queue Q`: each schedule with its address, timing, next three fire times, paused or not. */
export async function scheduleLs(args: readonly string[], ctx: CommandContext): Promise<number> {
  const parsed = parseOptions(args, { queue: "string", redis: "string", json: "boolean" }, SCHEDULE_LS_USAGE);
  if (parsed.help) {
    ctx.output.out(SCHEDULE_LS_USAGE);
    return EXIT_CODES.ok;
  }
  if (parsed.positionals.length > 0)
    throw new UsageError("schedule ls takes no arguments", SCHEDULE_LS_USAGE);
  const queue = stringOption(parsed, "queue");
  if (queue === undefined) throw new UsageError("missing --queue", SCHEDULE_LS_USAGE);
  const { openRunQueue } = await import("@tributary/agent");
  const runs = openRunQueue({ queue, redis: stringOption(parsed, "redis") });
  try {
    const schedules = await runs.schedules.list();
    if (parsed.values.json === true) {
      ctx.output.json({ queue, schedules });
      return EXIT_CODES.ok;
    }
    if (schedules.length === 0) {
      ctx.output.out(`no schedules on queue ${queue}`);
      return EXIT_CODES.ok;
    }
    ctx.output.out(
      formatTable(
        ["NAME", "ADDRESS", "WHEN", "NEXT", "PAUSED", "LAST RUNS"],
        schedules.map((s) => [
          s.name,
          s.address,
          `${when(s)}${s.noOverlap ? ", no overlap" : ""}`,
          s.paused ? "-" : s.next.join(" "),
          s.paused ? "paused" : "no",
          s.lastRuns.map((r) => r.state).join(",") || "-",
        ]),
      ),
    );
    return EXIT_CODES.ok;
  } finally {
    await runs.close();
  }
}

/** `tributary schedule rm|pause|resume NAME --queue Q`. */
function nameCommand(action: "remove" | "pause" | "resume") {
  return async (args: readonly string[], ctx: CommandContext): Promise<number> => {
    const parsed = parseOptions(
      args,
      { queue: "string", redis: "string", json: "boolean" },
      SCHEDULE_NAME_USAGE,
    );
    if (parsed.help) {
      ctx.output.out(SCHEDULE_NAME_USAGE);
      return EXIT_CODES.ok;
    }
    const [name, ...extra] = parsed.positionals;
    if (name === undefined || extra.length > 0)
      throw new UsageError("give one schedule NAME", SCHEDULE_NAME_USAGE);
    const queue = stringOption(parsed, "queue");
    if (queue === undefined) throw new UsageError("missing --queue", SCHEDULE_NAME_USAGE);
    const { openRunQueue } = await import("@tributary/agent");
    const runs = openRunQueue({ queue, redis: stringOption(parsed, "redis") });
    try {
      if (action === "remove") {
        if (!(await runs.schedules.remove(name))) {
          throw new ValidationError("name", `no schedule ${name} on queue ${queue}`);
        }
        if (parsed.values.json === true) ctx.output.json({ name, queue, removed: true });
        else ctx.output.out(`schedule ${name} removed from queue ${queue}; its runs stay in the history`);
        return EXIT_CODES.ok;
      }
      const schedule = await runs.schedules[action](name);
      if (parsed.values.json === true) ctx.output.json(schedule);
      else if (schedule.paused) ctx.output.out(`schedule ${name} on queue ${queue} paused`);
      else ctx.output.out(`schedule ${name} on queue ${queue} resumed; next ${schedule.next.join(", ")}`);
      return EXIT_CODES.ok;
    } finally {
      await runs.close();
    }
  };
}

/** `tributary schedule rm NAME --queue Q`. */
export const scheduleRm = nameCommand("remove");
/** `tributary schedule pause NAME --queue Q`. */
export const schedulePause = nameCommand("pause");
/** `tributary schedule resume NAME --queue Q`. */
export const scheduleResume = nameCommand("resume");
