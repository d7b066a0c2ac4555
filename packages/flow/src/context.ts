import { AsyncLocalStorage } from "node:async_hooks";
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

/** @internal The scope a task call finds itself in: a flow run, or a hook of one. */
export interface RunScope {
  readonly id: string;
  /** Aborted on cancellation (and when the run ends, for tasks it did not await). */
  readonly signal: AbortSignal;
  readonly log: MaskingLogger;
  /** Starts a record of a task run; `undefined` when calls in this scope are not recorded (hooks). */
  record(name: string): TaskRecordHandle | undefined;
  /** Takes a concurrency slot; `undefined` when one was free at once. Rejects when the run is cancelled. */
  acquire(): Promise<void> | undefined;
  release(): void;
  /** Called once a recorded task has failed for good. */
  taskFailed(handle: TaskRecordHandle): void;
}

/** @internal */
export interface Frame {
  readonly run: RunScope | undefined;
  readonly task: TaskContext | undefined;
}

const KEY = Symbol.for("tributary.flow.context");
const scope = globalThis as Record<symbol, unknown>;
if (!(KEY in scope)) scope[KEY] = new AsyncLocalStorage<Frame>();
/** @internal One store per process, even with two copies of the package loaded. */
export const frames = scope[KEY] as AsyncLocalStorage<Frame>;

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
