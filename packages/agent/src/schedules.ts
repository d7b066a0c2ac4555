import { ValidationError } from "@tributary/auth";
import type { Queue } from "bullmq";
import { CronExpressionParser } from "cron-parser";
import type { Redis } from "ioredis";
import { checkParamsHoldNoSecret, checkQueuedRun } from "./queued-run.js";
import { listRuns, type QueuedRunState, type ScheduledRunData } from "./run-history.js";
import { checkScheduleName, parseDuration } from "./run-ids.js";

/** The Redis key prefix of schedule definitions: a queue `etl` keeps its schedules in the hash `tributary-schedules:etl`. */
export const SCHEDULE_KEY_PREFIX = "tributary-schedules:";

/** The options of `schedules.add`: what to run, and when (exactly one of `cron` and `every`). */
export interface ScheduleOptions {
  /** The deployment address. */
  address: string;
  /** The schedule's name (default: the address's last part): scheduled runs' ids are `NAME@<slot, ISO 8601>`. */
  name?: string;
  /** A cron expression (5 fields, or 6 with seconds first), read by `cron-parser` as BullMQ reads it. */
  cron?: string;
  /** The IANA time zone of `cron` (default UTC), such as `Europe/Berlin`. */
  tz?: string;
  /** A fixed interval instead of `cron`: milliseconds, or a duration such as `15m`, `30s`, `1h` (1 s or more). */
  every?: number | string;
  /** Each run's parameters: plain JSON, refused when they hold a secret value this process can resolve. */
  params?: unknown;
  /** Secret names the runs need: agents not given one of them fail the run at once. */
  secrets?: readonly string[];
  /** Skip a slot when the previous run of this schedule is still running (the skip is recorded). */
  noOverlap?: boolean;
  /** How many times a failed run is tried again, default 0. */
  retries?: number;
  /** Change the schedule when `name` is already used, instead of refusing. */
  replace?: boolean;
}

/** A schedule as `schedule ls` and a dashboard show it. */
export interface ScheduleInfo {
  /** Its name. */
  readonly name: string;
  /** The deployment address its runs run. */
  readonly address: string;
  /** Its cron expression and zone, or its interval in milliseconds. */
  readonly cron?: string;
  readonly tz?: string;
  readonly everyMs?: number;
  /** Each run's parameters. */
  readonly params: unknown;
  /** The secret names its runs need. */
  readonly secrets: readonly string[];
  readonly noOverlap: boolean;
  readonly retries: number;
  /** Whether it is paused (no slot fires while it is). */
  readonly paused: boolean;
  /** The next fire times, ISO 8601 (none while paused). */
  readonly next: readonly string[];
  /** When it was added or last changed, ISO 8601. */
  readonly updatedAt: string;
}

/** A schedule with the states of its latest runs, newest first. */
export interface ScheduleWithRuns extends ScheduleInfo {
  /** Its latest runs: run id and state, newest first. */
  readonly lastRuns: readonly { readonly runId: string; readonly state: QueuedRunState }[];
}

/** What `openRunQueue(…).schedules` does: schedules on BullMQ job schedulers, so each slot fires once. */
export interface Schedules {
  /**
   * Checks the schedule (name, cron expression and zone with `cron-parser`, interval, params holding no secret) before
   * Redis is touched, then adds it; refuses a name already used unless `replace`.
   */
  add(options: ScheduleOptions): Promise<ScheduleInfo>;
  /** Every schedule of the queue, by name, with its next three fire times and its last `lastRuns` runs (default 5). */
  list(options?: { lastRuns?: number }): Promise<ScheduleWithRuns[]>;
  /** One schedule, or `undefined`. */
  get(name: string): Promise<ScheduleInfo | undefined>;
  /** Removes a schedule; resolves to whether there was one. Runs it made stay in the history. */
  remove(name: string): Promise<boolean>;
  /** Stops a schedule firing (slots that come due while paused are not run later). */
  pause(name: string): Promise<ScheduleInfo>;
  /** Starts a paused schedule again, from its next slot. */
  resume(name: string): Promise<ScheduleInfo>;
}

/** What Redis keeps of a schedule: all `ScheduleInfo` says but its fire times (the scheduler itself is BullMQ's). */
type ScheduleDefinition = Omit<ScheduleInfo, "next">;

/** Checks a cron expression and zone the way BullMQ will read them; throws `ValidationError` naming what is wrong. */
export function checkCron(cron: string, tz?: string): void {
  if (tz !== undefined) {
    try {
      new Intl.DateTimeFormat("en", { timeZone: tz });
    } catch {
      throw new ValidationError(
        "tz",
        `${JSON.stringify(tz)} is not a time zone: use an IANA name such as Europe/Berlin`,
      );
    }
  }
  try {
    CronExpressionParser.parse(cron, { tz, currentDate: new Date() }).next();
  } catch (error) {
    throw new ValidationError(
      "cron",
      `${JSON.stringify(cron)} is not a cron expression (${(error as Error).message}): use 5 fields (minute hour day month weekday), such as "0 2 * * *"`,
    );
  }
}

/** The next `count` fire times of a cron expression after `from`, ISO 8601. */
export function nextCronTimes(cron: string, tz: string | undefined, from: number, count: number): string[] {
  const times = CronExpressionParser.parse(cron, { tz, currentDate: new Date(from) });
  return Array.from({ length: count }, () => times.next().toISOString() as string);
}

function defaultName(address: string): string {
  const last =
    address
      .replace(/@[^/]*$/, "")
      .split("/")
      .filter(Boolean)
      .pop() ?? "";
  return last.replace(/[^A-Za-z0-9._-]/g, "-");
}

/** @internal Checks `options` and makes the definition to store, before Redis is touched. */
export async function definitionOf(options: ScheduleOptions): Promise<ScheduleDefinition> {
  const name = checkScheduleName(options.name ?? defaultName(String(options.address ?? "")));
  const secrets = options.secrets ?? [];
  // The run id is made from the slot; this one only stands in for the check of the rest.
  checkQueuedRun({ address: options.address, params: options.params, runId: `${name}@check`, secrets });
  if ((options.cron === undefined) === (options.every === undefined)) {
    throw new ValidationError("cron", "a schedule needs exactly one of cron (with tz) and every");
  }
  if (options.tz !== undefined && options.cron === undefined) {
    throw new ValidationError("tz", "a time zone goes with cron, not with every");
  }
  let everyMs: number | undefined;
  if (options.cron !== undefined) checkCron(options.cron, options.tz);
  else {
    everyMs = parseDuration(options.every as string | number);
    if (everyMs === undefined || everyMs < 1000) {
      throw new ValidationError("every", "use an interval of 1 s or more, such as 30s, 15m, 2h or 1d");
    }
  }
  const retries = options.retries ?? 0;
  if (!Number.isInteger(retries) || retries < 0 || retries > 100) {
    throw new ValidationError("retries", "must be an integer from 0 to 100");
  }
  await checkParamsHoldNoSecret(options.params);
  const out: { -readonly [K in keyof ScheduleDefinition]: ScheduleDefinition[K] } = {
    name,
    address: options.address,
    params: options.params,
    secrets,
    noOverlap: options.noOverlap === true,
    retries,
    paused: false,
    updatedAt: new Date().toISOString(),
  };
  if (options.cron !== undefined) out.cron = options.cron;
  if (options.tz !== undefined) out.tz = options.tz;
  if (everyMs !== undefined) out.everyMs = everyMs;
  return out;
}

/** @internal The schedules of one queue, on an open BullMQ queue. */
export function openSchedules(
  open: () => Promise<Queue>,
  redis: () => Promise<Redis>,
  queueName: string,
): Schedules {
  const key = `${SCHEDULE_KEY_PREFIX}${queueName}`;

  const read = async (name: string): Promise<ScheduleDefinition | undefined> => {
    const raw = await (await redis()).hget(key, name);
    return raw ? (JSON.parse(raw) as ScheduleDefinition) : undefined;
  };

  const arm = async (queue: Queue, def: ScheduleDefinition) => {
    const data: ScheduledRunData = {
      address: def.address,
      params: def.params,
      secrets: def.secrets,
      schedule: def.name,
      noOverlap: def.noOverlap,
    };
    await queue.upsertJobScheduler(
      def.name,
      def.cron !== undefined
        ? { pattern: def.cron, ...(def.tz ? { tz: def.tz } : {}) }
        : { every: def.everyMs as number },
      {
        name: "run",
        data,
        opts: { attempts: def.retries + 1, backoff: { type: "exponential", delay: 1000 } },
      },
    );
  };

  const info = async (queue: Queue, def: ScheduleDefinition): Promise<ScheduleInfo> => {
    let next: string[] = [];
    if (!def.paused) {
      const scheduler = await queue.getJobScheduler(def.name);
      const first = scheduler?.next ?? Date.now();
      next =
        def.cron !== undefined
          ? [new Date(first).toISOString(), ...nextCronTimes(def.cron, def.tz, first, 2)]
          : [0, 1, 2].map((i) => new Date(first + i * (def.everyMs as number)).toISOString());
    }
    const { updatedAt, ...rest } = def;
    return { ...rest, next, updatedAt };
  };

  const existing = async (name: string): Promise<[Queue, ScheduleDefinition]> => {
    checkScheduleName(name);
    const queue = await open();
    const def = await read(name);
    if (!def) throw new ValidationError("name", `no schedule ${name} on queue ${queueName}`);
    return [queue, def];
  };

  const store = async (def: ScheduleDefinition) => {
    await (await redis()).hset(key, def.name, JSON.stringify(def));
  };

  return {
    async add(options) {
      const def = await definitionOf(options);
      const queue = await open();
      if (!options.replace && (await read(def.name))) {
        throw new ValidationError(
          "name",
          `a schedule ${def.name} is already on queue ${queueName}: choose another name, or replace it (--replace)`,
        );
      }
      await store(def);
      await arm(queue, def);
      return info(queue, def);
    },

    async list(options = {}) {
      const lastRuns = options.lastRuns ?? 5;
      const queue = await open();
      const all = await (await redis()).hgetall(key);
      const defs = Object.values(all)
        .map((raw) => JSON.parse(raw as string) as ScheduleDefinition)
        .sort((a, b) => a.name.localeCompare(b.name));
      const out: ScheduleWithRuns[] = [];
      for (const def of defs) {
        const runs = lastRuns > 0 ? await listRuns(queue, { schedule: def.name, limit: lastRuns }) : [];
        out.push({
          ...(await info(queue, def)),
          lastRuns: runs.map((r) => ({ runId: r.runId, state: r.state })),
        });
      }
      return out;
    },

    async get(name) {
      checkScheduleName(name);
      const queue = await open();
      const def = await read(name);
      return def ? info(queue, def) : undefined;
    },

    async remove(name) {
      checkScheduleName(name);
      const queue = await open();
      const had = (await (await redis()).hdel(key, name)) > 0;
      await queue.removeJobScheduler(name);
      return had;
    },

    async pause(name) {
      const [queue, def] = await existing(name);
      const paused = { ...def, paused: true, updatedAt: new Date().toISOString() };
      await store(paused);
      await queue.removeJobScheduler(name);
      return info(queue, paused);
    },

    async resume(name) {
      const [queue, def] = await existing(name);
      const resumed = { ...def, paused: false, updatedAt: new Date().toISOString() };
      await store(resumed);
      await arm(queue, resumed);
      return info(queue, resumed);
    },
  };
}
