import { ValidationError } from "@tributary/auth";

/**
 * A run id: 1 to 128 letters, digits, `.`, `_`, `-`, `:` or `@`, starting with a letter or digit, not only digits.
 * A scheduled run's id is `NAME@<scheduled time, ISO 8601>`, such as `nightly@2026-12-08T01:00:00.000Z`.
 */
export const RUN_ID_PATTERN: RegExp = /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/;

/** What `RUN_ID_PATTERN` allows, in words, for error messages. */
export const RUN_ID_RULE = "1 to 128 letters, digits, '.', '_', '-', ':' or '@', not only digits";

/** True when `runId` is a valid run id. */
export function isRunId(runId: unknown): runId is string {
  return typeof runId === "string" && RUN_ID_PATTERN.test(runId) && !/^\d+$/.test(runId);
}

/** A schedule's name: 1 to 64 letters, digits, dots, dashes or underscores. */
export function checkScheduleName(name: unknown): string {
  if (typeof name !== "string" || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name)) {
    throw new ValidationError(
      "name",
      "a schedule's name takes 1 to 64 letters, digits, dots, dashes or underscores",
    );
  }
  return name;
}

const SCHEDULED_JOB = /^repeat:(.+):(\d+)$/;

/** The id of a scheduled run: `NAME@<slot, ISO 8601>`. */
export function scheduledRunId(schedule: string, slotMs: number): string {
  return `${schedule}@${new Date(slotMs).toISOString()}`;
}

/**
 * The schedule and slot of a BullMQ job made by a job scheduler (`repeat:NAME:MILLIS`), or `undefined` for a job
 * queued by `enqueue`.
 */
export function slotOfJob(jobId: string | undefined): { schedule: string; slotMs: number } | undefined {
  const found = jobId ? SCHEDULED_JOB.exec(jobId) : null;
  return found ? { schedule: found[1] as string, slotMs: Number(found[2]) } : undefined;
}

/**
 * The BullMQ job id of a queued run's id. BullMQ refuses `:` in the ids it is given, and run ids never hold `%`:
 * so `:` becomes `%3A`, one way back and forth.
 */
export function jobIdOfRun(runId: string): string {
  return runId.replaceAll(":", "%3A");
}

/** The run id of a BullMQ job id: a scheduled run's `NAME@<slot>`, else the queued run's id (`%3A` back to `:`). */
export function runIdOfJob(jobId: string): string {
  const slot = slotOfJob(jobId);
  return slot ? scheduledRunId(slot.schedule, slot.slotMs) : jobId.replaceAll("%3A", ":");
}

/**
 * The job ids a run id may have, most likely first: a scheduled run's (`repeat:NAME:MILLIS`) when the id has that
 * shape, then a queued run's.
 */
export function jobIdsOfRun(runId: string): string[] {
  const at = runId.lastIndexOf("@");
  const ids: string[] = [];
  if (at > 0) {
    const slot = Date.parse(runId.slice(at + 1));
    if (Number.isFinite(slot) && new Date(slot).toISOString() === runId.slice(at + 1)) {
      ids.push(`repeat:${runId.slice(0, at)}:${slot}`);
    }
  }
  ids.push(jobIdOfRun(runId));
  return ids;
}

const UNITS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/**
 * Reads a duration such as `15m`, `30s`, `2h`, `7d`, `1w` or `500ms` (or a number of milliseconds) as
 * milliseconds; `undefined` when it is not one.
 */
export function parseDuration(value: string | number): number | undefined {
  if (typeof value === "number") return Number.isInteger(value) && value > 0 ? value : undefined;
  const found = /^(\d+)(ms|s|m|h|d|w)$/.exec(value.trim());
  if (!found) return undefined;
  const ms = Number(found[1]) * (UNITS[found[2] as string] as number);
  return ms > 0 && Number.isSafeInteger(ms) ? ms : undefined;
}
