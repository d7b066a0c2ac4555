import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { setMaxListeners } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { mask, maskValue, TributaryError, ValidationError, withSecrets } from "@tributary/auth";
import type { RunReport } from "@tributary/flow";
import { type Job, UnrecoverableError, Worker } from "bullmq";
import { Redis } from "ioredis";
import { checkQueuedRun, checkQueueName, type QueuedRun } from "./queued-run.js";
import { closeWithin } from "./redis-stop.js";
import { checkRedis, describeRedisUrl, redisUrl } from "./redis-url.js";
import { runEnvironment } from "./run-environment.js";
import { type RunProgress, runOfJob } from "./run-history.js";
import { slotOfJob } from "./run-ids.js";
import { RUN_LOG_MAX_LINES, RunLog } from "./run-log.js";

/** Where a run executes: its own child process (the default), or inside the agent's process. */
export type Isolation = "child-process" | "in-process";

/** The command that runs one queued run in a child process; it prints the run's `RunReport` as JSON on stdout. */
export interface ChildRunCommand {
  /** The program, such as `process.execPath`. */
  readonly command: string;
  /** Its arguments. */
  readonly args: readonly string[];
}

/** What an in-process run gets: the agent's secrets for it, and a signal aborted when the agent gives the run up. */
export interface InProcessRunContext {
  /** The values the agent passes to this run (its `-e` secrets). */
  readonly secrets: Readonly<Record<string, unknown>>;
  /** Aborted when the agent stops before the run ends (past its grace period). */
  readonly signal: AbortSignal;
  /**
   * Where the run's log lines go (a `LogSink` function for the flow's logger): the agent writes them to its own log
   * and keeps them, masked, in the run's record, with the credential table read from their provenance lines.
   */
  readonly log: (line: string) => void;
}

/** The options of `startAgent`. */
export interface AgentOptions {
  /** The queue to take runs from. */
  queue: string;
  /** The Redis URL; default `TRIBUTARY_REDIS_URL`. Masked wherever printed. */
  redis?: string;
  /** How many runs at once (default 1). */
  concurrency?: number;
  /**
   * The secrets given to every run (the `-e` values), or a function called at the start of each run that
   * returns them (so rotated values are picked up). Values never come from the queue.
   */
  secrets?:
    | Readonly<Record<string, unknown>>
    | (() => Readonly<Record<string, unknown>> | Promise<Readonly<Record<string, unknown>>>);
  /** Where runs execute (default `"child-process"`). */
  isolation?: Isolation;
  /** For `child-process`: the command that runs one run and prints its report as JSON on stdout. */
  childCommand?: (run: QueuedRun) => ChildRunCommand;
  /** For `in-process`: runs one run in this process and resolves to its report. */
  runInProcess?: (run: QueuedRun, context: InProcessRunContext) => Promise<RunReport>;
  /**
   * On `close()`, how long running runs may go on before they are left for other agents, in ms (0 to 86 400 000,
   * default 30 000).
   */
  graceMs?: number;
  /**
   * How soon the runs of an agent that stops without `close()` (killed, crashed, its machine or network gone) are
   * taken again by the other agents, at most, in ms (default 30 000; from 1 000 to 86 400 000). Every agent of a
   * queue should use the same value. A live agent whose process stalls for more than a quarter of it (an
   * in-process run blocking its event loop) may lose its runs to other agents.
   */
  stallTimeoutMs?: number;
  /** How often the agent tells Redis it is alive, in ms (default 5 000); `agent ls` shows it for 3 periods. */
  heartbeatMs?: number;
  /** A name for the agent in `agent ls` and in each run's record (default `<host>:<pid>:<random>`). */
  name?: string;
  /** Where the agent writes its own lines and the child runs' stderr, masked (default: stderr). */
  log?: (line: string) => void;
  /**
   * How many records of completed runs, and how many of failed runs, the queue keeps (default 1 000 each): older
   * ones are removed by BullMQ as runs end (`removeOnComplete`/`removeOnFail`).
   */
  keepRuns?: number;
  /** How many days a run's record is kept after it ended (default 30). */
  keepDays?: number;
}

/** What `agent ls` shows of a live agent: read from its heartbeat in Redis. */
export interface AgentInfo {
  /** The agent's name. */
  readonly id: string;
  /** The queue it takes runs from. */
  readonly queue: string;
  /** Its machine's host name and process id. */
  readonly host: string;
  readonly pid: number;
  /** Its isolation and concurrency. */
  readonly isolation: Isolation;
  readonly concurrency: number;
  /** The secret names it passes to runs (never values). */
  readonly secrets: readonly string[];
  /** How many runs it has going now. */
  readonly running: number;
  /** When it started and when it last said it was alive, ISO 8601. */
  readonly startedAt: string;
  readonly seenAt: string;
}

/** A running agent. */
export interface Agent {
  /** The agent's name. */
  readonly id: string;
  /** How many runs it has going now. */
  running(): number;
  /**
   * Stops taking runs, lets running ones finish for up to `graceMs` (default: the agent's), then leaves the rest
   * for other agents (their child processes are killed; other agents take the runs within `stallTimeoutMs`).
   * Resolves to how many runs were left, and whether Redis took the agent's last writes. Called again while it stops,
   * with a shorter `graceMs` (such as 0 on a second Ctrl-C), the shorter grace period holds. Redis gets
   * `REDIS_STOP_MS` after the grace period: if it has not answered by then (it is out of reach), the agent drops its
   * connections and resolves with `redisAnswered: false`, so a process that stops on SIGTERM does not hang.
   */
  close(options?: { graceMs?: number }): Promise<AgentClosed>;
}

/** What `agent.close()` resolves to. */
export interface AgentClosed {
  /** Runs still going at the end of the grace period, left for other agents. */
  readonly abandoned: number;
  /**
   * `false` when Redis did not take the agent's last writes within `REDIS_STOP_MS` after the grace period: the agent
   * stopped without it. Runs it had taken are taken by another agent within the stall timeout; its heartbeat
   * expires on its own.
   */
  readonly redisAnswered: boolean;
}

/** Thrown (and stored as the job's failure, masked) when a run did not complete. */
export class RunFailedError extends TributaryError {
  static override readonly errorName: string = "RunFailedError";
  constructor(message: string) {
    super("RUN_FAILED", message);
    // The failure is stored in Redis: keep the message, not the frames of this process.
    this.stack = `${this.name}: ${message}`;
  }
}

/** The Redis key prefix of agents' heartbeats. */
export const AGENT_KEY_PREFIX = "tributary-agents:";

/** The BullMQ key prefix of the run queues: a queue `etl` keeps its keys under `tributary:etl:`. */
export const QUEUE_PREFIX = "tributary";

/** `value` when it is a whole number of milliseconds from `least` to a day, else a `ValidationError` for `option`. */
function wholeMs(value: number, option: string, least: number): number {
  if (!Number.isInteger(value) || value < least || value > 86_400_000) {
    throw new ValidationError(option, `must be a whole number of milliseconds from ${least} to 86400000`);
  }
  return value;
}

/** The default of `AgentOptions.stallTimeoutMs`. */
const DEFAULT_STALL_TIMEOUT_MS = 30_000;

/**
 * BullMQ's settings for a stall timeout. A check, made for the whole queue by whichever agent comes first once per
 * `stalledInterval`, moves back to the queue a run that it marked at an earlier check and whose lock is gone, and
 * marks the running ones; renewing a lock unmarks its run. BullMQ guards the check with a key that lives exactly one
 * interval, which an agent's next check, one interval later by its own clock, may just miss: checks can come two
 * intervals apart. So after its agent's last renewal a run is marked within two intervals, its lock lasts
 * `lockDuration`, and the first check after both moves it back: within max(lockDuration, 2 × interval) + 2 ×
 * interval. With lockDuration = 2 × interval = 0.4 × the timeout, that is 0.8 × the timeout, leaving a fifth for
 * the delays of a busy machine. Renewing every quarter of the lock or sooner, a live agent keeps its runs through
 * pauses of up to 0.3 × the timeout.
 */
function stallSettings(stallTimeoutMs: number): {
  lockDuration: number;
  lockRenewTime: number;
  stalledInterval: number;
} {
  const stalledInterval = Math.floor(stallTimeoutMs / 5);
  const lockDuration = 2 * stalledInterval;
  return { lockDuration, lockRenewTime: Math.floor(lockDuration / 4), stalledInterval };
}

function positive(value: number | undefined, option: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value <= 0) throw new ValidationError(option, "must be a positive integer");
  return value;
}

function failureOf(report: RunReport): string {
  const error = report.error ? `: ${report.error.name}: ${report.error.message}` : "";
  return `Flow run ${report.flow} ${report.state}${error}`;
}

function isThenable<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as PromiseLike<T> | null)?.then === "function";
}

function isReport(value: unknown): value is RunReport {
  const r = value as RunReport | null;
  return !!r && typeof r === "object" && typeof r.runId === "string" && typeof r.state === "string";
}

/**
 * Starts an agent: a BullMQ worker on `queue` that runs each queued run with the agent's secrets (never values
 * from the queue), each in its own child process by default. Runs of an agent that dies are taken by another
 * agent within `stallTimeoutMs`; `close()` lets running runs finish up to the grace period.
 * @example
 * const agent = await startAgent({
 *   queue: "nightly",
 *   concurrency: 4,
 *   secrets: { SLACK_WEBHOOK_URL: process.env.NIGHTLY_WEBHOOK },
 *   childCommand: (run) => ({ command: process.execPath, args: [cliBin, "run", run.address, "--run-id", run.runId, "--json"] }),
 * });
 * process.once("SIGTERM", () => agent.close().then(({ redisAnswered }) => process.exit(redisAnswered ? 0 : 1)));
 */
export async function startAgent(options: AgentOptions): Promise<Agent> {
  checkQueueName(options.queue);
  const url = redisUrl(options.redis);
  const isolation = options.isolation ?? "child-process";
  if (isolation !== "child-process" && isolation !== "in-process") {
    throw new ValidationError("isolation", 'must be "child-process" or "in-process"');
  }
  if (isolation === "child-process" && typeof options.childCommand !== "function") {
    throw new ValidationError("childCommand", "child-process isolation needs the command that runs one run");
  }
  if (isolation === "in-process" && typeof options.runInProcess !== "function") {
    throw new ValidationError("runInProcess", "in-process isolation needs the function that runs one run");
  }
  const concurrency = positive(options.concurrency, "concurrency", 1);
  const keepRuns = positive(options.keepRuns, "keepRuns", 1000);
  const keepDays = positive(options.keepDays, "keepDays", 30);
  const stallTimeoutMs = wholeMs(options.stallTimeoutMs ?? DEFAULT_STALL_TIMEOUT_MS, "stallTimeoutMs", 1000);
  const graceMs = wholeMs(options.graceMs ?? 30_000, "graceMs", 0);
  await checkRedis(url);
  const heartbeatMs = positive(options.heartbeatMs, "heartbeatMs", 5_000);
  const id = options.name ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const say = (line: string) => log(mask(line));
  const given = options.secrets;
  const secretsOf = typeof given === "function" ? given : () => given ?? {};
  const staticNames = typeof given === "function" ? undefined : Object.keys(given ?? {});

  /** The runs going now, by id. */
  const active = new Set<string>();
  /** Aborted when the agent gives up its running runs (past the grace period): one signal for all of them. */
  const givingUp = new AbortController();
  setMaxListeners(0, givingUp.signal);
  let abandoning = false;
  const startedAt = new Date().toISOString();
  let knownNames: readonly string[] = staticNames ?? [];

  const runChild = (
    run: QueuedRun,
    secrets: Readonly<Record<string, unknown>>,
    signal: AbortSignal,
    logLine: (line: string) => void,
  ) =>
    new Promise<RunReport>((resolve, reject) => {
      const { command, args } = (options.childCommand as (run: QueuedRun) => ChildRunCommand)(run);
      // An empty store of its own: the run must not read the agent's local store.
      const home = mkdtempSync(join(tmpdir(), "tributary-run-"));
      const child = spawn(command, [...args], {
        env: { ...runEnvironment(secrets), TRIBUTARY_HOME: home },
        stdio: ["ignore", "pipe", "pipe"],
        // Its own process group: a Ctrl-C or SIGTERM meant for the agent does not cut its runs short.
        detached: true,
      });
      let stdout = "";
      let tail = "";
      let partial = "";
      child.stdout.setEncoding("utf8").on("data", (d: string) => {
        stdout += d;
      });
      child.stderr.setEncoding("utf8").on("data", (d: string) => {
        tail = (tail + d).slice(-2000);
        const lines = (partial + d).split("\n");
        partial = lines.pop() ?? "";
        for (const line of lines) logLine(line);
      });
      const kill = () => {
        if (child.pid !== undefined && child.exitCode === null) {
          try {
            process.kill(-child.pid, "SIGKILL");
          } catch {
            child.kill("SIGKILL");
          }
        }
      };
      signal.addEventListener("abort", kill, { once: true });
      child.once("error", (error) => {
        rmSync(home, { recursive: true, force: true });
        reject(new RunFailedError(`Could not start the run's process: ${mask(error.message)}`));
      });
      child.once("close", (code, killedBy) => {
        signal.removeEventListener("abort", kill);
        rmSync(home, { recursive: true, force: true });
        if (partial) logLine(partial);
        let report: unknown;
        try {
          report = JSON.parse(stdout);
        } catch {
          report = undefined;
        }
        if (isReport(report)) return resolve(report);
        const how = killedBy ? `was killed by ${killedBy}` : `exited with code ${code}`;
        reject(
          new RunFailedError(
            `The run's process ${how} without a report${tail ? `: ${mask(tail.trim())}` : ""}`,
          ),
        );
      });
    });

  /**
   * The records of the runs going now whose log lines one timer of the agent writes, about once a second, so a
   * running run's lines can be read: a run that ends sooner has its lines written once, at its end.
   */
  const recording = new Set<{ flush(): void }>();
  const flushing = setInterval(() => {
    for (const record of recording) record.flush();
  }, 1000);
  flushing.unref();

  /**
   * Writes what the job does not hold of a run's record: its log lines (see `recording`), then at its end its
   * credential table and, for a run that did not complete, its report. A completed run that resolved no credential
   * writes nothing more than BullMQ's completion: its record is the job, its report the job's return value.
   */
  const recorder = (job: Job, log: RunLog) => {
    const key = () => `${worker.toKey(job.id ?? "")}:logs`;
    /** The writes of this run's lines so far, in order. */
    let writing: Promise<unknown> | undefined;
    const write = (replace: boolean, lines: readonly string[]) => {
      const multi = heartbeat.multi();
      if (replace) multi.del(key());
      multi.rpush(key(), ...lines);
      if (!replace) multi.ltrim(key(), -RUN_LOG_MAX_LINES, -1);
      const exec = () => multi.exec();
      writing = writing ? writing.then(exec) : exec();
      writing = writing.catch(() => {});
      return writing;
    };
    const record = {
      flush() {
        if (log.hasFresh) void write(false, log.takeFresh());
      },
      stop: () => {
        recording.delete(record);
      },
      /**
       * Writes what is left of the record; `undefined` when there is nothing to wait for (a completed run that
       * logged nothing and resolved no credential), so that such a run ends without one more promise.
       */
      end(progress: RunProgress): Promise<void> | undefined {
        recording.delete(record);
        const failed = (error: unknown) => {
          say(`agent ${id}: could not write the record of run ${job.id}: ${(error as Error).message}`);
        };
        try {
          // Cut by the byte limit (or past the line limit): the list becomes the tail, with its note.
          if (log.cut > 0) void write(true, log.lines());
          else record.flush();
          const credentials = log.credentials();
          // What an earlier attempt wrote is replaced, even by nothing.
          const earlier = typeof job.progress === "object" && job.progress !== null;
          const rest =
            credentials.length > 0 || progress.report || earlier
              ? job.updateProgress({ ...progress, credentials })
              : undefined;
          if (rest) return Promise.all([writing, rest]).then(() => {}, failed);
          return writing?.then(() => {});
        } catch (error) {
          failed(error);
          return undefined;
        }
      },
    };
    recording.add(record);
    return record;
  };

  /** An earlier slot of the same schedule still running, for `noOverlap` schedules. */
  const runningEarlier = async (job: Job): Promise<string | undefined> => {
    const slot = slotOfJob(job.id);
    if (!slot) return undefined;
    const ids = await heartbeat.lrange(worker.toKey("active"), 0, -1);
    for (const other of ids) {
      const theirs = slotOfJob(other);
      if (theirs && theirs.schedule === slot.schedule && theirs.slotMs < slot.slotMs) {
        return runOfJob({ id: other, data: {} }).runId;
      }
    }
    return undefined;
  };

  /** A run of a `noOverlap` schedule whose earlier slot is still running: recorded as skipped, not run. */
  const skip = async (job: Job, run: ReturnType<typeof runOfJob>, earlier: string): Promise<RunReport> => {
    const skipped = `Skipped: run ${earlier} of schedule ${run.schedule} was still running (no overlap)`;
    say(`agent ${id}: run ${run.runId}: ${skipped}`);
    await job.updateProgress({ skipped } satisfies RunProgress);
    const now = new Date().toISOString();
    return {
      flow: run.address,
      runId: run.runId,
      state: "cancelled",
      start: now,
      durationMs: 0,
      error: { name: "RunSkippedError", code: "RUN_SKIPPED", message: skipped },
      tasks: [],
      hookErrors: [],
    };
  };

  // Not async, nor its parts: a run's promises are most of what the agent adds to BullMQ's own cost per job, and
  // on Node 20 and 22, while any async context is in use, every promise of the process costs more.
  const processRun = (job: Job): Promise<RunReport> => {
    const run = runOfJob(job);
    try {
      checkQueuedRun(run);
    } catch (error) {
      return Promise.reject(new UnrecoverableError(mask((error as Error).message)));
    }
    if (run.noOverlap) {
      return runningEarlier(job).then((earlier) => (earlier ? skip(job, run, earlier) : begin(job, run)));
    }
    return begin(job, run);
  };

  const begin = (job: Job, run: QueuedRun): Promise<RunReport> => {
    active.add(run.runId);
    const names = new Set<string>();
    const log = new RunLog(names);
    // The run's scope starts before its values are looked up, so values resolved for it (rotated ones too) are
    // masked for this run and dropped with it; the agent's own values stay masked for the process.
    return withSecrets({}, () => perform(run, log, names, recorder(job, log)), { runId: run.runId });
  };

  /** A promise that never settles: a run given up past the grace period reports nothing (another agent takes it). */
  const never = () => new Promise<never>(() => {});

  /** Runs `run` in its scope; what fails is a `RunFailedError` (or `UnrecoverableError`), masked with its values. */
  const perform = (
    run: QueuedRun,
    log: RunLog,
    names: Set<string>,
    record: ReturnType<typeof recorder>,
  ): Promise<RunReport> => {
    const logLine = (line: string) => say(log.add(line));
    // A run is counted as going until its record is written.
    const failed = (error: unknown): Promise<never> => {
      if (abandoning) {
        record.stop();
        return never();
      }
      const thrown =
        error instanceof UnrecoverableError || RunFailedError.isInstance(error)
          ? error
          : new RunFailedError(
              mask(error instanceof Error ? `${error.name}: ${error.message}` : String(error)),
            );
      const settle = (): never => {
        active.delete(run.runId);
        throw thrown;
      };
      const ending = record.end({});
      if (ending) return ending.then(settle);
      active.delete(run.runId);
      return Promise.reject(thrown);
    };
    const ended = (report: RunReport): RunReport | Promise<RunReport> => {
      // Given up past the grace period: nothing is reported, the run goes back to the queue for another agent.
      if (abandoning) {
        record.stop();
        return never();
      }
      const masked = maskValue(report) as RunReport;
      const completed = masked.state === "completed";
      const settle = (): RunReport => {
        active.delete(run.runId);
        if (!completed) throw new RunFailedError(failureOf(masked));
        return masked;
      };
      const ending = record.end(completed ? {} : { report: masked });
      return ending ? ending.then(settle) : settle();
    };
    const launch = (secrets: Readonly<Record<string, unknown>>): Promise<RunReport> => {
      knownNames = Object.keys(secrets);
      for (const name of knownNames) names.add(name);
      const missing = run.secrets.filter((name) => secrets[name] === undefined);
      if (missing.length > 0) {
        throw new UnrecoverableError(
          `Agent ${id} was not given ${missing.join(", ")}, which the run needs: start agents on queue ${options.queue} with -e ${missing.join(" -e ")}`,
        );
      }
      const start = () =>
        isolation === "in-process"
          ? (options.runInProcess as NonNullable<AgentOptions["runInProcess"]>)(run, {
              secrets,
              signal: givingUp.signal,
              log: logLine,
            })
          : runChild(run, secrets, givingUp.signal, logLine);
      // With values to pass, they belong to this run's scope (inside `begin`'s, which already has its id).
      return knownNames.length > 0 ? withSecrets(secrets, start, { runId: run.runId }) : start();
    };
    try {
      const given = secretsOf();
      const started = isThenable(given) ? Promise.resolve(given).then(launch) : launch(given);
      return started.then(ended, failed);
    } catch (error) {
      return failed(error);
    }
  };

  const worker = new Worker(options.queue, processRun, {
    connection: { url },
    prefix: QUEUE_PREFIX,
    concurrency,
    name: id,
    ...stallSettings(stallTimeoutMs),
    removeOnComplete: { count: keepRuns, age: keepDays * 86_400 },
    removeOnFail: { count: keepRuns, age: keepDays * 86_400 },
    autorun: false,
  });
  worker.on("error", (error) => say(`agent ${id}: Redis: ${error.message} (${describeRedisUrl(url)})`));

  const heartbeat = new Redis(url, { maxRetriesPerRequest: null, lazyConnect: true });
  heartbeat.on("error", () => {});
  const key = `${AGENT_KEY_PREFIX}${options.queue}:${id}`;
  const beat = async () => {
    const info: AgentInfo = {
      id,
      queue: options.queue,
      host: hostname(),
      pid: process.pid,
      isolation,
      concurrency,
      secrets: knownNames,
      running: active.size,
      startedAt,
      seenAt: new Date().toISOString(),
    };
    await heartbeat.set(key, JSON.stringify(info), "PX", heartbeatMs * 3).catch(() => {});
  };
  await heartbeat.connect();
  if (!staticNames) knownNames = Object.keys(await secretsOf());
  await beat();
  const timer = setInterval(beat, heartbeatMs);
  timer.unref();
  await worker.waitUntilReady();
  worker.run().catch((error: Error) => say(`agent ${id} stopped: ${error.message}`));
  say(
    `agent ${id} takes runs from queue ${options.queue} on ${describeRedisUrl(url)} (${isolation}, concurrency ${concurrency})`,
  );

  /**
   * Redis wakes one waiting worker when a job is queued or a slot's job is made, and tells it when the job is due; the
   * others wait on, looking again only every few seconds. When that worker was this agent's, closing forgets what it
   * was told: the next slot would start that late, and an every-second schedule would lose the slots in between. So a
   * closing agent wakes one of the others, which reads from the queue itself when its next run is due.
   */
  const wakeTheOthers = () =>
    heartbeat
      .eval(
        `if redis.call("LLEN", KEYS[2]) + redis.call("ZCARD", KEYS[3]) + redis.call("ZCARD", KEYS[4]) > 0 then
           redis.call("ZADD", KEYS[1], 0, "0")
         end`,
        4,
        worker.keys.marker as string,
        worker.keys.wait as string,
        worker.keys.prioritized as string,
        worker.keys.delayed as string,
      )
      .catch(() => {});

  let closing: Promise<AgentClosed> | undefined;
  /** When running runs are left for other agents: the end of the shortest grace period asked for. */
  let deadline = Number.POSITIVE_INFINITY;
  /** The agent's last writes: the runs' ends (BullMQ's close), a wake-up for the others, its heartbeat's removal. */
  const lastWrites = async (abandoned: number) => {
    await worker.close(abandoned > 0);
    await wakeTheOthers();
    await heartbeat.del(key).catch(() => {});
  };
  const close = async (): Promise<AgentClosed> => {
    await worker.pause(true);
    while (active.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const abandoned = active.size;
    if (abandoned > 0) {
      abandoning = true;
      say(
        `agent ${id}: ${abandoned} run(s) did not finish within the grace period; leaving them for other agents`,
      );
      givingUp.abort(new Error("the agent is stopping"));
    }
    clearInterval(timer);
    clearInterval(flushing);
    const backend = worker.getBackend();
    const redisAnswered = await closeWithin(lastWrites(abandoned), async () => [
      heartbeat,
      await backend.client,
      await backend.blockingClient,
    ]);
    if (redisAnswered) {
      heartbeat.disconnect();
    } else {
      say(
        `agent ${id}: Redis did not answer while the agent stopped; it stopped without it (runs it had taken go to other agents within the stall timeout)`,
      );
    }
    return { abandoned, redisAnswered };
  };

  return {
    id,
    running: () => active.size,
    close(closeOptions = {}) {
      try {
        deadline = Math.min(deadline, Date.now() + wholeMs(closeOptions.graceMs ?? graceMs, "graceMs", 0));
      } catch (error) {
        return Promise.reject(error);
      }
      closing ??= close();
      return closing;
    },
  };
}
