import { setTimeout as sleep } from "node:timers/promises";
import type { DescribeExecutionCommandOutput } from "@aws-sdk/client-sfn";
import { mask, ServiceError, ValidationError } from "@tributary/auth";
import { task, taskContext } from "@tributary/flow";
import { isAbort, toAwsError } from "./aws-errors.js";
import {
  checkExecutionArn,
  checkStateMachineArn,
  type SfnConnectionOptions,
  sfnConnection,
} from "./sfn-client.js";

/** Step Functions' limit on an execution's input: 256 KB. */
export const SFN_INPUT_LIMIT = 256 * 1024;

/** The options of `sfnStartExecution`. */
export interface SfnStartExecutionOptions extends SfnConnectionOptions {
  /** The state machine's ARN. */
  stateMachineArn: string;
  /** The input: any JSON value (sent as JSON). Default `{}`. */
  input?: unknown;
  /**
   * The execution's name (1 to 80 letters, digits, `-` and `_`). With a name a start is idempotent: starting the same
   * name with the same input again returns the same execution, as the API does. Default: a name AWS makes.
   */
  name?: string;
  /** Wait for the execution to end, polling `DescribeExecution` with backoff. Default false. */
  wait?: boolean;
  /** The first wait between polls (it grows by half each time, up to 10 times this). Default 1000 ms. */
  pollIntervalMs?: number;
}

/** An execution's state: what `sfnStartExecution` and `sfnDescribeExecution` return. */
export interface SfnExecution {
  /** The execution's ARN. */
  executionArn: string;
  /** `RUNNING`, `SUCCEEDED`, `FAILED`, `TIMED_OUT`, `ABORTED` or `PENDING_REDRIVE`. */
  status: string;
  /** The output, parsed when it is JSON (once it succeeded). */
  output: unknown;
  /** The error name of a failed execution. */
  error?: string | undefined;
  /** The cause of a failed execution, masked. */
  cause?: string | undefined;
  /** When it started. */
  startDate?: Date | undefined;
  /** When it ended. */
  stopDate?: Date | undefined;
}

/** The options of `sfnDescribeExecution`. */
export interface SfnDescribeExecutionOptions extends SfnConnectionOptions {
  /** The execution's ARN. */
  executionArn: string;
}

function parsed(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function toExecution(arn: string, out: DescribeExecutionCommandOutput): SfnExecution {
  return {
    executionArn: out.executionArn ?? arn,
    status: out.status ?? "RUNNING",
    output: parsed(out.output),
    error: out.error,
    cause: out.cause === undefined ? undefined : mask(out.cause),
    startDate: out.startDate,
    stopDate: out.stopDate,
  };
}

const ENDED_BADLY = new Set(["FAILED", "TIMED_OUT", "ABORTED"]);

/**
 * Starts a Step Functions execution; with `wait: true`, polls until it ends (backoff from `pollIntervalMs`) and
 * resolves with its parsed output. A `FAILED`, `TIMED_OUT` or `ABORTED` execution is a `ServiceError` with code
 * `EXECUTION_FAILED`, AWS's `error` as `reason` and its `cause` (masked) in the message. Cancelling the task while it
 * waits stops the execution (`StopExecution`). With `leastPrivilege` and a role, the credentials allow only
 * `states:StartExecution` on this state machine and `states:DescribeExecution`/`StopExecution` on its executions.
 * @example
 * const { output } = await sfnStartExecution({ stateMachineArn, input: { day: "2026-12-07" }, wait: true });
 */
export const sfnStartExecution = task(
  { name: "sfnStartExecution" },
  async (options: SfnStartExecutionOptions): Promise<SfnExecution> => {
    const machine = checkStateMachineArn(options?.stateMachineArn);
    if (
      options.name !== undefined &&
      (typeof options.name !== "string" || !/^[A-Za-z0-9_-]{1,80}$/.test(options.name))
    ) {
      throw new ValidationError("name", "must be 1 to 80 letters, digits, hyphens and underscores");
    }
    const pollIntervalMs = options.pollIntervalMs ?? 1000;
    if (!Number.isFinite(pollIntervalMs) || pollIntervalMs < 0) {
      throw new ValidationError("pollIntervalMs", "must be a number of milliseconds, 0 or more");
    }
    let input: string;
    try {
      input = JSON.stringify(options.input ?? {});
    } catch (error) {
      throw new ValidationError("input", `cannot be sent as JSON (${(error as Error).message})`);
    }
    if (input === undefined) throw new ValidationError("input", "must be a JSON value");
    if (Buffer.byteLength(input) > SFN_INPUT_LIMIT) {
      throw new ValidationError(
        "input",
        `is past Step Functions' limit of ${SFN_INPUT_LIMIT} bytes: pass a reference (an S3 key)`,
      );
    }
    const actions = options.wait ? ["states:DescribeExecution", "states:StopExecution"] : [];
    const { client, source, sdk } = await sfnConnection(options, [
      { actions: ["states:StartExecution"], resources: [machine.arn] },
      ...(actions.length ? [{ actions, resources: [machine.executions] }] : []),
    ]);
    const signal = taskContext()?.signal;
    const send = signal ? { abortSignal: signal } : {};
    let executionArn: string;
    try {
      const started = await client.send(
        new sdk.StartExecutionCommand({
          stateMachineArn: machine.arn,
          input,
          ...(options.name ? { name: options.name } : {}),
        }),
        send,
      );
      executionArn = started.executionArn as string;
    } catch (error) {
      throw toAwsError(error, "Step Functions", source, `starting ${machine.arn}`, signal);
    }
    if (!options.wait) return { executionArn, status: "RUNNING", output: undefined };
    let delay = pollIntervalMs;
    try {
      for (;;) {
        const out = await client.send(new sdk.DescribeExecutionCommand({ executionArn }), send);
        const execution = toExecution(executionArn, out);
        if (ENDED_BADLY.has(execution.status)) {
          throw new ServiceError(
            "EXECUTION_FAILED",
            "Step Functions",
            `execution ${executionArn} ended ${execution.status}${execution.error ? `: ${execution.error}` : ""}${execution.cause ? `: ${execution.cause}` : ""}`,
            undefined,
            { reason: execution.error ?? execution.status },
          );
        }
        if (execution.status !== "RUNNING" && execution.status !== "PENDING_REDRIVE") return execution;
        await sleep(delay, undefined, signal ? { signal } : {});
        delay = Math.min(delay * 1.5, pollIntervalMs * 10);
      }
    } catch (error) {
      if (isAbort(error, signal)) {
        // The flow gave up on the execution: stop it rather than leave it running unwatched.
        await client
          .send(new sdk.StopExecutionCommand({ executionArn, cause: "cancelled by its Tributary task" }))
          .catch(() => {});
        throw error;
      }
      throw toAwsError(error, "Step Functions", source, `waiting for ${executionArn}`, signal);
    }
  },
);

/**
 * Describes a Step Functions execution: its status, parsed output, and for a failed one AWS's `error` and `cause`
 * (masked). A failed execution is data here, not an error. With `leastPrivilege` and a role, the credentials allow
 * only `states:DescribeExecution` on this execution.
 * @example
 * const { status, output } = await sfnDescribeExecution({ executionArn });
 */
export const sfnDescribeExecution = task(
  { name: "sfnDescribeExecution" },
  async (options: SfnDescribeExecutionOptions): Promise<SfnExecution> => {
    const executionArn = checkExecutionArn(options?.executionArn);
    const { client, source, sdk } = await sfnConnection(options, [
      { actions: ["states:DescribeExecution"], resources: [executionArn] },
    ]);
    const signal = taskContext()?.signal;
    try {
      const out = await client.send(
        new sdk.DescribeExecutionCommand({ executionArn }),
        signal ? { abortSignal: signal } : {},
      );
      return toExecution(executionArn, out);
    } catch (error) {
      throw toAwsError(error, "Step Functions", source, `describing ${executionArn}`, signal);
    }
  },
);
