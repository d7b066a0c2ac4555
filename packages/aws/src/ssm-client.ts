import type { SSMClient } from "@aws-sdk/client-ssm";
import { ValidationError } from "@tributary/auth";
import { type AwsClientOptions, type AwsService, awsConnection } from "./aws-client.js";
import { envRegion } from "./aws-credentials.js";
import { type Grant, grantPolicy, partitionOf } from "./s3-scope.js";

/** The AWS SDKs' environment variables for the SSM endpoint, in the order they are honoured. */
export const SSM_ENDPOINT_ENV = ["AWS_ENDPOINT_URL_SSM", "AWS_ENDPOINT_URL"] as const;

/** The options every Parameter Store task takes to reach SSM: the credential and client options, or a ready client. */
export interface SsmConnectionOptions extends AwsClientOptions {
  /** A ready client. When given it always wins and the credential options are not used. */
  client?: SSMClient;
}

type SsmSdk = typeof import("@aws-sdk/client-ssm");

/** @internal Imports `@aws-sdk/client-ssm` (through `loadSdk`, on first use: an optional peer dependency). */
export const importSsmSdk = (): Promise<SsmSdk> => import("@aws-sdk/client-ssm");

const ssm: AwsService<SSMClient, SsmSdk> = {
  id: "ssm",
  clientName: "SSMClient",
  endpointEnv: SSM_ENDPOINT_ENV,
  package: "@aws-sdk/client-ssm",
  load: importSsmSdk,
  make: (sdk, config) => new sdk.SSMClient(config),
};

/** @internal The cached SSM client for these options, scoped to `grants` under `leastPrivilege`. */
export function ssmConnection(options: SsmConnectionOptions, grants: readonly Grant[]) {
  return awsConnection(ssm, options, () => grantPolicy(grants));
}

const NAME_RE = /^[A-Za-z0-9_.\-/]{1,2048}$/;

/** @internal Checks a parameter name (or path) the way SSM does. */
export function checkParameterName(name: unknown, option: string): string {
  if (typeof name !== "string" || name === "") throw new ValidationError(option, "give a parameter name");
  if (!NAME_RE.test(name) || (name.includes("/") && !name.startsWith("/")) || name.includes("//")) {
    throw new ValidationError(
      option,
      `"${name}" is not a Parameter Store name (letters, digits, and . - _ /; a hierarchy starts with /)`,
    );
  }
  return name;
}

/** @internal The ARN of a parameter (or path) a session policy allows, in any account. */
export function parameterArn(name: string, region: string | undefined): string {
  const r = region ?? envRegion();
  return `arn:${partitionOf(r)}:ssm:${r ?? "*"}:*:parameter/${name.replace(/^\//, "")}`;
}

/** @internal Decrypting a `SecureString` through SSM: `kms:Decrypt`, only when SSM asks for it. */
export function decryptGrant(region: string | undefined): Grant {
  const r = region ?? envRegion();
  return {
    actions: ["kms:Decrypt"],
    resources: ["*"],
    condition: { StringLike: { "kms:ViaService": `ssm.${r ?? "*"}.amazonaws.com` } },
  };
}
