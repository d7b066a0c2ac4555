import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { SecretBackend } from "@tributary/auth";
import { type AwsBackendOptions, awsBackend } from "./aws-backend.js";

/** The options of `awsSecretsManagerBackend`. */
export interface AwsSecretsManagerBackendOptions extends AwsBackendOptions {
  /** Put before every secret name: with `"prod/"`, `AWS_CREDENTIALS` is read from the secret `prod/AWS_CREDENTIALS`. */
  prefix?: string;
}

/**
 * A secret backend reading AWS Secrets Manager: `SecretString` (JSON for object-shaped names such as
 * `AWS_CREDENTIALS`, parsed and checked by the core). A missing secret is "not found here"; access denied, a refused
 * credential and throttling past the SDK's retries are `SecretBackendError`s naming the backend and the key.
 * Answers are cached per run.
 * @example
 * configureBackends([awsSecretsManagerBackend({ region: "eu-west-1", prefix: "tributary/" })]);
 */
export function awsSecretsManagerBackend(options: AwsSecretsManagerBackendOptions = {}): SecretBackend {
  return awsBackend<SecretsManagerClient, typeof import("@aws-sdk/client-secrets-manager")>(
    {
      kind: "aws-secrets-manager",
      factory: "awsSecretsManagerBackend",
      permission: "secretsmanager:GetSecretValue",
      package: "@aws-sdk/client-secrets-manager",
      load: () => import("@aws-sdk/client-secrets-manager"),
      make: (sdk, config) => new sdk.SecretsManagerClient(config),
      read: async (client, sdk, id) => {
        try {
          const out = await client.send(new sdk.GetSecretValueCommand({ SecretId: id }));
          if (out.SecretString !== undefined) return out.SecretString;
          if (out.SecretBinary !== undefined) return Buffer.from(out.SecretBinary).toString("utf8");
          return undefined;
        } catch (error) {
          if ((error as { name?: string }).name === "ResourceNotFoundException") return undefined;
          throw error;
        }
      },
    },
    options,
  );
}
