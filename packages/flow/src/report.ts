import { mask, maskValue, TributaryError } from "@tributary/auth";

/** An error as a report shows it: masked, with no stack, cause or other properties. */
export interface ReportedError {
  /** The error's class name, such as `TaskTimeoutError`; `NonErrorThrown` when a non-Error was thrown. */
  readonly name: string;
  /** The error's `code`, when it has a string one (Tributary errors always do). */
  readonly code?: string;
  /** The message with every registered secret value replaced by `[redacted]`. */
  readonly message: string;
  /** Whether a retry may help, for Tributary errors. */
  readonly retryable?: boolean;
}

/** The state of one task run. */
export type TaskRunState = "pending" | "running" | "completed" | "failed" | "cancelled";

/** The state of a flow run; `"running"` is seen only by `onTaskFailure` hooks. */
export type RunState = "running" | "completed" | "failed" | "cancelled";

/** One call of a task inside a flow run. */
export interface TaskRun {
  /** The call's number in its run, from 1, in the order the calls were made. */
  readonly id: number;
  /** The task's name. */
  readonly name: string;
  /** `pending` while it waits for a concurrency slot, then `running`, then how it ended. */
  readonly state: TaskRunState;
  /** How many attempts were started (0 when it never started). */
  readonly attempts: number;
  /** When its first attempt started, ISO 8601; absent when it never started. */
  readonly start?: string;
  /** From its first attempt's start to its end, in milliseconds; absent while running or when it never started. */
  readonly durationMs?: number;
  /** Why it failed or was cancelled, masked. */
  readonly error?: ReportedError;
}

/** A hook that threw or timed out. It never replaces the run's own error. */
export interface HookError {
  /** Which hook: `onFailure[0]`, `onTaskFailure[1]` … */
  readonly hook: string;
  /** What it threw, masked. */
  readonly error: ReportedError;
}

/** What `flow.run()` resolves to: the whole story of one run, with no secret value in it. */
export interface RunReport {
  /** The flow's name. */
  readonly flow: string;
  /** The run's id. */
  readonly runId: string;
  /** How the run ended. */
  readonly state: RunState;
  /** When the run started, ISO 8601. */
  readonly start: string;
  /** How long the run took, hooks excluded, in milliseconds (so far, for `onTaskFailure` hooks). */
  readonly durationMs: number;
  /** Why the run failed or was cancelled, masked. */
  readonly error?: ReportedError;
  /** What the flow body returned, masked with `maskValue` (so plain data: class instances become their JSON). */
  readonly result?: unknown;
  /** Every task call of the run, in call order. */
  readonly tasks: readonly TaskRun[];
  /** Hooks that threw or timed out. */
  readonly hookErrors: readonly HookError[];
}

const MAX_DETAIL = 200;

function describeNonError(value: unknown): string {
  if (value === undefined || value === null || typeof value !== "object") return String(value);
  try {
    return JSON.stringify(maskValue(value)) ?? Object.prototype.toString.call(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/** @internal Turns anything thrown into a masked `ReportedError`. */
export function toReportedError(error: unknown): ReportedError {
  if (error instanceof Error || TributaryError.isInstance(error)) {
    const e = error as Error & { code?: unknown };
    const out: { name: string; code?: string; message: string; retryable?: boolean } = {
      name: mask(String(e.name)),
      message: mask(String(e.message)),
    };
    if (typeof e.code === "string") out.code = mask(e.code);
    if (TributaryError.isInstance(error)) out.retryable = error.retryable;
    return out;
  }
  // Mask before cutting: a cut through a secret would leave a prefix the masker no longer recognises.
  let detail = mask(describeNonError(error));
  if (detail.length > MAX_DETAIL) detail = `${detail.slice(0, MAX_DETAIL)}…`;
  return { name: "NonErrorThrown", message: `A non-Error value was thrown: ${detail}` };
}
