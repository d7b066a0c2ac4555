import type { LambdaClient } from "@aws-sdk/client-lambda";
import { ValidationError } from "@tributary/auth";
import { type AwsClientOptions, type AwsService, awsConnection } from "./aws-client.js";
import { envRegion } from "./aws-credentials.js";
import { type Grant, grantPolicy, partitionOf } from "./s3-scope.js";

/** The AWS SDKs' environment variables for the Lambda endpoint, in the order they are honoured. */
export const LAMBDA_ENDPOINT_ENV = ["AWS_ENDPOINT_URL_LAMBDA", "AWS_ENDPOINT_URL"] as const;

/** The options every Lambda task takes to reach Lambda: the credential and client options, or a ready client. */
export interface LambdaConnectionOptions extends AwsClientOptions {
  /** A ready client. When given it always wins and the credential options are not used. */
  client?: LambdaClient;
}

type LambdaSdk = typeof import("@aws-sdk/client-lambda");

const lambda: AwsService<LambdaClient, LambdaSdk> = {
  id: "lambda",
  clientName: "LambdaClient",
  endpointEnv: LAMBDA_ENDPOINT_ENV,
  package: "@aws-sdk/client-lambda",
  load: () => import("@aws-sdk/client-lambda"),
  make: (sdk, config) => new sdk.LambdaClient(config),
};

/** @internal The cached Lambda client for these options, scoped to `grants` under `leastPrivilege`. */
export function lambdaConnection(options: LambdaConnectionOptions, grants: readonly Grant[]) {
  return awsConnection(lambda, options, () => grantPolicy(grants));
}

const NAME_RE = /^[A-Za-z0-9_-]{1,64}$/;
const ARN_RE =
  /^arn:(aws[a-z-]*):lambda:([a-z0-9-]+):(\d{12}):function:([A-Za-z0-9_-]{1,64})(?::(\$LATEST|[A-Za-z0-9_-]{1,128}))?$/;
const QUALIFIER_RE = /^(\$LATEST|[A-Za-z0-9_-]{1,128})$/;

/**
 * @internal Checks a function name (or ARN) and qualifier the way Lambda does, and returns the ARN a session policy
 * allows: the function's own, or one with any account and the region asked for (`*` when none is known yet).
 */
export function functionResource(
  functionName: unknown,
  qualifier: unknown,
  region: string | undefined,
): string {
  if (typeof functionName !== "string" || functionName === "") {
    throw new ValidationError("functionName", "give the function's name or ARN");
  }
  if (qualifier !== undefined && (typeof qualifier !== "string" || !QUALIFIER_RE.test(qualifier))) {
    throw new ValidationError("qualifier", "must be a version number, an alias name or $LATEST");
  }
  const arn = ARN_RE.exec(functionName);
  if (arn) {
    if (arn[5] !== undefined && qualifier !== undefined && arn[5] !== qualifier) {
      throw new ValidationError("qualifier", `differs from the one in functionName (${arn[5]})`);
    }
    const base = `arn:${arn[1]}:lambda:${arn[2]}:${arn[3]}:function:${arn[4]}`;
    const q = arn[5] ?? qualifier;
    return q === undefined ? base : `${base}:${q}`;
  }
  if (!NAME_RE.test(functionName)) {
    throw new ValidationError(
      "functionName",
      `"${functionName}" is not a Lambda function name (1 to 64 letters, digits, hyphens and underscores) or ARN`,
    );
  }
  const r = region ?? envRegion();
  const base = `arn:${partitionOf(r)}:lambda:${r ?? "*"}:*:function:${functionName}`;
  return qualifier === undefined ? base : `${base}:${qualifier}`;
}
