import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import {
  clientCache,
  currentRun,
  describeSource,
  type SecretBackend,
  SecretBackendError,
  type SecretSource,
  ValidationError,
} from "@tributary/auth";
import {
  type AwsCredentialsInput,
  envRegion,
  type ResolvedAwsCredentials,
  resolveAwsCredentials,
} from "./aws-credentials.js";
import { CREDENTIAL_ERROR_CODES, unreadable } from "./aws-errors.js";

/** The options of `awsSecretsManagerBackend`. */
export interface AwsSecretsManagerBackendOptions {
  /** The region. Default: `AWS_REGION`, `AWS_DEFAULT_REGION`, then `us-east-1`. */
  region?: string;
  /** A base URL for a compatible service or stand-in. */
  endpoint?: string;
  /**
   * The backend's own credentials (any shape `credentials` takes elsewhere). Default: the AWS SDK default chain —
   * the machine's own identity. It never reads `AWS_CREDENTIALS` through the backends, which would ask itself.
   */
  credentials?: AwsCredentialsInput;
  /** An AWS profile for the default chain. */
  profile?: string;
  /** Put before every secret name: with `"prod/"`, `AWS_CREDENTIALS` is read from the secret `prod/AWS_CREDENTIALS`. */
  prefix?: string;
  /** How many attempts the SDK makes per read (default 5: throttling is retried with backoff). */
  maxAttempts?: number;
}

const RUNS_KEPT = 32;

/**
 * A secret backend reading AWS Secrets Manager: `SecretString` (JSON for object-shaped names such as
 * `AWS_CREDENTIALS`, parsed and checked by the core). A missing secret is "not found here"; access denied, a refused
 * credential and throttling past the SDK's retries are `SecretBackendError`s naming the backend and the key.
 * Answers are cached per run.
 * @example
 * configureBackends([awsSecretsManagerBackend({ region: "eu-west-1", prefix: "tributary/" })]);
 */
export function awsSecretsManagerBackend(options: AwsSecretsManagerBackendOptions = {}): SecretBackend {
  if (options.prefix !== undefined && typeof options.prefix !== "string") {
    throw new ValidationError("prefix", "must be a string such as prod/");
  }
  if (options.endpoint !== undefined && !/^https?:\/\/\S+$/.test(String(options.endpoint))) {
    throw new ValidationError("endpoint", "must be an http(s) URL");
  }
  const region = options.region ?? envRegion() ?? "us-east-1";
  const prefix = options.prefix ?? "";
  const maxAttempts = options.maxAttempts ?? 5;
  const description = `aws-secrets-manager ${region}${options.endpoint ? ` at ${options.endpoint}` : ""}${prefix ? ` prefix ${prefix}` : ""}`;
  const runs = new Map<string, Map<string, Promise<string | undefined>>>();
  let credentials: Promise<ResolvedAwsCredentials> | undefined;

  const resolve = () => {
    credentials ??= (
      options.credentials === undefined && options.profile === undefined
        ? resolveAwsCredentials({ defaultChainOnly: true })
        : resolveAwsCredentials({
            // Named as the backend's own, so a flow's log never reads as if the flow's credential came from it.
            argument: "awsSecretsManagerBackend({ credentials })",
            ...(options.credentials !== undefined ? { credentials: options.credentials } : {}),
            ...(options.profile !== undefined ? { profile: options.profile } : {}),
          })
    ).catch((error) => {
      credentials = undefined;
      throw error;
    });
    return credentials;
  };

  async function read(name: string): Promise<string | undefined> {
    const secretId = `${prefix}${name}`;
    const creds = await resolve().catch((error) => {
      throw new SecretBackendError(
        "SECRET_BACKEND_FAILED",
        `Cannot read ${secretId} from ${description}: its own credentials did not resolve (${(error as Error).message})`,
        description,
        name,
        { cause: error },
      );
    });
    const { GetSecretValueCommand, SecretsManagerClient } = await import("@aws-sdk/client-secrets-manager");
    const client = clientCache.get<SecretsManagerClient>(
      `secretsmanager:${creds.id}:${region}:${options.endpoint ?? ""}:${maxAttempts}`,
      () =>
        new SecretsManagerClient({
          region,
          credentials: creds.provider,
          maxAttempts,
          ...(options.endpoint ? { endpoint: options.endpoint } : {}),
        }),
    );
    try {
      const out = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
      if (out.SecretString !== undefined) return out.SecretString;
      if (out.SecretBinary !== undefined) return Buffer.from(out.SecretBinary).toString("utf8");
      return undefined;
    } catch (error) {
      if ((error as { name?: string }).name === "ResourceNotFoundException") return undefined;
      throw backendError(error, name, secretId, description, creds.source);
    }
  }

  return {
    describe: () => description,
    get(name: string) {
      const run = currentRun();
      if (!run) return read(name);
      let cache = runs.get(run.id);
      if (!cache) {
        cache = new Map();
        runs.set(run.id, cache);
        while (runs.size > RUNS_KEPT) runs.delete(runs.keys().next().value as string);
      }
      let pending = cache.get(name);
      if (!pending) {
        pending = read(name);
        const held = cache;
        pending.catch(() => held.delete(name));
        cache.set(name, pending);
      }
      return pending;
    },
  };
}

function backendError(
  error: unknown,
  name: string,
  secretId: string,
  description: string,
  source: SecretSource,
): SecretBackendError {
  const e = error as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const unparsed = unreadable(e);
  const code = unparsed
    ? `HTTP ${e.$metadata?.httpStatusCode ?? "?"}, unreadable answer`
    : (e.name ?? "Error");
  const status = e.$metadata?.httpStatusCode;
  if (code === "AccessDeniedException" || (unparsed && status === 403)) {
    return new SecretBackendError(
      "SECRET_BACKEND_ACCESS_DENIED",
      `Access denied reading ${secretId} from ${description}: give the backend's identity (${source.kind}: ${source.detail}) secretsmanager:GetSecretValue on it.`,
      description,
      name,
      { cause: error, reason: code },
    );
  }
  if (CREDENTIAL_ERROR_CODES.has(code)) {
    return new SecretBackendError(
      "SECRET_BACKEND_CREDENTIAL_REJECTED",
      `${description} rejected the backend's credential from ${describeSource(source)} reading ${secretId}: ${code}.`,
      description,
      name,
      { cause: error, reason: code },
    );
  }
  if (/Throttl|TooManyRequests|RequestLimitExceeded/.test(code)) {
    return new SecretBackendError(
      "SECRET_BACKEND_THROTTLED",
      `${description} kept throttling reads of ${secretId} (${code}) after the SDK's retries; try again later or read fewer secrets at once.`,
      description,
      name,
      { cause: error, retryable: true, reason: code },
    );
  }
  return new SecretBackendError(
    "SECRET_BACKEND_FAILED",
    `Cannot read ${secretId} from ${description}: ${code}${status ? ` (HTTP ${status})` : ""}.`,
    description,
    name,
    { cause: error, retryable: status === undefined || status >= 500, reason: code },
  );
}
