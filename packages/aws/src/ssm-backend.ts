import type { SSMClient } from "@aws-sdk/client-ssm";
import type { SecretBackend } from "@tributary/auth";
import { type AwsBackendOptions, awsBackend } from "./aws-backend.js";
import { importSsmSdk } from "./ssm-client.js";

/** The options of `ssmParameterStoreBackend`. */
export interface SsmParameterStoreBackendOptions extends AwsBackendOptions {
  /**
   * Put before every secret name: with `"/tributary/"`, `AWS_CREDENTIALS` is read from the parameter
   * `/tributary/AWS_CREDENTIALS`. Default: none.
   */
  prefix?: string;
  /** Decrypt `SecureString` parameters (default true; the backend's identity then needs `kms:Decrypt` on the key). */
  withDecryption?: boolean;
}

/**
 * A secret backend reading AWS Systems Manager Parameter Store: `String` and `SecureString` parameters (decrypted),
 * JSON for object-shaped names such as `AWS_CREDENTIALS` (parsed and checked by the core). Only declared names are
 * read. A missing parameter is "not found here"; access denied, a refused credential and throttling past the SDK's
 * retries are `SecretBackendError`s naming the backend and the key. Answers are cached per run.
 * @example
 * configureBackends([ssmParameterStoreBackend({ region: "eu-west-1", prefix: "/tributary/" })]);
 */
export function ssmParameterStoreBackend(options: SsmParameterStoreBackendOptions = {}): SecretBackend {
  const withDecryption = options.withDecryption ?? true;
  return awsBackend<SSMClient, Awaited<ReturnType<typeof importSsmSdk>>>(
    {
      kind: "ssm-parameter-store",
      factory: "ssmParameterStoreBackend",
      permission: `ssm:GetParameter${withDecryption ? " (and kms:Decrypt on its key)" : ""}`,
      package: "@aws-sdk/client-ssm",
      load: importSsmSdk,
      make: (sdk, config) => new sdk.SSMClient(config),
      read: async (client, sdk, id) => {
        try {
          const out = await client.send(
            new sdk.GetParameterCommand({ Name: id, WithDecryption: withDecryption }),
          );
          return out.Parameter?.Value;
        } catch (error) {
          if ((error as { name?: string }).name === "ParameterNotFound") return undefined;
          throw error;
        }
      },
    },
    options,
    withDecryption ? "" : " (not decrypted)",
  );
}
