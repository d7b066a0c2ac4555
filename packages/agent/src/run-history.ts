import { mask, maskValue, ValidationError } from "@tributary/auth";
import type { RunReport, TaskRun } from "@tributary/flow";
import type { Job, Queue } from "bullmq";
import type { QueuedRun } from "./queued-run.js";
import { isRunId, jobIdsOfRun, parseDuration, RUN_ID_RULE, scheduledRunId, slotOfJob } from "./run-ids.js";
import type { CredentialUse } from "./run-log.js";

/** Where a run is. `skipped`: a scheduled run not started because the schedule's previous run was still going. */
export type QueuedRunState = "waiting" | "delayed" | "running" | "completed" | "failed" | "skipped";

/** One run of a queue, as `runs ls` and a dashboard's list show it. */
export interface RunRecord {
  /** The run's id: the one given to `enqueue`, or `NAME@<slot, ISO 8601>` for a scheduled run. */
  readonly runId: string;
  /** Its BullMQ job id (the same as the run id unless the run id holds `:` or the run was scheduled). */
  readonly jobId: string;
  /** Its deployment address. */
  readonly address: string;
  /** The flow's name, once a report says it. */
  readonly flow?: string;
  /** Where it is. */
  readonly state: QueuedRunState;
  /** How many times it was started. */
  readonly attempts: number;
  /** The agent that took it last. */
  readonly agent?: string;
  /** The schedule that made it, and the time slot it was made for (ISO 8601). */
  readonly schedule?: string;
  readonly scheduledFor?: string;
  /** When it was queued, started and ended, ISO 8601. */
  readonly enqueuedAt: string;
  readonly startedAt?: string;
  readonly finishedAt?: string;
  /** How long it took, in milliseconds: the flow's own measure when it reported, else from start to end. */
  readonly durationMs?: number;
  /** Why it failed (or was skipped), masked. */
  readonly error?: string;
}

/** Everything a run's record holds: its summary, params, masked report, task timeline, credential table, logs. */
export interface RunDetail extends RunRecord {
  /** The run's parameters, as queued. */
  readonly params: unknown;
  /** The secret names the run was queued with (never values). */
  readonly secrets: readonly string[];
  /** The masked report, once the run has ended (a failure before the flow could report gets one too). */
  readonly report?: RunReport;
  /** The task timeline: each task call's start, duration, attempts and state, in call order. */
  readonly tasks: readonly TaskRun[];
  /** For a failed run: the task it ended in (the last task that failed), when one did. */
  readonly endedIn?: string;
  /** Each secret the run resolved, where it came from, its scope and principal when known. Never a value. */
  readonly credentials: readonly CredentialUse[];
  /** The run's log lines, masked, oldest first (the last 1,000 lines or 1 MiB), when asked for with `logs`. */
  readonly logs?: readonly string[];
}

/** Which runs `runs.list` returns. */
export interface RunFilter {
  /** Only runs in these states (default: all). */
  states?: readonly QueuedRunState[];
  /** Only runs of this flow name or deployment address. */
  flow?: string;
  /** Only runs made by this schedule. */
  schedule?: string;
  /** Only runs started (or queued) at or after this: a `Date`, an ISO 8601 text, or a duration back from now (`7d`). */
  since?: Date | string;
  /** At most this many runs (default 20), newest first. */
  limit?: number;
}

/** @internal What an agent writes into a job's progress: the parts of a run's record the job does not hold. */
export interface RunProgress {
  /** The masked report (for a run that did not complete; a completed run's is its return value). */
  readonly report?: RunReport;
  /** The credential table. */
  readonly credentials?: readonly CredentialUse[];
  /** Why the run was skipped, when it was. */
  readonly skipped?: string;
}

/** @internal What a scheduler's job template holds: the run without its id, and the schedule's name. */
export interface ScheduledRunData {
  readonly address: string;
  readonly params: unknown;
  readonly secrets: readonly string[];
  readonly schedule: string;
  readonly noOverlap: boolean;
}

/** @internal BullMQ's name of each state a job can be in. */
export const BULL_STATE: Record<
  Exclude<QueuedRunState, "skipped">,
  "wait" | "delayed" | "active" | "completed" | "failed"
> = {
  waiting: "wait",
  delayed: "delayed",
  running: "active",
  completed: "completed",
  failed: "failed",
};

/** Every state a run can be in, in the order runs move through them. */
export const RUN_STATES: readonly QueuedRunState[] = [
  "waiting",
  "delayed",
  "running",
  "completed",
  "failed",
  "skipped",
];

function iso(ms: number | undefined): string | undefined {
  return ms ? new Date(ms).toISOString() : undefined;
}

/** @internal The run a job stands for: its data, with the run id of a scheduled job made from its slot. */
export function runOfJob(
  job: Pick<Job, "id" | "data">,
): QueuedRun & { schedule?: string; noOverlap?: boolean } {
  const slot = slotOfJob(job.id);
  const data = (job.data ?? {}) as Partial<QueuedRun & ScheduledRunData>;
  if (!slot) return data as QueuedRun;
  return {
    address: data.address ?? "",
    params: data.params,
    secrets: data.secrets ?? [],
    runId: scheduledRunId(slot.schedule, slot.slotMs),
    schedule: slot.schedule,
    noOverlap: data.noOverlap === true,
  };
}

function progressOf(job: Job): RunProgress {
  const progress = job.progress as RunProgress | undefined;
  return progress && typeof progress === "object" ? progress : {};
}

/** @internal The masked report of a run that ended, or `undefined` while it has not. */
export function reportOfJob(job: Job, finished: "completed" | "failed" | undefined): RunReport | undefined {
  const progress = progressOf(job);
  if (finished === "completed") return (progress.report ?? job.returnvalue) as RunReport | undefined;
  if (finished !== "failed") return undefined;
  if (progress.report) return progress.report;
  const run = runOfJob(job);
  const started = job.processedOn ?? job.timestamp;
  return {
    flow: run.address,
    runId: run.runId,
    state: "failed",
    start: new Date(started).toISOString(),
    durationMs: Math.max(0, (job.finishedOn ?? Date.now()) - started),
    error: {
      name: "RunFailedError",
      code: "RUN_FAILED",
      message: mask(job.failedReason ?? "the run failed"),
    },
    tasks: [],
    hookErrors: [],
  };
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** @internal A job's record, in the BullMQ state given (read from Redis when not). */
export async function recordOfJob(job: Job, bullState?: string): Promise<RunRecord> {
  const run = runOfJob(job);
  const bull = bullState ?? (await job.getState());
  const finished = bull === "completed" || bull === "failed" ? bull : undefined;
  const progress = progressOf(job);
  const known = (Object.keys(BULL_STATE) as (keyof typeof BULL_STATE)[]).find((k) => BULL_STATE[k] === bull);
  const out: Mutable<RunRecord> = {
    runId: run.runId,
    jobId: job.id ?? "",
    address: run.address,
    state: progress.skipped ? "skipped" : (known ?? "waiting"),
    attempts: job.attemptsStarted ?? job.attemptsMade,
    enqueuedAt: iso(job.timestamp) ?? "",
  };
  const report = reportOfJob(job, finished);
  if (report && typeof report.flow === "string" && report.flow !== run.address) out.flow = report.flow;
  if (job.processedBy) out.agent = job.processedBy;
  const slot = slotOfJob(job.id);
  if (slot) {
    out.schedule = slot.schedule;
    out.scheduledFor = new Date(slot.slotMs).toISOString();
  }
  const started = iso(job.processedOn);
  if (started) out.startedAt = started;
  const ended = finished ? iso(job.finishedOn) : undefined;
  if (ended) out.finishedAt = ended;
  if (report && typeof report.durationMs === "number") out.durationMs = report.durationMs;
  else if (job.processedOn && ended)
    out.durationMs = Math.max(0, (job.finishedOn as number) - job.processedOn);
  if (progress.skipped) out.error = mask(progress.skipped);
  else if (job.failedReason) out.error = mask(job.failedReason);
  return out;
}

/** @internal A job's whole record. */
export async function detailOfJob(queue: Queue, job: Job, withLogs: boolean): Promise<RunDetail> {
  const bull = await job.getState();
  const summary = await recordOfJob(job, bull);
  const run = runOfJob(job);
  const report = reportOfJob(job, bull === "completed" || bull === "failed" ? bull : undefined);
  const tasks = report?.tasks ?? [];
  const out: Mutable<RunDetail> = {
    ...summary,
    params: maskValue(run.params),
    secrets: run.secrets ?? [],
    tasks,
    credentials: progressOf(job).credentials ?? [],
  };
  if (report) out.report = maskValue(report) as RunReport;
  if (report?.state === "failed") {
    const failed = tasks.filter((t) => t.state === "failed");
    const last = failed[failed.length - 1];
    if (last) out.endedIn = last.name;
  }
  if (withLogs) {
    const { logs } = await queue.getJobLogs(job.id ?? "", 0, -1, true);
    out.logs = logs.map((line) => mask(line));
  }
  return out;
}

/** @internal Reads a `since`: a date, ISO 8601 text, or a duration back from now. */
export function sinceMs(since: Date | string | undefined, now = Date.now()): number | undefined {
  if (since === undefined) return undefined;
  if (since instanceof Date) {
    if (Number.isNaN(since.getTime())) throw new ValidationError("since", "is not a valid date");
    return since.getTime();
  }
  const back = parseDuration(since);
  if (back !== undefined) return now - back;
  const at = Date.parse(since);
  if (Number.isFinite(at) && /^\d{4}-\d{2}-\d{2}/.test(since)) return at;
  throw new ValidationError("since", "use a duration such as 7d, 12h or 30m, or a date such as 2026-12-01");
}

const PAGE = 200;
/** The most jobs one listing reads, so a filter that matches little cannot read a huge history for ever. */
const SCAN_LIMIT = 50_000;

/** @internal Lists runs, newest first (by start, else by queueing), filtered. */
export async function listRuns(queue: Queue, filter: RunFilter = {}): Promise<RunRecord[]> {
  const limit = filter.limit ?? 20;
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) {
    throw new ValidationError("limit", "must be a whole number from 1 to 10000");
  }
  const states = filter.states ?? RUN_STATES;
  const wrong = states.find((s) => !RUN_STATES.includes(s));
  if (wrong !== undefined) throw new ValidationError("states", `must be among ${RUN_STATES.join(", ")}`);
  const since = sinceMs(filter.since);
  const wanted = new Set(states);
  const bullStates = new Set<keyof typeof BULL_STATE>();
  for (const state of states) bullStates.add(state === "skipped" ? "completed" : state);
  const out: RunRecord[] = [];
  let scanned = 0;
  // Unfiltered, the newest `limit` of each state are enough; a filter may have to read further back.
  const narrowed = filter.flow !== undefined || filter.schedule !== undefined || !wanted.has("completed");
  const page = narrowed ? PAGE : Math.min(PAGE, limit);
  for (const state of bullStates) {
    const bull = BULL_STATE[state];
    let found = 0;
    for (let start = 0; found < limit && scanned < SCAN_LIMIT; start += page) {
      const jobs = (
        (await queue.getJobs(bull, start, start + page - 1, false)) as (Job | undefined)[]
      ).filter((job): job is Job => !!job);
      scanned += jobs.length;
      let older = false;
      for (const job of jobs) {
        const record = await recordOfJob(job, bull);
        const at = Date.parse(record.startedAt ?? record.enqueuedAt);
        if (since !== undefined && at < since) {
          // Finished runs come newest finished first: one that ended before `since` also started before it, and so
          // did every run after it in the set.
          if ((bull === "completed" || bull === "failed") && (job.finishedOn ?? 0) < since) older = true;
          continue;
        }
        if (!wanted.has(record.state)) continue;
        if (filter.flow !== undefined && record.flow !== filter.flow && record.address !== filter.flow)
          continue;
        if (filter.schedule !== undefined && record.schedule !== filter.schedule) continue;
        out.push(record);
        found++;
      }
      if (jobs.length < page || older) break;
    }
  }
  const time = (r: RunRecord) => Date.parse(r.startedAt ?? r.enqueuedAt);
  return out.sort((a, b) => time(b) - time(a)).slice(0, limit);
}

/** @internal A run's record by its run id, or `undefined` when the queue holds no such run (any more). */
export async function getRun(queue: Queue, runId: string, withLogs: boolean): Promise<RunDetail | undefined> {
  if (!isRunId(runId)) throw new ValidationError("runId", `is no run id: use ${RUN_ID_RULE}`);
  for (const jobId of jobIdsOfRun(runId)) {
    const job = (await queue.getJob(jobId)) as Job | undefined;
    if (job && runOfJob(job).runId === runId) return detailOfJob(queue, job, withLogs);
  }
  return undefined;
}
