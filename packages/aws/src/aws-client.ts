import {
  clientCache,
  describeSource,
  type SecretSource,
  TributaryError,
  ValidationError,
} from "@tributary/auth";
import { taskContext } from "@tributary/flow";
import { pickEndpoint } from "@tributary/integration-kit";
import { type AwsCredentialOptions, envRegion, resolveAwsCredentials } from "./aws-credentials.js";
import { type LeastPrivilegeOptions, noteScoped, noteUnscoped, type SessionPolicy } from "./s3-scope.js";

/** The options every AWS task takes to reach its service (S3, Lambda, Step Functions, Parameter Store). */
export interface AwsClientOptions extends AwsCredentialOptions, LeastPrivilegeOptions {
  /** The region. Default: `REGION` in `AWS_CREDENTIALS`, then `AWS_REGION`, `AWS_DEFAULT_REGION`, `us-east-1`. */
  region?: string;
  /**
   * A base URL for a compatible service (moto, LocalStack, a stand-in). Default: the service's own variable
   * (`AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL_LAMBDA`, `AWS_ENDPOINT_URL_SFN`, `AWS_ENDPOINT_URL_SSM`), then
   * `AWS_ENDPOINT_URL` (the AWS SDKs' own convention), else AWS itself.
   */
  endpoint?: string;
  /** How many attempts the SDK makes per request (default 3: it retries 5xx and throttling with backoff). */
  maxAttempts?: number;
}

/** What the SDK client constructors of every service take here. */
export interface AwsSdkClientConfig {
  /** The region the client signs for and sends to. */
  region: string;
  /** The resolved credential (`AWS_CREDENTIALS` or the SDK's chain, scoped when least privilege applies), refreshed before expiry. */
  credentials: () => Promise<{ accessKeyId: string; secretAccessKey: string; sessionToken?: string }>;
  /** How many attempts the SDK makes per request. */
  maxAttempts: number;
  /** The base URL, when one is given or set in the environment. */
  endpoint?: string;
}

/** @internal One AWS service as the shared connection code sees it. */
export interface AwsService<Client, Sdk> {
  /** The cache-key prefix, such as `lambda`. */
  id: string;
  /** The SDK package `load` imports, such as `@aws-sdk/client-lambda`, named when it is not installed. */
  package: string;
  /** The SDK client's name, for the error a wrong `client` option gets. */
  clientName: string;
  /** The endpoint variables, in the order they are honoured. */
  endpointEnv: readonly string[];
  /** Imports the SDK module; called through `loadSdk`, on first use (importing `@tributary/aws` loads no SDK). */
  load: () => Promise<Sdk>;
  /** Builds a client. */
  make: (sdk: Sdk, config: AwsSdkClientConfig) => Client;
  /** Extra words for the cache key (options that change the client, such as S3's addressing style). */
  keyExtra?: string;
}

/** @internal A client, where its credential came from, and the SDK module (for its commands). */
export interface AwsConnection<Client, Sdk> {
  client: Client;
  source: SecretSource;
  sdk: Sdk;
}

const loaded = new Map<string, Promise<unknown>>();

/**
 * @internal Loads an SDK package once per process, on first use. The service clients other than S3's are optional
 * peer dependencies: when `pkg` is not installed this rejects, before any network call, with a `TributaryError`
 * coded `DEPENDENCY_MISSING` that names `usedBy` (the task or backend that needs it) and the command to install it.
 */
export function loadSdk<Sdk>(pkg: string, load: () => Promise<Sdk>, usedBy: string): Promise<Sdk> {
  let pending = loaded.get(pkg) as Promise<Sdk> | undefined;
  if (!pending) {
    pending = load();
    pending.catch(() => loaded.delete(pkg));
    loaded.set(pkg, pending);
  }
  return pending.catch((error: unknown) => {
    const missing = /Cannot find (?:package|module) '([^']+)'/.exec(String((error as Error)?.message));
    if (missing?.[1] !== pkg) throw error;
    throw new TributaryError(
      "DEPENDENCY_MISSING",
      `${usedBy} needs ${pkg}, which is not installed where @tributary/aws is: install it beside @tributary/aws ` +
        `(npm install ${pkg}). Only the S3 and STS clients come with @tributary/aws; each other AWS service's client is ` +
        "installed by the projects that use it.",
      { cause: error },
    );
  });
}

/** @internal Who needs a service's SDK, for `DEPENDENCY_MISSING`: the running task, else the client. */
function userOf(service: { clientName: string }): string {
  const task = taskContext()?.name;
  return task ? `The task ${task}` : `A${anOrA(service.clientName)}`;
}

/** What follows "a" before a client's name: `n SFNClient`, ` LambdaClient`. */
function anOrA(clientName: string): string {
  return `${/^[AEIOS]/.test(clientName) ? "n" : ""} ${clientName}`;
}

/**
 * @internal Resolves credentials (the one order, with the session policy `scope` gives when `leastPrivilege` is on)
 * and returns the cached client for them: one per credential fingerprint, region, endpoint and service options.
 * `scope` returns the policy, or a reason why this call cannot be scoped.
 */
export async function awsConnection<Client, Sdk>(
  service: AwsService<Client, Sdk>,
  options: AwsClientOptions & { client?: Client },
  scope: () => SessionPolicy | { unscoped: string },
): Promise<AwsConnection<Client, Sdk>> {
  const leastPrivilege = (options.leastPrivilege ?? taskContext()?.leastPrivilege) === true;
  if (options.client !== undefined) {
    if (typeof (options.client as { send?: unknown } | null)?.send !== "function") {
      throw new ValidationError("client", `must be a${anOrA(service.clientName)}`);
    }
    if (leastPrivilege) noteUnscoped("the client option", "a ready client is used as it is");
    return {
      client: options.client,
      source: { kind: "argument", detail: "client" },
      sdk: await loadSdk(service.package, service.load, userOf(service)),
    };
  }
  const endpoint = pickEndpoint(options.endpoint, service.endpointEnv).url;
  if (
    options.region !== undefined &&
    (typeof options.region !== "string" || !/^[a-z0-9-]+$/.test(options.region))
  ) {
    throw new ValidationError("region", "must be an AWS region name such as eu-west-1");
  }
  const maxAttempts = options.maxAttempts ?? 3;
  if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
    throw new ValidationError("maxAttempts", "must be a whole number of at least 1");
  }
  const name = options.secretName ?? "AWS_CREDENTIALS";
  let policy: SessionPolicy | undefined;
  if (leastPrivilege) {
    const wanted = scope();
    if ("unscoped" in wanted) noteUnscoped(name, wanted.unscoped);
    else policy = wanted;
  }
  // Before the credentials: a missing SDK is reported before the default chain reaches for any network.
  const sdk = await loadSdk(service.package, service.load, userOf(service));
  const creds = await resolveAwsCredentials(options, policy);
  if (policy) {
    if (creds.scoped) noteScoped(name, creds);
    else
      noteUnscoped(name, `${describeSource(creds.source)} has no ROLE_ARN to assume with a session policy`);
  }
  const region = options.region ?? creds.region ?? envRegion() ?? "us-east-1";
  const expiresAt = creds.expiresAt ? await creds.expiresAt() : undefined;
  const key = `${service.id}:${creds.id}:${region}:${endpoint ?? ""}:${service.keyExtra ?? ""}:${maxAttempts}`;
  const client = clientCache.get(
    key,
    () =>
      service.make(sdk, {
        region,
        credentials: creds.provider,
        maxAttempts,
        ...(endpoint ? { endpoint } : {}),
      }),
    // No dispose: a client dropped from the cache may still be serving a long call; its idle sockets are unref'd.
    expiresAt !== undefined ? { expiresAt } : {},
  );
  return { client, source: creds.source, sdk };
}
