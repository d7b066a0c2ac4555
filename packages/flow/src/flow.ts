import { AsyncResource } from "node:async_hooks";
import { randomUUID } from "node:crypto";
import {
  describeIdentity,
  describeSource,
  maskValue,
  resolveSecret,
  type SecretBackend,
  ValidationError,
  withSecrets,
} from "@tributary/auth";
import { AbortFanout, frames, type RunScope, type TaskRecordHandle } from "./context.js";
import { RunCancelledError } from "./errors.js";
import { errorField } from "./logged-errors.js";
import { createMaskingLogger, type Logger, type LoggerOptions, type MaskingLogger } from "./logger.js";
import {
  type HookError,
  type ReportedError,
  type RunReport,
  type RunState,
  type TaskRun,
  type TaskRunState,
  toReportedError,
} from "./report.js";
import type { FlowStorage } from "./storage.js";
import { logProvenance } from "./task.js";

/** A hook called when a run ends; it may be async. What it throws is recorded in `hookErrors`, never rethrown. */
export type FlowHook = (report: RunReport) => void | Promise<void>;

/** A hook called when a task of a run fails for good (after its retries), with the run so far and the task run. */
export type TaskFailureHook = (report: RunReport, taskRun: TaskRun) => void | Promise<void>;

/** The options of `flow()`. */
export interface FlowOptions {
  /** The flow's name, shown in reports and log lines. Required. */
  name: string;
  /**
   * Secret names declared for every run: resolved when the run starts (from run values, env, the local store or
   * the configured backends), before any task. One that cannot be resolved fails the run with `resolveSecret`'s error.
   */
  secrets?: readonly string[];
  /** The most task calls running at once in a run (default: no limit). Nested task calls share their parent's slot. */
  concurrency?: number;
  /**
   * Least privilege for every integration task of the run: S3 tasks assume their role with a session policy, GCS
   * tasks use downscoped tokens, GitHub App tasks restricted installation tokens (see docs/least-privilege.md).
   */
  leastPrivilege?: boolean;
  /**
   * Default secret names whose identity is proven and logged when a run starts, after its declared secrets resolve:
   * one cheap live call each (`describeIdentity`; the integration's package must be imported), logged at `info`
   * as the principal the service names. A rejected credential fails the run with the service's reason.
   */
  logIdentity?: readonly string[];
  /** Called when a run fails or is cancelled (`report.state` says which), after every `onTaskFailure` hook. */
  onFailure?: FlowHook | readonly FlowHook[];
  /** Called when a run completes. */
  onSuccess?: FlowHook | readonly FlowHook[];
  /** Called each time a task fails for good, with the report so far and the task run. */
  onTaskFailure?: TaskFailureHook | readonly TaskFailureHook[];
  /** How long a hook may take before it is recorded as failed and the run moves on, in ms (default 30000). */
  hookTimeoutMs?: number;
  /** Where the flow lives; the secrets it declares are declared for every run. */
  storage?: FlowStorage;
  /** The run logger's options; level defaults to `configureLogging`'s, else `TRIBUTARY_LOG_LEVEL`, else `info`. */
  logger?: LoggerOptions;
}

/** What the flow body receives. */
export interface FlowContext<P = unknown> {
  /** The run's parameters, as given to `run()`. */
  params: P;
  /** The run's logger, masking secrets. */
  log: Logger;
  /** Aborted when the run is cancelled. */
  signal: AbortSignal;
  /** The run's id. */
  runId: string;
}

/** The options of `flow.run()`. */
export interface RunOptions<P = unknown> {
  /** The run's parameters, handed to the body as `params`. */
  params?: P;
  /** Secret values for this run only, by name; they win over env, store and backends, and are masked everywhere. */
  secrets?: Readonly<Record<string, unknown>>;
  /** Aborting it cancels the run: pending tasks never start, running ones are aborted, the report says `cancelled`. */
  signal?: AbortSignal;
  /** Secret backends for this run instead of those set by `configureBackends`. */
  backends?: readonly SecretBackend[];
  /** The run's id (default: a random UUID). */
  runId?: string;
  /** Logger options for this run, over the flow's. */
  logger?: LoggerOptions;
  /**
   * The run's default for `leastPrivilege`, used when the flow does not set it: what a config file gives
   * `tributary run` and the agents. The flow's own option wins over it, a task's over the flow's, a call's over all.
   */
  leastPrivilege?: boolean;
}

/** A flow made by `flow()`. */
export interface Flow<P = unknown, R = unknown> {
  /** The flow's name. */
  readonly name: string;
  /** The options it was made with. */
  readonly options: Readonly<FlowOptions>;
  /** The function it runs (kept for agents and tests). */
  readonly body: (context: FlowContext<P>) => R | PromiseLike<R>;
  /**
   * Runs the flow once and resolves to its report; it does not throw when the flow fails (the report says so).
   * @example
   * const report = await nightly.run({ params: { day: "2026-11-26" }, secrets: { SLACK_WEBHOOK_URL: url } });
   * if (report.state !== "completed") process.exitCode = 1;
   */
  run(options?: RunOptions<P>): Promise<RunReport>;
}

class TaskRecord implements TaskRecordHandle {
  state: TaskRunState = "pending";
  attempts = 0;
  /** The call's promise while it is live (dropped when it settles, so a long run does not hold them all). */
  promise: Promise<unknown> | undefined;
  startedAt: number | undefined;
  durationMs: number | undefined;
  error: ReportedError | undefined;
  constructor(
    readonly id: number,
    readonly name: string,
  ) {}
  get live(): boolean {
    return this.state === "pending" || this.state === "running";
  }
  started(): void {
    if (this.state !== "pending") return;
    this.state = "running";
    this.startedAt = Date.now();
  }
  attempt(n: number): void {
    if (this.live) this.attempts = n;
  }
  completed(): void {
    if (!this.live) return;
    this.state = "completed";
    this.promise = undefined;
    this.durationMs = Date.now() - (this.startedAt ?? Date.now());
  }
  failed(error: unknown, cancelled: boolean): void {
    if (!this.live) return;
    this.state = cancelled ? "cancelled" : "failed";
    this.promise = undefined;
    this.error = toReportedError(error);
    if (this.startedAt !== undefined) this.durationMs = Date.now() - this.startedAt;
  }
  snapshot(): TaskRun {
    const run: { -readonly [K in keyof TaskRun]: TaskRun[K] } = {
      id: this.id,
      name: this.name,
      state: this.state,
      attempts: this.attempts,
    };
    if (this.startedAt !== undefined) run.start = isoTime(this.startedAt);
    if (this.durationMs !== undefined) run.durationMs = this.durationMs;
    if (this.error) run.error = this.error;
    return run;
  }
}

function list<T>(value: T | readonly T[] | undefined): readonly T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? (value as readonly T[]) : [value as T];
}

function checkFlowOptions(options: FlowOptions): void {
  if (!options || typeof options.name !== "string" || options.name.trim() === "") {
    throw new ValidationError("name", "a flow needs a non-empty `name`");
  }
  const { concurrency, hookTimeoutMs } = options;
  if (
    concurrency !== undefined &&
    !(concurrency === Number.POSITIVE_INFINITY || (Number.isInteger(concurrency) && concurrency > 0))
  ) {
    throw new ValidationError("concurrency", "must be a positive integer (or Infinity)");
  }
  if (hookTimeoutMs !== undefined && !(typeof hookTimeoutMs === "number" && hookTimeoutMs > 0)) {
    throw new ValidationError("hookTimeoutMs", "must be a positive number of milliseconds");
  }
  for (const key of ["secrets"] as const) {
    const names = options[key];
    if (
      names !== undefined &&
      (!Array.isArray(names) || names.some((n) => typeof n !== "string" || n === ""))
    ) {
      throw new ValidationError(key, "must be an array of secret names");
    }
  }
  for (const key of ["onFailure", "onSuccess", "onTaskFailure"] as const) {
    if (list<unknown>(options[key]).some((h) => typeof h !== "function")) {
      throw new ValidationError(key, "must be a function or an array of functions");
    }
  }
  const storage = options.storage;
  if (
    storage !== undefined &&
    (typeof storage !== "object" ||
      storage === null ||
      !(["describe", "address", "save", "load"] as const).every((m) => typeof storage[m] === "function"))
  ) {
    throw new ValidationError(
      "storage",
      "must be a FlowStorage: { kind, secrets?, describe(), address(), save(), load() }, such as fileStorage({ path })",
    );
  }
}

/** The scope hooks run in: tasks they call run normally but are not recorded, and stop at the hook's timeout. */
class HookScope implements RunScope {
  readonly cancel = new AbortFanout();
  constructor(
    readonly id: string,
    readonly log: MaskingLogger,
  ) {}
  record(): undefined {
    return undefined;
  }
  acquire(): boolean {
    return true;
  }
  release(): void {}
  taskFailed(): void {}
}

const NO_TASKS: readonly TaskRun[] = Object.freeze([]);

/** The last time formatted, reused: an agent starts several runs within the same millisecond. */
let lastIso = { ms: Number.NaN, text: "" };

/** `new Date(ms).toISOString()`. */
function isoTime(ms: number): string {
  if (lastIso.ms !== ms) lastIso = { ms, text: new Date(ms).toISOString() };
  return lastIso.text;
}

/** How a run's body ended: what it returned, or what it threw (or why the run was cancelled first). */
type Outcome = { ok: true; result: unknown } | { ok: false; error: unknown };

/** The body's outcome as a promise: what it throws at once is a rejection, like what an async body throws. */
function callBody<P, R>(
  body: (context: FlowContext<P>) => R | PromiseLike<R>,
  context: FlowContext<P>,
): PromiseLike<R> {
  try {
    const result = body(context);
    return typeof (result as PromiseLike<R> | null)?.then === "function"
      ? (result as PromiseLike<R>)
      : Promise.resolve(result as R);
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * What the body receives. A class (not an object literal with a `signal` getter): a getter made per run keeps
 * every object of the run alive through young-generation collections, which tripled a no-op run's GC time.
 */
class BodyContext<P> implements FlowContext<P> {
  readonly #cancel: AbortFanout;
  constructor(
    readonly params: P,
    readonly log: Logger,
    readonly runId: string,
    cancel: AbortFanout,
  ) {
    this.#cancel = cancel;
  }
  /** The run's signal, made on first read. */
  get signal(): AbortSignal {
    return this.#cancel.signal;
  }
}

/**
 * A task call waiting for a concurrency slot, resumed in the async context it was made in (so it sees its caller's
 * secrets). One async resource per waiting call, where a promise and its reaction took two promises and two closures.
 */
class SlotWaiter extends AsyncResource {
  constructor(private readonly start: () => void) {
    super("TributaryTaskSlot");
  }

  resume(): void {
    this.runInAsyncScope(this.start);
  }
}

class ActiveRun implements RunScope {
  /** The run's cancellation: tasks attach to it; the body's `signal` is its signal, made only if the body reads it. */
  readonly cancel = new AbortFanout();
  leastPrivilege: boolean | undefined;
  readonly records: TaskRecord[] = [];
  readonly hookErrors: HookError[] = [];
  readonly pendingHooks: Promise<void>[] = [];
  readonly startedAt = Date.now();
  private active = 0;
  /** Tasks waiting for a slot, first come first served; `head` avoids `shift()` on a queue of thousands. */
  private waiting: SlotWaiter[] = [];
  private head = 0;

  constructor(
    readonly flow: string,
    readonly id: string,
    readonly log: MaskingLogger,
    private readonly limit: number,
    private readonly taskHooks: readonly TaskFailureHook[],
    private readonly hookTimeoutMs: number,
  ) {}

  /** Cancels the run: waiting tasks never start, running ones are aborted, the body's signal fires. */
  abort(reason: unknown): void {
    this.end(() => reason);
  }

  /** `abort`, with the reason made only if something needs it. */
  private end(make: () => unknown): void {
    if (this.cancel.aborted) return;
    this.cancel.abortLazily(make);
    if (this.waiting.length === 0) return;
    const waiting = this.waiting.slice(this.head);
    this.waiting = [];
    this.head = 0;
    for (const waiter of waiting) waiter.resume();
  }

  record(name: string): TaskRecord {
    const record = new TaskRecord(this.records.length + 1, name);
    this.records.push(record);
    return record;
  }

  acquire(start: () => void): boolean {
    if (this.active < this.limit) {
      this.active++;
      return true;
    }
    // Resumed on cancellation too: the waiting call sees the run aborted and throws its reason.
    this.waiting.push(new SlotWaiter(start));
    return false;
  }

  release(): void {
    const next = this.waiting[this.head];
    if (!next) {
      this.active--;
      return;
    }
    this.waiting[this.head++] = undefined as never;
    if (this.head === this.waiting.length) {
      this.waiting = [];
      this.head = 0;
    }
    next.resume();
  }

  taskFailed(handle: TaskRecordHandle): void {
    if (this.taskHooks.length === 0) return;
    const taskRun = (handle as TaskRecord).snapshot();
    const report = this.report("running", {}, true);
    this.pendingHooks.push(this.callHooks("onTaskFailure", this.taskHooks, (hook) => hook(report, taskRun)));
  }

  /**
   * The run's report. With `lazyTasks` (a report for an `onTaskFailure` hook), `tasks` is built on first read: a
   * run of 10,000 tasks with failures would otherwise copy them all for every hook. The final report builds them
   * at once: an accessor made per run keeps the run's objects alive through young-generation collections.
   */
  report(
    state: RunState,
    extra: { error?: ReportedError; result?: unknown } = {},
    lazyTasks = false,
  ): RunReport {
    const records = this.records;
    const report: { -readonly [K in keyof RunReport]: RunReport[K] } = {
      flow: this.flow,
      runId: this.id,
      state,
      start: isoTime(this.startedAt),
      durationMs: Date.now() - this.startedAt,
    } as RunReport;
    // Set one by one (not spread), in the order the report is printed.
    if ("error" in extra) report.error = extra.error;
    if ("result" in extra) report.result = extra.result;
    report.tasks = NO_TASKS;
    report.hookErrors = this.hookErrors;
    if (records.length > 0 && !lazyTasks) {
      report.tasks = Object.freeze(records.map((r) => r.snapshot()));
    } else if (records.length > 0) {
      let tasks: readonly TaskRun[] | undefined;
      Object.defineProperty(report, "tasks", {
        get: () => {
          tasks ??= Object.freeze(records.map((r) => r.snapshot()));
          return tasks;
        },
        enumerable: true,
        configurable: true,
      });
    }
    return report;
  }

  /** Calls hooks one after another, each bounded by the hook timeout, recording what they throw. */
  async callHooks<H>(
    kind: string,
    hooks: readonly H[],
    call: (hook: H) => void | Promise<void>,
  ): Promise<void> {
    for (const [index, hook] of hooks.entries()) {
      const scope = new HookScope(this.id, this.log);
      let timer: ReturnType<typeof setTimeout> | undefined;
      try {
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(() => {
            const error = new Error(`Hook ${kind}[${index}] did not finish within ${this.hookTimeoutMs} ms.`);
            error.name = "HookTimeoutError";
            scope.cancel.abort(error);
            reject(error);
          }, this.hookTimeoutMs);
        });
        await Promise.race([frames.run({ run: scope, task: undefined }, async () => call(hook)), timeout]);
      } catch (error) {
        const reported = toReportedError(error);
        this.hookErrors.push({ hook: `${kind}[${index}]`, error: reported });
        this.log.error(`Hook ${kind}[${index}] failed`, { error: reported });
      } finally {
        clearTimeout(timer);
      }
    }
  }

  /** Ends the run's tasks: those the body did not await are cancelled, in the report and through their signal. */
  finish(): void {
    let reason: RunCancelledError | undefined;
    // Made only when a task is left running or someone reads it, and without a stack: its frames would only say
    // "finish".
    const make = () => {
      if (reason) return reason;
      const limit = Error.stackTraceLimit;
      Error.stackTraceLimit = 0;
      try {
        reason = new RunCancelledError("The flow run ended before this task finished.");
      } finally {
        Error.stackTraceLimit = limit;
      }
      return reason;
    };
    for (const record of this.records) {
      if (!record.live) continue;
      // The body dropped this call; its rejection with `reason` is ours, not a crash for the process.
      record.promise?.catch(() => {});
      record.failed(make(), true);
    }
    this.end(make);
  }
}

/**
 * Makes a flow: a function of tasks that runs with a set of secrets, a concurrency limit, hooks and a logger,
 * and reports each run. Annotate the body's context (`FlowContext<{ day: string }>`) to type `params`.
 * @example
 * const nightly = flow(
 *   { name: "nightly", secrets: ["AWS_CREDENTIALS"], concurrency: 8, onFailure: [notify] },
 *   async ({ params, log }: FlowContext<{ day: string }>) => {
 *     const rows = await extract(params.day);
 *     log.info("extracted", { rows: rows.length });
 *     await Promise.all(rows.map((row) => load(row)));
 *   },
 * );
 * const report = await nightly.run({ params: { day: "2026-11-26" }, secrets: { SLACK_WEBHOOK_URL: url } });
 */
export function flow<P = unknown, R = unknown>(
  options: FlowOptions,
  body: (context: FlowContext<P>) => R | PromiseLike<R>,
): Flow<P, R> {
  checkFlowOptions(options);
  if (typeof body !== "function") throw new ValidationError("fn", "flow() needs the function to run");
  const settings: Readonly<FlowOptions> = Object.freeze({ ...options });
  const { name } = settings;
  const declared = [...new Set([...(settings.secrets ?? []), ...(settings.storage?.secrets ?? [])])];
  const limit = settings.concurrency ?? Number.POSITIVE_INFINITY;
  const hookTimeoutMs = settings.hookTimeoutMs ?? 30_000;
  const successHooks = list(settings.onSuccess);
  const failureHooks = list(settings.onFailure);
  const taskHooks = list(settings.onTaskFailure);

  let flowLogger: MaskingLogger | undefined;

  // Not async, nor its parts: every promise a run makes costs it (and, on Node 20, every promise of the process
  // while any async context is in use). A run with nothing to wait for before its body makes four.
  function run(runOptions: RunOptions<P> = {}): Promise<RunReport> {
    try {
      return start(runOptions);
    } catch (error) {
      // As from an async function: bad options reject, they do not throw.
      return Promise.reject(error);
    }
  }

  function start(runOptions: RunOptions<P>): Promise<RunReport> {
    if (runOptions.leastPrivilege !== undefined && typeof runOptions.leastPrivilege !== "boolean") {
      throw new ValidationError("leastPrivilege", "the run's default must be true or false");
    }
    const runId = runOptions.runId ?? randomUUID();
    // Runs that set no logger of their own share the flow's settings; each binds its own fields.
    if (!runOptions.logger) flowLogger ??= createMaskingLogger({ ...settings.logger }, "info");
    const base = runOptions.logger
      ? createMaskingLogger({ ...settings.logger, ...runOptions.logger }, "info")
      : (flowLogger as MaskingLogger);
    const log = base.child({ flow: name, runId });
    const active = new ActiveRun(name, runId, log, limit, taskHooks, hookTimeoutMs);
    active.leastPrivilege = settings.leastPrivilege ?? runOptions.leastPrivilege;
    const external = runOptions.signal;
    let cancelledByCaller = false;
    const onExternalAbort = () => {
      cancelledByCaller = true;
      const reason = external?.reason;
      const detail =
        reason instanceof Error ? `: ${reason.message}` : typeof reason === "string" ? `: ${reason}` : "";
      active.abort(new RunCancelledError(`The flow run was cancelled${detail}.`));
    };
    if (external?.aborted) onExternalAbort();
    // Not `{ once: true }`: `complete` removes it, and a second call would find the run already aborted.
    else external?.addEventListener("abort", onExternalAbort);

    const cancel = active.cancel;
    /** The body, from its start to its outcome (or the run's cancellation, whichever comes first). */
    const runBody = (): Promise<Outcome> => {
      const context = new BodyContext<P>(runOptions.params as P, log, runId, cancel);
      return cancel.outcomeOf(callBody(body, context));
    };
    /** What comes before the body when the flow declares secrets or identities to log. */
    const prepare = async (): Promise<void> => {
      if (declared.length > 0) {
        const loaded = Promise.allSettled(declared.map((secret) => resolveSecret(secret)));
        const failed = (await cancel.unlessAborted(loaded)).find((r) => r.status === "rejected");
        if (failed) throw failed.reason;
        if (cancel.aborted) throw cancel.reason;
      }
      for (const secret of settings.logIdentity ?? []) {
        const who = await cancel.unlessAborted(describeIdentity(secret));
        log.info(
          `${secret} is ${who.principal}${who.account ? ` (${who.account})` : ""} for ${who.service}, from ${describeSource(who.source)}`,
        );
      }
    };
    const execute = (): Promise<Outcome> =>
      frames.run({ run: active, task: undefined }, (): Promise<Outcome> => {
        try {
          if (cancel.aborted) throw cancel.reason;
          if (log.enabled("info")) {
            log.info(
              `Flow run ${name} started`,
              settings.storage ? { storage: settings.storage.describe() } : {},
            );
          }
          if (declared.length === 0 && !settings.logIdentity?.length) return runBody();
          return prepare().then(runBody, (error: unknown): Outcome => ({ ok: false, error }));
        } catch (error) {
          return Promise.resolve({ ok: false, error });
        }
      });

    // Not async: a run with no hooks to wait for ends without one more promise.
    const complete = (outcome: Outcome): RunReport | Promise<RunReport> => {
      external?.removeEventListener("abort", onExternalAbort);
      let state: RunState;
      let extra: { error?: ReportedError; result?: unknown };
      if (cancelledByCaller) {
        state = "cancelled";
        extra = { error: toReportedError(active.cancel.reason) };
      } else if (!outcome.ok) {
        state = "failed";
        extra = { error: toReportedError(outcome.error) };
      } else {
        state = "completed";
        extra = outcome.result === undefined ? {} : { result: maskValue(outcome.result) };
      }
      active.finish();
      const report = active.report(state, extra);
      if (state === "completed") {
        if (log.enabled("info")) log.info(`Flow run ${name} completed`, { durationMs: report.durationMs });
      } else {
        const original = cancelledByCaller ? active.cancel.reason : outcome.ok ? undefined : outcome.error;
        const field = errorField(original, `flow run ${name}, run ${runId}`);
        log.error(`Flow run ${name} ${state}`, {
          durationMs: report.durationMs,
          error: field === original ? extra.error : field,
        });
      }
      const hooks = state === "completed" ? successHooks : failureHooks;
      if (active.pendingHooks.length === 0 && hooks.length === 0) return report;
      return (async () => {
        if (active.pendingHooks.length > 0) await Promise.all(active.pendingHooks);
        if (hooks.length > 0) {
          await active.callHooks(state === "completed" ? "onSuccess" : "onFailure", hooks, (hook) =>
            hook(report),
          );
        }
        return report;
      })();
    };

    try {
      // Hooks run in the run's secret scope too, so a notifier finds the run's webhook URL.
      return withSecrets(runOptions.secrets ?? {}, () => execute().then(complete), {
        declare: declared,
        backends: runOptions.backends,
        onResolve: logProvenance,
        runId,
      });
    } catch (error) {
      // withSecrets refused the run's values (a bad secret name) before anything ran.
      return Promise.resolve(complete({ ok: false, error }));
    }
  }

  return Object.freeze({ name, options: settings, body, run });
}
