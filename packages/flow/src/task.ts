import {
  describeSource,
  type SecretSource,
  TributaryError,
  ValidationError,
  withSecrets,
} from "@tributary/auth";
import { type Frame, frames, type RunScope, type TaskContext, type TaskRecordHandle } from "./context.js";
import { RunCancelledError, TaskTimeoutError } from "./errors.js";
import { createMaskingLogger, type Logger, type MaskingLogger } from "./logger.js";

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

class AttemptContext implements TaskContext {
  private logger: MaskingLogger | undefined;
  constructor(
    readonly name: string,
    readonly attempt: number,
    readonly signal: AbortSignal,
    private readonly scope: RunScope | undefined,
  ) {}
  get runId(): string | undefined {
    return this.scope?.id;
  }
  get log(): Logger {
    this.logger ??= (this.scope?.log ?? defaultLogger()).child({ task: this.name, attempt: this.attempt });
    return this.logger;
  }
  /** Logs where each credential came from; the one place provenance is logged. */
  readonly onResolve = (secretName: string, source: SecretSource): void => {
    this.log.info(`${secretName} from ${describeSource(source)}`);
  };
}

function cancelled(signal: AbortSignal | undefined, cause?: unknown): RunCancelledError {
  const reason = signal?.reason;
  if (RunCancelledError.isInstance(reason)) return reason;
  return new RunCancelledError(undefined, { cause: cause ?? reason });
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(cancelled(signal));
    const onAbort = () => {
      clearTimeout(timer);
      reject(cancelled(signal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
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

  async function attemptOnce(frame: Frame | undefined, attempt: number, args: A): Promise<Awaited<R>> {
    const scope = frame?.run;
    const outer = frame?.task?.signal ?? scope?.signal;
    const controller = new AbortController();
    const context = new AttemptContext(name, attempt, controller.signal, scope);
    const onOuterAbort = () => controller.abort(cancelled(outer));
    let timer: ReturnType<typeof setTimeout> | undefined;
    if (outer) {
      if (outer.aborted) throw cancelled(outer);
      outer.addEventListener("abort", onOuterAbort, { once: true });
    }
    try {
      const work = frames.run({ run: scope, task: context }, () =>
        withSecrets({}, async () => fn(...args), { allow, onResolve: context.onResolve }),
      );
      if (!outer && timeoutMs === undefined) return await work;
      const aborted = new Promise<never>((_, reject) => {
        controller.signal.addEventListener("abort", () => reject(controller.signal.reason), { once: true });
      });
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => controller.abort(new TaskTimeoutError(name, timeoutMs)), timeoutMs);
      }
      return await Promise.race([work, aborted]);
    } finally {
      if (timer) clearTimeout(timer);
      outer?.removeEventListener("abort", onOuterAbort);
    }
  }

  async function attempts(frame: Frame | undefined, record: TaskRecordHandle | undefined, args: A) {
    const outer = frame?.task?.signal ?? frame?.run?.signal;
    for (let attempt = 1; ; attempt++) {
      record?.attempt(attempt);
      try {
        return await attemptOnce(frame, attempt, args);
      } catch (error) {
        if (outer?.aborted) throw RunCancelledError.isInstance(error) ? error : cancelled(outer, error);
        if (attempt > retries || RunCancelledError.isInstance(error) || !shouldRetry(error)) throw error;
        const delayMs = backoffDelay(attempt, retryDelayMs, maxRetryDelayMs);
        const log = (frame?.run?.log ?? defaultLogger()).child({ task: name, attempt });
        log.warn(`Task ${name} failed (attempt ${attempt} of ${retries + 1}); retrying in ${delayMs} ms`, {
          error,
          delayMs,
        });
        await sleep(delayMs, outer);
      }
    }
  }

  const call = (...args: A): Promise<Awaited<R>> => {
    const frame = frames.getStore();
    const record = frame?.run?.record(name);
    const promise = execute(frame, record, args);
    if (record) record.promise = promise;
    return promise;
  };

  async function execute(
    frame: Frame | undefined,
    record: TaskRecordHandle | undefined,
    args: A,
  ): Promise<Awaited<R>> {
    const scope = frame?.run;
    // Nested task calls run inside their parent's slot: taking a second one could deadlock the run.
    const slotted = record !== undefined && frame?.task === undefined;
    let holding = false;
    try {
      if (slotted) {
        if (scope?.signal.aborted) throw cancelled(scope.signal);
        const wait = scope?.acquire();
        holding = true;
        if (wait) {
          holding = false;
          await wait;
          holding = true;
        }
      }
      record?.started();
      const result = await attempts(frame, record, args);
      record?.completed();
      if (record) scope?.log.debug(`Task ${name} completed`, { task: name });
      return result;
    } catch (error) {
      const isCancel = RunCancelledError.isInstance(error);
      if (record?.live) {
        record.failed(error, isCancel);
        if (!isCancel) {
          scope?.log.error(`Task ${name} failed`, { task: name, error });
          scope?.taskFailed(record);
        }
      }
      throw error;
    } finally {
      if (holding) scope?.release();
    }
  }
  Object.defineProperty(call, "name", { value: name });
  return Object.assign(call, { taskName: name, options: settings }) as Task<A, Awaited<R>>;
}
