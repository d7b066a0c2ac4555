import { randomUUID } from "node:crypto";
import { maskValue, TributaryError, ValidationError } from "@tributary/auth";
import type { RunReport } from "@tributary/flow";
import { type Job, Queue, QueueEvents } from "bullmq";
import { Redis } from "ioredis";
import { AGENT_KEY_PREFIX, type AgentInfo, QUEUE_PREFIX } from "./agent.js";
import { checkParamsHoldNoSecret, checkQueuedRun, checkQueueName, type QueuedRun } from "./queued-run.js";
import { closeWithin } from "./redis-stop.js";
import { checkRedis, redisUrl } from "./redis-url.js";
import {
  getRun,
  listRuns,
  type QueuedRunState,
  type RunDetail,
  type RunFilter,
  type RunRecord,
  reportOfJob,
} from "./run-history.js";
import { jobIdOfRun, jobIdsOfRun, runIdOfJob } from "./run-ids.js";
import { openSchedules, type Schedules } from "./schedules.js";

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

/** Thrown by `RunQueue.wait` when the run did not end in time. */
export class RunWaitTimeoutError extends TributaryError {
  static override readonly errorName: string = "RunWaitTimeoutError";
  constructor(runId: string, ms: number) {
    super("RUN_WAIT_TIMEOUT", `Run ${runId} did not end within ${ms} ms; it is still queued or running.`, {
      retryable: true,
    });
  }
}

/** A change of a run's state, as `RunQueue.watch` reports it. */
export interface RunEvent {
  /** The queue's name. */
  readonly queue: string;
  /** The run's id. */
  readonly runId: string;
  /** The state the run moved to. */
  readonly state: "waiting" | "delayed" | "running" | "completed" | "failed";
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
   * could report (an agent without a needed secret, a crashed process) gets a report with `state: "failed"`. While
   * Redis is away it keeps following the run; `timeoutMs` and `signal` hold even then (`RunWaitTimeoutError`, or
   * the signal's reason).
   */
  wait(runId: string, options?: { timeoutMs?: number; signal?: AbortSignal }): Promise<RunReport>;
  /** How many runs are in each state (BullMQ's counts: `skipped` runs count as completed there). */
  counts(): Promise<Record<Exclude<QueuedRunState, "skipped">, number>>;
  /** The same as `runs.list`. */
  list(filter?: RunFilter): Promise<RunRecord[]>;
  /** The run history of the queue: every run an agent took, with its record, for as long as agents keep it. */
  readonly runs: {
    /** The runs that match `filter`, newest first (by start, else by queueing), at most `filter.limit` (default 20). */
    list(filter?: RunFilter): Promise<RunRecord[]>;
    /**
     * One run's whole record (masked report, task timeline, credential table, and with `logs` its log lines), or
     * `undefined` when the queue holds no such run (never queued, or past the agents' `keepRuns`/`keepDays`).
     */
    get(runId: string, options?: { logs?: boolean }): Promise<RunDetail | undefined>;
  };
  /** The queue's schedules: add, list, pause, resume, remove. */
  readonly schedules: Schedules;
  /**
   * Calls `listener` each time a run of the queue is queued, starts or ends (BullMQ's queue events, on a
   * connection of their own); resolves, once listening, to a function that stops it (within `REDIS_STOP_MS` when
   * Redis is out of reach, as `close`).
   * @example
   * const stop = await runs.watch((event) => console.log(event.runId, event.state));
   */
  watch(listener: (event: RunEvent) => void): Promise<() => Promise<void>>;
  /**
   * Closes the queue's Redis connections, and stops its watchers. Redis out of reach keeps it no longer than
   * `REDIS_STOP_MS`: then its connections are ended without it.
   */
  close(): Promise<void>;
}

/** Closes a BullMQ queue or its events, waiting for a Redis out of reach no longer than `REDIS_STOP_MS`. */
async function closeBullmq(target: Queue | QueueEvents): Promise<void> {
  const backend = target.getBackend();
  await closeWithin(target.close(), async () => [await backend.client, await backend.blockingClient]);
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

  let redis: Redis | undefined;
  /** A connection of its own for the keys beside BullMQ's (schedule definitions). */
  const client = async () => {
    await open();
    if (!redis) {
      redis = new Redis(url, { maxRetriesPerRequest: 1 });
      redis.on("error", () => {});
    }
    return redis;
  };

  const watchers = new Set<QueueEvents>();

  const runs: RunQueue["runs"] = {
    list: async (filter) => listRuns(await open(), filter),
    get: async (runId, getOptions = {}) => getRun(await open(), runId, getOptions.logs === true),
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
      const jobId = jobIdOfRun(data.runId);
      if (await queue.getJob(jobId)) {
        throw new ValidationError(
          "runId",
          `run ${data.runId} is already on queue ${queueName}; use a new run id`,
        );
      }
      await queue.add("run", data, {
        jobId,
        attempts: retries + 1,
        backoff: { type: "exponential", delay: backoffMs },
      });
      return { runId: data.runId };
    },

    async wait(runId, waitOptions = {}) {
      const deadline = waitOptions.timeoutMs === undefined ? Infinity : Date.now() + waitOptions.timeoutMs;
      const signal = waitOptions.signal;
      let pause = 20;
      const queue = await open();
      const jobIds = jobIdsOfRun(runId);
      /**
       * A call to Redis, failed at the deadline or on the signal: BullMQ's calls wait for an unreachable Redis for
       * ever, where the wait must not.
       */
      const bounded = <T>(call: Promise<T>): Promise<T> =>
        deadline === Infinity && !signal
          ? call
          : new Promise<T>((resolve, reject) => {
              const stop = () => reject(new Error("given up"));
              const timer =
                deadline === Infinity ? undefined : setTimeout(stop, Math.max(0, deadline - Date.now()));
              signal?.addEventListener("abort", stop, { once: true });
              call.then(resolve, reject).finally(() => {
                clearTimeout(timer);
                signal?.removeEventListener("abort", stop);
              });
            });
      for (;;) {
        signal?.throwIfAborted();
        let state: Awaited<ReturnType<Queue["getJobState"]>> | "away" = "unknown";
        let jobId = jobIds[0] as string;
        try {
          for (jobId of jobIds) {
            state = await bounded(queue.getJobState(jobId));
            if (state !== "unknown") break;
          }
        } catch {
          // Redis away: keep following until the deadline (checked below) or the signal.
          state = "away";
        }
        signal?.throwIfAborted();
        if (state === "unknown") throw new ValidationError("runId", `no run ${runId} on queue ${queueName}`);
        // Read once it has ended, so the result is there.
        const job =
          state === "completed" || state === "failed"
            ? ((await bounded(queue.getJob(jobId)).catch(() => undefined)) as Job | undefined)
            : undefined;
        if (job) return maskValue(reportOfJob(job, state as "completed" | "failed")) as RunReport;
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

    list: (filter) => runs.list(filter),
    runs,
    schedules: openSchedules(open, client, queueName),

    async watch(listener) {
      await open();
      const events = new QueueEvents(queueName, { connection: { url }, prefix: QUEUE_PREFIX });
      events.on("error", () => {});
      const on = (state: RunEvent["state"]) => (args: { jobId: string }) =>
        listener({ queue: queueName, runId: runIdOfJob(args.jobId), state });
      events.on("waiting", on("waiting"));
      events.on("delayed", on("delayed"));
      events.on("active", on("running"));
      events.on("completed", on("completed"));
      events.on("failed", on("failed"));
      await events.waitUntilReady();
      watchers.add(events);
      return async () => {
        watchers.delete(events);
        await closeBullmq(events);
      };
    },

    async close() {
      const closing: Promise<void>[] = [...watchers].map(closeBullmq);
      watchers.clear();
      await opening?.catch(() => {});
      if (queue) closing.push(closeBullmq(queue));
      await Promise.all(closing);
      redis?.disconnect();
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
