import { AsyncLocalStorage } from "node:async_hooks";
import { setMaxListeners } from "node:events";
import { processSingleton } from "@tributary/auth";
import type { Logger, MaskingLogger } from "./logger.js";

/** What a task body can know about its own call: available through `taskContext()`. */
export interface TaskContext {
  /** The task's name. */
  readonly name: string;
  /** The attempt in progress, from 1. */
  readonly attempt: number;
  /** Aborted when the attempt times out or the run is cancelled: pass it to SDK calls. */
  readonly signal: AbortSignal;
  /** The task's logger (the run's logger inside a flow, the process default outside), masking secrets. */
  readonly log: Logger;
  /** The flow run's id, when the task runs inside a flow. */
  readonly runId?: string;
  /**
   * Whether integration tasks called from here narrow their credentials to what each call touches: the task's
   * own `leastPrivilege`, else its caller's, else the flow's. An integration task's own option wins over it.
   */
  readonly leastPrivilege?: boolean | undefined;
}

/** @internal A task run record, mutated by the task while it is live. */
export interface TaskRecordHandle {
  readonly live: boolean;
  /** The call's promise, so a run that ends before it can keep its cancellation from going unhandled. */
  promise?: Promise<unknown>;
  started(): void;
  attempt(n: number): void;
  completed(): void;
  failed(error: unknown, cancelled: boolean): void;
}

/** @internal Something a cancellation reaches: an attempt, or a retry's wait. */
export interface Abortable {
  abort(reason: unknown): void;
}

/**
 * @internal Passes one abort to everything attached. Runs, hooks and attempts use it instead of an
 * `AbortSignal` listener per task: signals are costly to create and to collect by the ten thousand, so the
 * fan-out makes its `signal` only when someone reads it.
 */
export class AbortFanout implements Abortable {
  aborted = false;
  private given: unknown;
  /** A reason not made yet: see `abortLazily`. */
  private makeReason: (() => unknown) | undefined;
  /** What is attached: most fan-outs have at most one at a time (a run's body, a task's attempt), kept without a set. */
  private first: Abortable | undefined;
  private children: Set<Abortable> | undefined;
  private controller: AbortController | undefined;

  /** Why it was aborted. */
  get reason(): unknown {
    if (this.makeReason) {
      this.given = this.makeReason();
      this.makeReason = undefined;
    }
    return this.given;
  }

  /**
   * Aborts with a reason made only when someone needs it: now if anything is attached or the signal was read, else
   * at the first read of `reason` (a run that ends with nothing left running makes no error object).
   */
  abortLazily(make: () => unknown): void {
    if (this.aborted) return;
    if (this.first || (this.children && this.children.size > 0) || this.controller) {
      this.abort(make());
      return;
    }
    this.aborted = true;
    this.makeReason = make;
  }

  /** An `AbortSignal` that fires with this fan-out, made on first read (already aborted if the fan-out is). */
  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      // A run's or an attempt's signal goes to every SDK call the body makes: no listener-count warning.
      setMaxListeners(0, this.controller.signal);
      if (this.aborted) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  attach(child: Abortable): void {
    if (this.aborted) child.abort(this.reason);
    else if (!this.first && !this.children) this.first = child;
    else {
      this.children ??= new Set();
      this.children.add(child);
    }
  }

  detach(child: Abortable): void {
    if (this.first === child) this.first = undefined;
    else this.children?.delete(child);
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.given = reason;
    const first = this.first;
    const children = this.children;
    this.first = undefined;
    this.children = undefined;
    first?.abort(reason);
    if (children) for (const child of children) child.abort(reason);
    this.controller?.abort(reason);
  }

  /**
   * How `work` ends, as an outcome that never rejects: its value, its error, or the fan-out's reason as soon as it
   * aborts (now, if it already did). `unlessAborted` with the outcome built in: one promise fewer.
   */
  outcomeOf<T>(work: PromiseLike<T>): Promise<{ ok: true; result: T } | { ok: false; error: unknown }> {
    return new Promise((resolve) => {
      const stop: Abortable = { abort: (error) => resolve({ ok: false, error }) };
      this.attach(stop);
      work.then(
        (result) => {
          this.detach(stop);
          resolve({ ok: true, result });
        },
        (error: unknown) => {
          this.detach(stop);
          resolve({ ok: false, error });
        },
      );
    });
  }

  /**
   * `work`, or a rejection with the fan-out's reason as soon as it aborts (now, if it already did); `work` is then
   * left to finish on its own, its outcome ignored. One promise, where a race with a "cancelled" promise takes three.
   */
  unlessAborted<T>(work: PromiseLike<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const stop: Abortable = { abort: reject };
      this.attach(stop);
      work.then(
        (value) => {
          this.detach(stop);
          resolve(value);
        },
        (error: unknown) => {
          this.detach(stop);
          reject(error);
        },
      );
    });
  }
}

/** @internal The scope a task call finds itself in: a flow run, or a hook of one. */
export interface RunScope {
  readonly id: string;
  /** The flow's `leastPrivilege` default. */
  readonly leastPrivilege?: boolean | undefined;
  /** Aborts on cancellation (and when the run ends, for tasks it did not await). */
  readonly cancel: AbortFanout;
  readonly log: MaskingLogger;
  /** Starts a record of a task run; `undefined` when calls in this scope are not recorded (hooks). */
  record(name: string): TaskRecordHandle | undefined;
  /**
   * Takes a concurrency slot: `true` when one was free, and the caller goes on at once. Else `start` is queued, and
   * called in the caller's async context when a slot is handed to it, or without one when the run is cancelled.
   */
  acquire(start: () => void): boolean;
  release(): void;
  /** Called once a recorded task has failed for good. */
  taskFailed(handle: TaskRecordHandle): void;
}

/** @internal The task in progress, as its nested task calls see it. */
export interface ActiveTask extends TaskContext {
  readonly cancel: AbortFanout;
  readonly log: MaskingLogger;
}

/** @internal */
export interface Frame {
  readonly run: RunScope | undefined;
  readonly task: ActiveTask | undefined;
}

/** @internal One store per process, even with two copies of the package loaded. */
export const frames = processSingleton("flow.context", () => new AsyncLocalStorage<Frame>());

/**
 * The context of the task being run: its name, attempt, abort signal, logger and run id. Defined inside every
 * task body (in a flow or not), `undefined` elsewhere.
 * @example
 * const upload = task({ name: "upload", timeoutMs: 10_000 }, async (key: string) => {
 *   const { signal, log } = taskContext()!;
 *   log.info("uploading", { key });
 *   await client.send(command, { abortSignal: signal });
 * });
 */
export function taskContext(): TaskContext | undefined {
  return frames.getStore()?.task;
}

const said = new Set<string>();

/**
 * Logs `message` at `info` once per run for `key` (through the task's logger inside a task, the console outside
 * one): what an integration says about a credential, such as where it came from or that it cannot be scoped,
 * without repeating it for every call. A function `message` is built only when the line is written.
 * @example
 * logOncePerRun(`unscoped:${name}`, `leastPrivilege: ${name} cannot be scoped; the task runs with it whole`);
 */
export function logOncePerRun(key: string, message: string | (() => string)): void {
  const context = taskContext();
  const id = `${context?.runId ?? "no-run"}:${key}`;
  if (said.has(id)) return;
  if (said.size > 1000) said.clear();
  said.add(id);
  const text = typeof message === "string" ? message : message();
  if (context) context.log.info(text);
  else console.info(text);
}
