import {
  describeProvenance,
  type SecretSource,
  TributaryError,
  ValidationError,
  withSecrets,
} from "@tributary/auth";
import {
  type Abortable,
  AbortFanout,
  type ActiveTask,
  type Frame,
  frames,
  type RunScope,
  type TaskRecordHandle,
} from "./context.js";
import { RunCancelledError, TaskTimeoutError } from "./errors.js";
import { errorField } from "./logged-errors.js";
import { createMaskingLogger, type MaskingLogger } from "./logger.js";

/** The options of `task()`. */
export interface TaskOptions {
  /** The task's name, shown in run reports and log lines. Required. */
  name: string;
  /** How many times a failed attempt is retried (default 0: one attempt). */
  retries?: number;
  /**
   * The base delay before a retry, in milliseconds (default 1000). Retry `n` (from 1) waits a random time between
   * half and all of `retryDelayMs * 2 ** (n - 1)`, capped at `maxRetryDelayMs`.
   */
  retryDelayMs?: number;
  /** The longest wait between two attempts, in milliseconds (default 60000). */
  maxRetryDelayMs?: number;
  /**
   * Decides whether an error is retried, replacing the default rule (`isRetryable`: every error except Tributary
   * errors that say `retryable: false`, such as a rejected credential or bad input). Cancellation is never retried.
   */
  retryOn?: (error: unknown) => boolean;
  /** The longest an attempt may take, in milliseconds. On timeout the attempt's `signal` is aborted and it fails with `TaskTimeoutError`. */
  timeoutMs?: number;
  /**
   * The only secret names this task may read (least privilege). Asking `resolveSecret` for any other name throws
   * `SecretNotAllowedError`. When absent the task may read any name its caller may.
   */
  secrets?: readonly string[];
  /** Least privilege for the integration tasks this task calls (inherited by nested calls; see `FlowOptions`). */
  leastPrivilege?: boolean;
}

/** A function made by `task()`: call it like the function it wraps. */
export type Task<A extends unknown[], R> = ((...args: A) => Promise<R>) & {
  /** The task's name. */
  readonly taskName: string;
  /** The options it was made with. */
  readonly options: Readonly<TaskOptions>;
};

/**
 * The default retry rule: cancellation is never retried, nor a Tributary error that says `retryable: false`
 * (a rejected credential, a validation error); every other error is.
 */
export function isRetryable(error: unknown): boolean {
  if (RunCancelledError.isInstance(error)) return false;
  return TributaryError.isInstance(error) ? error.retryable : true;
}

/** @internal The wait before retry `retry` (from 1), with `random()` in [0, 1). */
export function backoffDelay(
  retry: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const full = Math.min(maxMs, baseMs * 2 ** (retry - 1));
  return Math.round(full / 2 + (full / 2) * random());
}

function checkCount(option: string, value: number | undefined, allowZero: boolean): void {
  if (value === undefined) return;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new ValidationError(
      option,
      `must be a ${allowZero ? "non-negative" : "positive"} finite number of milliseconds`,
    );
  }
}

function checkOptions(options: TaskOptions): void {
  if (!options || typeof options.name !== "string" || options.name.trim() === "") {
    throw new ValidationError("name", "a task needs a non-empty `name`");
  }
  const { retries } = options;
  if (retries !== undefined && (!Number.isInteger(retries) || retries < 0)) {
    throw new ValidationError("retries", "must be a non-negative integer");
  }
  checkCount("retryDelayMs", options.retryDelayMs, true);
  checkCount("maxRetryDelayMs", options.maxRetryDelayMs, true);
  checkCount("timeoutMs", options.timeoutMs, false);
  if (options.leastPrivilege !== undefined && typeof options.leastPrivilege !== "boolean") {
    throw new ValidationError("leastPrivilege", "must be true or false");
  }
  if (options.retryOn !== undefined && typeof options.retryOn !== "function") {
    throw new ValidationError("retryOn", "must be a function of the error returning a boolean");
  }
  if (options.secrets !== undefined) {
    if (!Array.isArray(options.secrets) || options.secrets.some((s) => typeof s !== "string" || s === "")) {
      throw new ValidationError("secrets", "must be an array of secret names");
    }
  }
}

let processLogger: MaskingLogger | undefined;
function defaultLogger(): MaskingLogger {
  processLogger ??= createMaskingLogger({}, "warn");
  return processLogger;
}

/**
 * @internal The one place credential provenance is logged: through the logger of the task in progress, else of
 * the run (declared secrets at run start, hooks), else the process default.
 */
export function logProvenance(secretName: string, source: SecretSource): void {
  const frame = frames.getStore();
  const log = frame?.task?.log ?? frame?.run?.log ?? defaultLogger();
  log.info(describeProvenance(secretName, source));
}

/**
 * One attempt of a task call: its cancellation fan-out, its `taskContext()`, and the frame its body runs in (one
 * object for the three: a task call in a busy flow allocates as little as it can).
 */
class AttemptContext extends AbortFanout implements ActiveTask, Frame {
  private logger: MaskingLogger | undefined;
  /** Called once with the attempt's outcome: what the body gave, or why it failed, timed out or was aborted. */
  private done: ((ok: boolean, value: unknown) => void) | undefined;
  /** The timeout's timer, when the task has a timeout. */
  timer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    readonly name: string,
    readonly attempt: number,
    readonly run: RunScope | undefined,
    readonly leastPrivilege: boolean | undefined,
    private readonly parent: AbortFanout | undefined,
    done: (ok: boolean, value: unknown) => void,
  ) {
    super();
    this.done = done;
  }

  /** As a frame: the task in progress is this attempt. */
  get task(): ActiveTask {
    return this;
  }

  /** The attempt is its own fan-out: nested calls and retry waits attach to it. */
  get cancel(): AbortFanout {
    return this;
  }

  get runId(): string | undefined {
    return this.run?.id;
  }

  get log(): MaskingLogger {
    this.logger ??= (this.run?.log ?? defaultLogger()).child({ task: this.name, attempt: this.attempt });
    return this.logger;
  }

  /** Ends the attempt with its outcome, once: later outcomes (a body finishing after a timeout) are ignored. */
  settle(ok: boolean, value: unknown): void {
    const done = this.done;
    if (!done) return;
    this.done = undefined;
    if (this.timer) clearTimeout(this.timer);
    this.parent?.detach(this);
    done(ok, value);
  }

  override abort(reason: unknown): void {
    if (this.aborted) return;
    super.abort(reason);
    this.settle(false, reason);
  }
}

function sleep(ms: number, parent: AbortFanout | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (parent?.aborted) return reject(parent.reason);
    const waiter: Abortable = {
      abort(reason) {
        clearTimeout(timer);
        reject(reason);
      },
    };
    const timer = setTimeout(() => {
      parent?.detach(waiter);
      resolve();
    }, ms);
    parent?.attach(waiter);
  });
}

/**
 * Makes a task: an async function with the same parameters as `fn` that adds retries, a timeout, least-privilege
 * secrets and a logger. Called inside a flow run it is recorded in the run's report and counts against the run's
 * concurrency; called anywhere else it simply runs, with its retries and timeout. Inside `fn`, `taskContext()`
 * gives the attempt's `signal` (pass it to SDK calls) and `log`.
 * @example
 * const extract = task({ name: "extract", retries: 2, retryDelayMs: 500, timeoutMs: 30_000 }, async (day: string) => {
 *   const { signal } = taskContext()!;
 *   const response = await fetch(`https://example.com/rows?day=${day}`, { signal });
 *   return (await response.json()) as Row[];
 * });
 * const rows = await extract("2026-11-26");
 */
export function task<A extends unknown[], R>(
  options: TaskOptions,
  fn: (...args: A) => R | PromiseLike<R>,
): Task<A, Awaited<R>> {
  checkOptions(options);
  if (typeof fn !== "function") throw new ValidationError("fn", "task() needs the function to run");
  const settings = Object.freeze({
    ...options,
    secrets: options.secrets ? Object.freeze([...options.secrets]) : undefined,
  });
  const { name, retries = 0, retryDelayMs = 1000, maxRetryDelayMs = 60_000, timeoutMs, retryOn } = settings;
  const allow = settings.secrets;
  const shouldRetry = retryOn ?? isRetryable;

  /** Runs `fn` with `args`: what it throws at once becomes a rejection. */
  const invoke = (args: A): Promise<Awaited<R>> => {
    // Not an async function: that would wrap `fn`'s own promise in a second one, resolved a tick later.
    try {
      const result = fn(...args);
      return (result instanceof Promise ? result : Promise.resolve(result)) as Promise<Awaited<R>>;
    } catch (error) {
      return Promise.reject(error);
    }
  };

  /**
   * Starts one attempt; `done` is called once with its outcome: what `fn` gave, or why it failed, timed out or was
   * aborted through `parent`. Callbacks, not a promise: each promise costs a busy flow its async-context hooks.
   */
  function startAttempt(
    scope: RunScope | undefined,
    parent: AbortFanout | undefined,
    attempt: number,
    args: A,
    done: (ok: boolean, value: unknown) => void,
  ): void {
    const context = new AttemptContext(
      name,
      attempt,
      scope,
      settings.leastPrivilege ?? frames.getStore()?.task?.leastPrivilege ?? scope?.leastPrivilege,
      parent,
      done,
    );
    parent?.attach(context);
    if (context.aborted) return;
    if (timeoutMs !== undefined) {
      context.timer = setTimeout(() => context.abort(new TaskTimeoutError(name, timeoutMs)), timeoutMs);
    }
    let body: Promise<Awaited<R>>;
    try {
      // Inside a run, the run's own secret scope already routes provenance to this task's logger: a second scope
      // is needed only to restrict names, or to have provenance logged at all outside any run.
      body = frames.run(context, () =>
        allow || !scope
          ? withSecrets({}, () => invoke(args), { allow, onResolve: scope ? undefined : logProvenance })
          : invoke(args),
      );
    } catch (error) {
      context.settle(false, error);
      return;
    }
    body.then(
      (value) => context.settle(true, value),
      (error: unknown) => context.settle(false, error),
    );
  }

  /** One attempt as a promise, for the retries. */
  const attemptOnce = (
    scope: RunScope | undefined,
    parent: AbortFanout | undefined,
    attempt: number,
    args: A,
  ) =>
    new Promise<Awaited<R>>((resolve, reject) =>
      startAttempt(scope, parent, attempt, args, (ok, value) =>
        ok ? resolve(value as Awaited<R>) : reject(value),
      ),
    );

  /** Whether a failed attempt ends the call: cancelled, out of retries, or an error not worth retrying. */
  const final = (attempt: number, error: unknown) =>
    attempt > retries || RunCancelledError.isInstance(error) || !shouldRetry(error);

  /** Attempts after the first failed: wait, then try again, until one succeeds or the failure is final. */
  async function retry(
    scope: RunScope | undefined,
    parent: AbortFanout | undefined,
    record: TaskRecordHandle | undefined,
    args: A,
    failed: number,
    error: unknown,
  ): Promise<Awaited<R>> {
    for (let attempt = failed + 1; ; attempt++) {
      const delayMs = backoffDelay(attempt - 1, retryDelayMs, maxRetryDelayMs);
      const log = (scope?.log ?? defaultLogger()).child({ task: name, attempt: attempt - 1 });
      log.warn(`Task ${name} failed (attempt ${attempt - 1} of ${retries + 1}); retrying in ${delayMs} ms`, {
        error,
        delayMs,
      });
      await sleep(delayMs, parent);
      if (parent?.aborted) throw parent.reason;
      record?.attempt(attempt);
      try {
        return await attemptOnce(scope, parent, attempt, args);
      } catch (next) {
        // The run (or the parent task) was aborted: whatever the body threw, that is why it stopped.
        if (parent?.aborted) throw parent.reason;
        if (final(attempt, next)) throw next;
        error = next;
      }
    }
  }

  /**
   * Runs a call to its end and hands the outcome to `resolve` or `reject`, recording it when the call is recorded
   * and giving back its concurrency slot when `holding`. The first attempt runs without a promise of its own.
   */
  function execute(
    frame: Frame | undefined,
    record: TaskRecordHandle | undefined,
    args: A,
    holding: boolean,
    resolve: (value: Awaited<R>) => void,
    reject: (error: unknown) => void,
  ): void {
    const scope = frame?.run;
    const parent = (frame?.task ?? scope)?.cancel;
    const succeed = (value: Awaited<R>) => {
      try {
        if (record) {
          record.completed();
          if (scope?.log.enabled("debug")) scope.log.debug(`Task ${name} completed`, { task: name });
        }
      } finally {
        if (holding) scope?.release();
        resolve(value);
      }
    };
    const fail = (error: unknown) => {
      try {
        const isCancel = RunCancelledError.isInstance(error);
        if (record?.live) {
          record.failed(error, isCancel);
          if (!isCancel && scope) {
            // Logged in full once, by the task where it ends; tasks around it and the flow refer to that line.
            const where = `task ${name}, run ${scope.id}`;
            scope.log.error(`Task ${name} failed`, { task: name, error: errorField(error, where) });
            scope.taskFailed(record);
          }
        }
      } finally {
        if (holding) scope?.release();
        reject(error);
      }
    };
    if (parent?.aborted) {
      fail(parent.reason);
      return;
    }
    record?.started();
    record?.attempt(1);
    startAttempt(scope, parent, 1, args, (ok, value) => {
      if (ok) succeed(value as Awaited<R>);
      // The run (or the parent task) was aborted: whatever the body threw, that is why it stopped.
      else if (parent?.aborted) fail(parent.reason);
      else if (final(1, value)) fail(value);
      else retry(scope, parent, record, args, 1, value).then(succeed, fail);
    });
  }

  const call = (...args: A): Promise<Awaited<R>> => {
    const frame = frames.getStore();
    const scope = frame?.run;
    const record = scope?.record(name);
    const promise = new Promise<Awaited<R>>((resolve, reject) => {
      // Nested task calls run inside their parent's slot: taking a second one could deadlock the run.
      if (!record || !scope || frame?.task || scope.cancel.aborted) {
        execute(frame, record, args, false, resolve, reject);
        return;
      }
      // A waiting call is a queued callback, not a suspended async function: thousands may wait at once. It is
      // resumed in the caller's async context, so the task sees the caller's secrets. A cancelled run resumes its
      // waiting calls without a slot: `execute` then records and throws the cancellation.
      const start = () => execute(frame, record, args, !scope.cancel.aborted, resolve, reject);
      if (scope.acquire(start)) execute(frame, record, args, true, resolve, reject);
    });
    if (record) record.promise = promise;
    return promise;
  };
  Object.defineProperty(call, "name", { value: name });
  return Object.assign(call, { taskName: name, options: settings }) as Task<A, Awaited<R>>;
}
