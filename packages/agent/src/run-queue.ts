import { randomUUID } from "node:crypto";
import { mask, maskValue, TributaryError, ValidationError } from "@tributary/auth";
import type { RunReport } from "@tributary/flow";
import { type Job, Queue } from "bullmq";
import { Redis } from "ioredis";
import { AGENT_KEY_PREFIX, type AgentInfo, QUEUE_PREFIX } from "./agent.js";
import { checkParamsHoldNoSecret, checkQueuedRun, checkQueueName, type QueuedRun } from "./queued-run.js";
import { checkRedis, redisUrl } from "./redis-url.js";

/** The options of `openRunQueue`. */
export interface RunQueueOptions {
  /** The queue's name. */
  queue: string;
  /** The Redis URL; default `TRIBUTARY_REDIS_URL`. */
  redis?: string;
}

/** The options of `RunQueue.enqueue`. */
export interface EnqueueOptions {
  /** The deployment address. */
  address: string;
  /** The run's parameters: plain JSON; refused when they hold a secret value this process can resolve. */
  params?: unknown;
  /** The run's id (default: a random UUID); the flow sees it as `runId` and the report carries it. */
  runId?: string;
  /** Secret names the run needs: agents not given one of them fail the run at once. */
  secrets?: readonly string[];
  /** How many times a failed run is tried again (BullMQ attempts), default 0. */
  retries?: number;
  /** The first retry's delay, doubled for each next one, in ms (default 1 000). */
  backoffMs?: number;
}

/** Where a queued run is. */
export type QueuedRunState = "waiting" | "delayed" | "running" | "completed" | "failed";

/** One run of a queue, as `runs ls` shows it. */
export interface RunRecord {
  /** The run's id. */
  readonly runId: string;
  /** Its deployment address. */
  readonly address: string;
  /** Where it is. */
  readonly state: QueuedRunState;
  /** How many times it was started. */
  readonly attempts: number;
  /** The agent that took it last. */
  readonly agent?: string;
  /** When it was queued, started and ended, ISO 8601. */
  readonly enqueuedAt: string;
  readonly startedAt?: string;
  readonly finishedAt?: string;
  /** Why it failed, masked. */
  readonly error?: string;
}

/** Thrown by `RunQueue.wait` when the run did not end in time. */
export class RunWaitTimeoutError extends TributaryError {
  static override readonly errorName: string = "RunWaitTimeoutError";
  constructor(runId: string, ms: number) {
    super("RUN_WAIT_TIMEOUT", `Run ${runId} did not end within ${ms} ms; it is still queued or running.`, {
      retryable: true,
    });
  }
}

/** A handle on one run queue: queue runs, follow them, list them. */
export interface RunQueue {
  /** The queue's name. */
  readonly queue: string;
  /**
   * Checks the run (address, JSON params holding no secret value, run id) and adds it to the queue; resolves to
   * its run id. A job holds the address, params, run id and secret names, never a value.
   */
  enqueue(options: EnqueueOptions): Promise<{ runId: string }>;
  /**
   * Resolves to the masked report once the run has ended (after its retries). A run that failed before its flow
   * could report (an agent without a needed secret, a crashed process) gets a report with `state: "failed"`.
   */
  wait(runId: string, options?: { timeoutMs?: number; signal?: AbortSignal }): Promise<RunReport>;
  /** How many runs are in each state. */
  counts(): Promise<Record<QueuedRunState, number>>;
  /** The most recent runs in the given states (default all), newest first, at most `limit` per state (default 20). */
  list(options?: { states?: readonly QueuedRunState[]; limit?: number }): Promise<RunRecord[]>;
  /** Closes the queue's Redis connections. */
  close(): Promise<void>;
}

const BULL_STATE: Record<QueuedRunState, "wait" | "delayed" | "active" | "completed" | "failed"> = {
  waiting: "wait",
  delayed: "delayed",
  running: "active",
  completed: "completed",
  failed: "failed",
};

function iso(ms: number | undefined): string | undefined {
  return ms ? new Date(ms).toISOString() : undefined;
}

function failedReport(job: Job, data: QueuedRun): RunReport {
  const progress = job.progress as { report?: unknown } | undefined;
  if (progress && typeof progress === "object" && progress.report) return progress.report as RunReport;
  const started = job.processedOn ?? job.timestamp;
  return {
    flow: data.address,
    runId: data.runId,
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

/**
 * Opens a run queue on Redis (`redis`, else `TRIBUTARY_REDIS_URL`).
 * @example
 * const runs = openRunQueue({ queue: "nightly" });
 * const { runId } = await runs.enqueue({ address: "s3://flows/prod/nightly", params: { day: "2026-11-25" } });
 * const report = await runs.wait(runId);
 * await runs.close();
 */
export function openRunQueue(options: RunQueueOptions): RunQueue {
  const queueName = checkQueueName(options.queue);
  const url = redisUrl(options.redis);
  let queue: Queue | undefined;
  let opening: Promise<Queue> | undefined;
  // Checked once, so a wrong URL fails fast instead of BullMQ reconnecting for ever.
  const open = () =>
    (opening ??= checkRedis(url).then(() => {
      queue = new Queue(queueName, { connection: { url }, prefix: QUEUE_PREFIX });
      queue.on("error", () => {});
      return queue;
    }));

  const record = async (job: Job, state?: QueuedRunState): Promise<RunRecord> => {
    const data = job.data as QueuedRun;
    const bull = state ? BULL_STATE[state] : await job.getState();
    const found = (Object.keys(BULL_STATE) as QueuedRunState[]).find((k) => BULL_STATE[k] === bull);
    const out: { -readonly [K in keyof RunRecord]: RunRecord[K] } = {
      runId: data.runId,
      address: data.address,
      state: found ?? "waiting",
      attempts: job.attemptsStarted ?? job.attemptsMade,
      enqueuedAt: iso(job.timestamp) ?? "",
    };
    if (job.processedBy) out.agent = job.processedBy;
    const started = iso(job.processedOn);
    if (started) out.startedAt = started;
    const finished = iso(job.finishedOn);
    if (finished) out.finishedAt = finished;
    if (job.failedReason) out.error = mask(job.failedReason);
    return out;
  };

  return {
    queue: queueName,

    async enqueue(run) {
      const data: QueuedRun = {
        address: run.address,
        params: run.params,
        runId: run.runId ?? randomUUID(),
        secrets: run.secrets ?? [],
      };
      checkQueuedRun(data);
      const retries = run.retries ?? 0;
      if (!Number.isInteger(retries) || retries < 0 || retries > 100) {
        throw new ValidationError("retries", "must be an integer from 0 to 100");
      }
      const backoffMs = run.backoffMs ?? 1000;
      if (!Number.isInteger(backoffMs) || backoffMs < 0) {
        throw new ValidationError("backoffMs", "must be a whole number of milliseconds, 0 or more");
      }
      await checkParamsHoldNoSecret(data.params);
      const queue = await open();
      if (await queue.getJob(data.runId)) {
        throw new ValidationError(
          "runId",
          `run ${data.runId} is already on queue ${queueName}; use a new run id`,
        );
      }
      await queue.add("run", data, {
        jobId: data.runId,
        attempts: retries + 1,
        backoff: { type: "exponential", delay: backoffMs },
        removeOnComplete: { count: 10_000 },
        removeOnFail: { count: 10_000 },
      });
      return { runId: data.runId };
    },

    async wait(runId, waitOptions = {}) {
      const deadline = waitOptions.timeoutMs === undefined ? Infinity : Date.now() + waitOptions.timeoutMs;
      let pause = 20;
      const queue = await open();
      for (;;) {
        waitOptions.signal?.throwIfAborted();
        let state: Awaited<ReturnType<Queue["getJobState"]>> | "away";
        try {
          state = await queue.getJobState(runId);
        } catch {
          // Redis away for a moment: keep following until the deadline.
          state = "away";
        }
        if (state === "unknown") throw new ValidationError("runId", `no run ${runId} on queue ${queueName}`);
        // Read once it has ended, so the result is there.
        const job =
          state === "completed" || state === "failed"
            ? await queue.getJob(runId).catch(() => undefined)
            : undefined;
        if (job && state === "completed") return maskValue(job.returnvalue) as RunReport;
        if (job && state === "failed")
          return maskValue(failedReport(job, job.data as QueuedRun)) as RunReport;
        if (Date.now() > deadline) throw new RunWaitTimeoutError(runId, waitOptions.timeoutMs ?? 0);
        await new Promise((r) => setTimeout(r, pause));
        pause = Math.min(pause * 2, 250);
      }
    },

    async counts() {
      const queue = await open();
      const counts = await queue.getJobCounts("wait", "delayed", "active", "completed", "failed");
      return {
        waiting: counts.wait ?? 0,
        delayed: counts.delayed ?? 0,
        running: counts.active ?? 0,
        completed: counts.completed ?? 0,
        failed: counts.failed ?? 0,
      };
    },

    async list(listOptions = {}) {
      const limit = listOptions.limit ?? 20;
      const states = listOptions.states ?? (Object.keys(BULL_STATE) as QueuedRunState[]);
      const queue = await open();
      const out: RunRecord[] = [];
      for (const state of states) {
        const jobs = (await queue.getJobs(BULL_STATE[state], 0, limit - 1, false)) as Job[];
        for (const job of jobs) if (job) out.push(await record(job, state));
      }
      return out;
    },

    async close() {
      await opening?.catch(() => {});
      await queue?.close();
    },
  };
}

/**
 * The agents alive now (those whose heartbeat has not expired), on one queue or on all, sorted by queue and name.
 * @example
 * for (const agent of await listAgents({ queue: "nightly" })) console.log(agent.id, agent.running);
 */
export async function listAgents(options: { redis?: string; queue?: string } = {}): Promise<AgentInfo[]> {
  const url = redisUrl(options.redis);
  const pattern = `${AGENT_KEY_PREFIX}${options.queue === undefined ? "" : `${checkQueueName(options.queue)}:`}*`;
  const redis = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: true });
  redis.on("error", () => {});
  await checkRedis(url);
  try {
    await redis.connect();
    const agents: AgentInfo[] = [];
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", pattern, "COUNT", 200);
      cursor = next;
      const values = keys.length > 0 ? await redis.mget(...keys) : [];
      for (const value of values) {
        if (!value) continue;
        try {
          agents.push(JSON.parse(value) as AgentInfo);
        } catch {
          // Not one of ours.
        }
      }
    } while (cursor !== "0");
    return agents.sort((a, b) => a.queue.localeCompare(b.queue) || a.id.localeCompare(b.id));
  } finally {
    redis.disconnect();
  }
}
