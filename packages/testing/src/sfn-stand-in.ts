import { randomUUID } from "node:crypto";
import {
  type AwsServiceStandIn,
  type AwsServiceStandInOptions,
  awsJsonErrorReply,
  awsStandInAuth,
  readJsonRequest,
  STAND_IN_ACCOUNT,
} from "./aws-sts.js";
import { type AwsKeyPair, randomKeyPair } from "./sigv4.js";
import { route, type StandInReply, startStandIn } from "./stand-in.js";

/** What a Step Functions stand-in handler is given beside the input. */
export interface SfnStandInContext {
  /** The execution's name. */
  name: string;
  /** The execution's ARN. */
  executionArn: string;
  /** Aborted when the execution is stopped (`StopExecution`). */
  signal: AbortSignal;
}

/**
 * A state machine run by the stand-in: it gets the parsed input and returns the output. The execution is `RUNNING`
 * until the returned promise settles, then `SUCCEEDED` with the output (as JSON), or `FAILED` with the thrown error's
 * `name` as `error` and its `message` as `cause` (throw an `Error` whose `name` is `States.TaskFailed`, for example).
 */
export type SfnStandInHandler = (input: unknown, context: SfnStandInContext) => unknown;

/** One execution the stand-in started. */
export interface SfnStandInExecution {
  executionArn: string;
  stateMachineArn: string;
  name: string;
  input: string;
  status: "RUNNING" | "SUCCEEDED" | "FAILED" | "ABORTED" | "TIMED_OUT";
  output?: string;
  error?: string;
  cause?: string;
  startDate: Date;
  stopDate?: Date;
}

/** The options of `startSfnStandIn`. */
export interface SfnStandInOptions extends AwsServiceStandInOptions {
  /** The state machines: name → handler. Their ARNs: `sfn.arnOf(name)`. */
  stateMachines?: Record<string, SfnStandInHandler>;
}

/** A running Step Functions stand-in. */
export interface SfnStandIn extends AwsServiceStandIn {
  /** Every execution started, in order. */
  readonly executions: SfnStandInExecution[];
  /** The executions stopped with `StopExecution`, in order. */
  readonly stopped: string[];
  /** A state machine's ARN. */
  arnOf(name: string): string;
}

/**
 * Starts an AWS Step Functions stand-in (JSON protocol: `StartExecution`, `DescribeExecution`, `StopExecution`) running
 * JS handlers as state machines, checking SigV4, STS session policies and the `authorize` hook as the other AWS
 * stand-ins do. `StartExecution` is idempotent by name as the API is: the same name and input return the same
 * execution, another input is `ExecutionAlreadyExists`.
 * @example
 * const sfn = await startSfnStandIn({ stateMachines: { etl: async (input) => ({ ok: true, input }) } });
 * await sfnStartExecution({ endpoint: sfn.url, stateMachineArn: sfn.arnOf("etl"), wait: true });
 */
export async function startSfnStandIn(options: SfnStandInOptions = {}): Promise<SfnStandIn> {
  const keyPairs: AwsKeyPair[] = options.keyPairs ? [...options.keyPairs] : [randomKeyPair()];
  const region = options.region ?? "us-east-1";
  const auth = awsStandInAuth(keyPairs, options.authorize ?? (() => true), options.sts);
  const machines = new Map(Object.entries(options.stateMachines ?? {}));
  const executions: SfnStandInExecution[] = [];
  const controllers = new Map<string, AbortController>();
  const stopped: string[] = [];
  const arnOf = (name: string) => `arn:aws:states:${region}:${STAND_IN_ACCOUNT}:stateMachine:${name}`;
  const error = (type: string, message: string, status = 400): StandInReply => ({
    status,
    ...awsJsonErrorReply(type, message),
  });
  const json = (value: object): StandInReply => ({
    headers: { "content-type": "application/x-amz-json-1.0", "x-amzn-requestid": randomUUID() },
    body: value,
  });
  const machineOf = (executionArn: string) => /:execution:([^:]+):/.exec(executionArn)?.[1] ?? "";

  function run(execution: SfnStandInExecution, handler: SfnStandInHandler): void {
    const controller = new AbortController();
    controllers.set(execution.executionArn, controller);
    let input: unknown;
    try {
      input = JSON.parse(execution.input);
    } catch {
      input = execution.input;
    }
    void (async () => {
      try {
        const output = await handler(input, {
          name: execution.name,
          executionArn: execution.executionArn,
          signal: controller.signal,
        });
        if (execution.status !== "RUNNING") return;
        Object.assign(execution, { status: "SUCCEEDED", output: JSON.stringify(output ?? null) });
      } catch (e) {
        if (execution.status !== "RUNNING") return;
        const err = e as { name?: string; message?: string };
        Object.assign(execution, {
          status: "FAILED",
          error: err?.name ?? "Error",
          cause: err?.message ?? "",
        });
      }
      execution.stopDate = new Date();
    })();
  }

  const standIn = await startStandIn(
    [
      route("POST", "/", async (request) => {
        if (await auth.isSts(request)) return auth.answerSts(request);
        const signed = await readJsonRequest(auth, request, "AWSStepFunctions.");
        if (!signed.ok) return signed.reply;
        const { action, input } = signed;
        const refuse = (arn: string) =>
          auth.allows(signed.accessKeyId, `states:${action}`, arn, arn)
            ? undefined
            : error(
                "AccessDeniedException",
                `User: ${signed.accessKeyId} is not authorized to perform: states:${action} on resource: ${arn}`,
              );
        switch (action) {
          case "StartExecution": {
            const machineArn = String(input.stateMachineArn ?? "");
            const refused = refuse(machineArn);
            if (refused) return refused;
            const machineName = machineArn.split(":").at(-1) ?? "";
            const handler = machineArn === arnOf(machineName) ? machines.get(machineName) : undefined;
            if (!handler)
              return error("StateMachineDoesNotExist", `State Machine Does Not Exist: '${machineArn}'`);
            const name = typeof input.name === "string" ? input.name : randomUUID();
            const text = typeof input.input === "string" ? input.input : "{}";
            const executionArn = `arn:aws:states:${region}:${STAND_IN_ACCOUNT}:execution:${machineName}:${name}`;
            const existing = executions.find((e) => e.executionArn === executionArn);
            if (existing) {
              if (existing.input === text && existing.status === "RUNNING") {
                return json({ executionArn, startDate: existing.startDate.getTime() / 1000 });
              }
              return error("ExecutionAlreadyExists", `Execution Already Exists: '${executionArn}'`);
            }
            const execution: SfnStandInExecution = {
              executionArn,
              stateMachineArn: machineArn,
              name,
              input: text,
              status: "RUNNING",
              startDate: new Date(),
            };
            executions.push(execution);
            run(execution, handler);
            return json({ executionArn, startDate: execution.startDate.getTime() / 1000 });
          }
          case "DescribeExecution":
          case "StopExecution": {
            const executionArn = String(input.executionArn ?? "");
            const refused = refuse(executionArn);
            if (refused) return refused;
            const e = executions.find((x) => x.executionArn === executionArn);
            if (!e) return error("ExecutionDoesNotExist", `Execution Does Not Exist: '${executionArn}'`);
            if (action === "StopExecution") {
              stopped.push(executionArn);
              if (e.status === "RUNNING") {
                Object.assign(e, {
                  status: "ABORTED",
                  stopDate: new Date(),
                  ...(typeof input.cause === "string" ? { cause: input.cause } : {}),
                });
                controllers.get(executionArn)?.abort();
              }
              return json({ stopDate: (e.stopDate ?? new Date()).getTime() / 1000 });
            }
            return json({
              executionArn,
              stateMachineArn: arnOf(machineOf(executionArn)),
              name: e.name,
              status: e.status,
              input: e.input,
              startDate: e.startDate.getTime() / 1000,
              ...(e.stopDate ? { stopDate: e.stopDate.getTime() / 1000 } : {}),
              ...(e.output !== undefined ? { output: e.output } : {}),
              ...(e.error !== undefined ? { error: e.error } : {}),
              ...(e.cause !== undefined ? { cause: e.cause } : {}),
            });
          }
          default:
            return error(
              "UnknownOperationException",
              `The Step Functions stand-in does not implement ${action}`,
            );
        }
      }),
    ],
    { name: "sfn" },
  );
  return {
    ...standIn,
    keyPairs,
    assumedRoles: auth.assumedRoles,
    executions,
    stopped,
    arnOf,
    close: async () => {
      for (const c of controllers.values()) c.abort();
      await standIn.close();
    },
  };
}
