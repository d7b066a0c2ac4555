import { TributaryError } from "@tributary/auth";

/** Thrown when a task attempt runs past its `timeoutMs`. Its signal is aborted with this error; a retry may help. */
export class TaskTimeoutError extends TributaryError {
  static override readonly errorName: string = "TaskTimeoutError";
  constructor(
    /** The task's name. */
    readonly taskName: string,
    /** The timeout that was passed. */
    readonly timeoutMs: number,
  ) {
    super(
      "TASK_TIMEOUT",
      `Task ${taskName} did not finish within ${timeoutMs} ms; its signal was aborted. Raise \`timeoutMs\` if it needs longer.`,
      { retryable: true },
    );
  }
}

/** Thrown into tasks (and reported) when their flow run is cancelled through the run's `signal`. Never retried. */
export class RunCancelledError extends TributaryError {
  static override readonly errorName: string = "RunCancelledError";
  constructor(message = "The flow run was cancelled.", options: { cause?: unknown } = {}) {
    super("RUN_CANCELLED", message, { cause: options.cause, retryable: false });
  }
}
