import {
  clientCache,
  currentRun,
  describeSource,
  type SecretBackend,
  SecretBackendError,
  type SecretSource,
  ValidationError,
} from "@tributary/auth";
import { type AwsSdkClientConfig, loadSdk } from "./aws-client.js";
import {
  type AwsCredentialsInput,
  envRegion,
  type ResolvedAwsCredentials,
  resolveAwsCredentials,
} from "./aws-credentials.js";
import { CREDENTIAL_ERROR_CODES, unreadable } from "./aws-errors.js";

/** The options every AWS secret backend takes (Secrets Manager, Parameter Store). */
export interface AwsBackendOptions {
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
  /** Put before every secret name. */
  prefix?: string;
  /** How many attempts the SDK makes per read (default 5: throttling is retried with backoff). */
  maxAttempts?: number;
}

/** @internal One AWS service read as a secret backend. */
export interface AwsBackendService<Client, Sdk> {
  /** The backend's name in its description and in the `credentials` argument's name, such as `aws-secrets-manager`. */
  kind: string;
  /** The factory's name, for the source of its own credentials: `awsSecretsManagerBackend`. */
  factory: string;
  /** The IAM permission a refused read needs, for the message. */
  permission: string;
  /** The SDK package `load` imports, named when it is not installed. */
  package: string;
  /** Imports the SDK module; called through `loadSdk`, on the first read. */
  load: () => Promise<Sdk>;
  /** Builds a client. */
  make: (sdk: Sdk, config: AwsSdkClientConfig) => Client;
  /** Reads one value, or `undefined` when it does not exist. */
  read: (client: Client, sdk: Sdk, id: string) => Promise<string | undefined>;
}

const RUNS_KEPT = 32;

/**
 * @internal A secret backend over an AWS service: its own credentials (the default chain unless given), one cached
 * client, answers cached per run, and errors as `SecretBackendError`s naming the backend and the key.
 */
export function awsBackend<Client, Sdk>(
  service: AwsBackendService<Client, Sdk>,
  options: AwsBackendOptions,
  describeExtra = "",
): SecretBackend {
  if (options.prefix !== undefined && typeof options.prefix !== "string") {
    throw new ValidationError("prefix", "must be a string such as prod/");
  }
  if (options.endpoint !== undefined && !/^https?:\/\/\S+$/.test(String(options.endpoint))) {
    throw new ValidationError("endpoint", "must be an http(s) URL");
  }
  const region = options.region ?? envRegion() ?? "us-east-1";
  const prefix = options.prefix ?? "";
  const maxAttempts = options.maxAttempts ?? 5;
  const description = `${service.kind} ${region}${options.endpoint ? ` at ${options.endpoint}` : ""}${prefix ? ` prefix ${prefix}` : ""}${describeExtra}`;
  const runs = new Map<string, Map<string, Promise<string | undefined>>>();
  let credentials: Promise<ResolvedAwsCredentials> | undefined;

  const resolve = () => {
    credentials ??= (
      options.credentials === undefined && options.profile === undefined
        ? resolveAwsCredentials({ defaultChainOnly: true })
        : resolveAwsCredentials({
            // Named as the backend's own, so a flow's log never reads as if the flow's credential came from it.
            argument: `${service.factory}({ credentials })`,
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
    const id = `${prefix}${name}`;
    // Before the credentials: a missing SDK is reported before the default chain reaches for any network.
    const sdk = await loadSdk(service.package, service.load, `${service.factory} (reading ${name})`);
    const creds = await resolve().catch((error) => {
      throw new SecretBackendError(
        "SECRET_BACKEND_FAILED",
        `Cannot read ${id} from ${description}: its own credentials did not resolve (${(error as Error).message})`,
        description,
        name,
        { cause: error },
      );
    });
    const key = `${service.kind}:${creds.id}:${region}:${options.endpoint ?? ""}:${maxAttempts}`;
    const client = clientCache.get<Client>(key, () =>
      service.make(sdk, {
        region,
        credentials: creds.provider,
        maxAttempts,
        ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      }),
    );
    try {
      return await service.read(client, sdk, id);
    } catch (error) {
      throw backendError(error, name, id, description, creds.source, service.permission);
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
  id: string,
  description: string,
  source: SecretSource,
  permission: string,
): SecretBackendError {
  if (SecretBackendError.isInstance(error)) return error;
  const e = error as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const unparsed = unreadable(e);
  const code = unparsed
    ? `HTTP ${e.$metadata?.httpStatusCode ?? "?"}, unreadable answer`
    : (e.name ?? "Error");
  const status = e.$metadata?.httpStatusCode;
  if (code === "AccessDeniedException" || (unparsed && status === 403)) {
    return new SecretBackendError(
      "SECRET_BACKEND_ACCESS_DENIED",
      `Access denied reading ${id} from ${description}: give the backend's identity (${source.kind}: ${source.detail}) ${permission} on it.`,
      description,
      name,
      { cause: error, reason: code },
    );
  }
  if (CREDENTIAL_ERROR_CODES.has(code)) {
    return new SecretBackendError(
      "SECRET_BACKEND_CREDENTIAL_REJECTED",
      `${description} rejected the backend's credential from ${describeSource(source)} reading ${id}: ${code}.`,
      description,
      name,
      { cause: error, reason: code },
    );
  }
  if (/Throttl|TooManyRequests|RequestLimitExceeded/.test(code)) {
    return new SecretBackendError(
      "SECRET_BACKEND_THROTTLED",
      `${description} kept throttling reads of ${id} (${code}) after the SDK's retries; try again later or read fewer secrets at once.`,
      description,
      name,
      { cause: error, retryable: true, reason: code },
    );
  }
  return new SecretBackendError(
    "SECRET_BACKEND_FAILED",
    `Cannot read ${id} from ${description}: ${code}${status ? ` (HTTP ${status})` : ""}.`,
    description,
    name,
    { cause: error, retryable: status === undefined || status >= 500, reason: code },
  );
}
