import type { SFNClient } from "@aws-sdk/client-sfn";
import { ValidationError } from "@tributary/auth";
import { type AwsClientOptions, type AwsService, awsConnection } from "./aws-client.js";
import { type Grant, grantPolicy } from "./s3-scope.js";

/** The AWS SDKs' environment variables for the Step Functions endpoint, in the order they are honoured. */
export const SFN_ENDPOINT_ENV = ["AWS_ENDPOINT_URL_SFN", "AWS_ENDPOINT_URL"] as const;

/** The options every Step Functions task takes: the credential and client options, or a ready client. */
export interface SfnConnectionOptions extends AwsClientOptions {
  /** A ready client. When given it always wins and the credential options are not used. */
  client?: SFNClient;
}

type SfnSdk = typeof import("@aws-sdk/client-sfn");

const sfn: AwsService<SFNClient, SfnSdk> = {
  id: "sfn",
  clientName: "SFNClient",
  endpointEnv: SFN_ENDPOINT_ENV,
  package: "@aws-sdk/client-sfn",
  load: () => import("@aws-sdk/client-sfn"),
  make: (sdk, config) => new sdk.SFNClient(config),
};

/** @internal The cached Step Functions client for these options, scoped to `grants` under `leastPrivilege`. */
export function sfnConnection(options: SfnConnectionOptions, grants: readonly Grant[]) {
  return awsConnection(sfn, options, () => grantPolicy(grants));
}

const STATE_MACHINE_RE =
  /^arn:(aws[a-z-]*):states:([a-z0-9-]+):(\d{12}):stateMachine:([A-Za-z0-9_-]{1,80})(?::[A-Za-z0-9_.-]+)?$/;
const EXECUTION_RE =
  /^arn:(aws[a-z-]*):states:([a-z0-9-]+):(\d{12}):(?:execution|express):([A-Za-z0-9_-]{1,80})(?::[^:]+){1,2}$/;

/** @internal Checks a state machine ARN, and returns the ARN pattern of its executions. */
export function checkStateMachineArn(arn: unknown): { arn: string; executions: string } {
  const m = typeof arn === "string" ? STATE_MACHINE_RE.exec(arn) : null;
  if (!m) {
    throw new ValidationError(
      "stateMachineArn",
      "must be a state machine ARN such as arn:aws:states:eu-west-1:123456789012:stateMachine:etl",
    );
  }
  return { arn: arn as string, executions: `arn:${m[1]}:states:${m[2]}:${m[3]}:execution:${m[4]}:*` };
}

/** @internal Checks an execution ARN. */
export function checkExecutionArn(arn: unknown): string {
  if (typeof arn !== "string" || !EXECUTION_RE.test(arn)) {
    throw new ValidationError(
      "executionArn",
      "must be an execution ARN such as arn:aws:states:eu-west-1:123456789012:execution:etl:run-1",
    );
  }
  return arn;
}
