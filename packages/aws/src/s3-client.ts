import type { S3Client } from "@aws-sdk/client-s3";
import { clientCache, describeSource, type SecretSource, ValidationError } from "@tributary/auth";
import { taskContext } from "@tributary/flow";
import { pickEndpoint } from "@tributary/integration-kit";
import { type AwsCredentialOptions, envRegion, resolveAwsCredentials } from "./aws-credentials.js";
import {
  type LeastPrivilegeOptions,
  noteScoped,
  noteUnscoped,
  type S3Scope,
  type SessionPolicy,
  s3SessionPolicy,
} from "./s3-scope.js";

/** The options of `s3Client`, shared by every S3 task. */
export interface S3ClientOptions extends AwsCredentialOptions, LeastPrivilegeOptions {
  /** The region. Default: `REGION` in `AWS_CREDENTIALS`, then `AWS_REGION`, `AWS_DEFAULT_REGION`, `us-east-1`. */
  region?: string;
  /**
   * A base URL for any S3-compatible service (MinIO, R2, moto, the stand-in). Default: `AWS_ENDPOINT_URL_S3`, then
   * `AWS_ENDPOINT_URL` (the AWS SDKs' own convention), else AWS itself.
   */
  endpoint?: string;
  /**
   * Address buckets as `endpoint/bucket` instead of `bucket.endpoint`. Default: true with a custom endpoint (MinIO,
   * moto and most compatible services need it), false for AWS itself.
   */
  forcePathStyle?: boolean;
  /** How many attempts the SDK makes per request (default 3: it retries 5xx, `SlowDown` and throttling). */
  maxAttempts?: number;
}

/** The options every S3 task takes to reach S3: the factory options, or a ready client. */
export interface S3ConnectionOptions extends S3ClientOptions {
  /** A ready client. When given it always wins and the credential options are not used. */
  client?: S3Client;
}

/** @internal A client, where its credential came from, and the SDK module (for its commands). */
export interface S3Connection {
  client: S3Client;
  source: SecretSource;
  sdk: typeof import("@aws-sdk/client-s3");
}

let sdkModule: Promise<typeof import("@aws-sdk/client-s3")> | undefined;
/**
 * @internal `@aws-sdk/client-s3`, loaded with the first connection: importing `@tributary/aws` then costs less than
 * importing the SDK, and a flow that never touches S3 never loads it.
 */
export function loadS3Sdk(): Promise<typeof import("@aws-sdk/client-s3")> {
  sdkModule ??= import("@aws-sdk/client-s3");
  return sdkModule;
}

/** The AWS SDKs' environment variables for the S3 endpoint, in the order they are honoured. */
export const S3_ENDPOINT_ENV = ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"] as const;

/** The session policy for a call's scopes; without scopes (`s3Client`, `s3Storage`) it says it cannot scope. */
function scopeOf(
  options: S3ConnectionOptions,
  scopes: readonly S3Scope[] | undefined,
): SessionPolicy | undefined {
  if (scopes) return s3SessionPolicy(scopes);
  noteUnscoped(
    options.secretName ?? "AWS_CREDENTIALS",
    "a client from s3Client or s3Storage serves any call; only the S3 tasks narrow their credentials",
  );
  return undefined;
}

/** @internal Resolves credentials and returns the cached client for them with their source. */
export async function s3Connection(
  options: S3ConnectionOptions = {},
  scopes?: readonly S3Scope[],
): Promise<S3Connection> {
  if (options.client !== undefined) {
    if (typeof (options.client as S3Client)?.send !== "function") {
      throw new ValidationError("client", "must be an S3Client");
    }
    if (options.leastPrivilege ?? taskContext()?.leastPrivilege) {
      noteUnscoped("the client option", "a ready client is used as it is");
    }
    return { client: options.client, source: { kind: "argument", detail: "client" }, sdk: await loadS3Sdk() };
  }
  const endpoint = pickEndpoint(options.endpoint, S3_ENDPOINT_ENV).url;
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
  const scope =
    (options.leastPrivilege ?? taskContext()?.leastPrivilege) === true ? scopeOf(options, scopes) : undefined;
  const creds = await resolveAwsCredentials(options, scope);
  if (scope) {
    if (creds.scoped) noteScoped(options.secretName ?? "AWS_CREDENTIALS", creds);
    else
      noteUnscoped(
        options.secretName ?? "AWS_CREDENTIALS",
        `${describeSource(creds.source)} has no ROLE_ARN to assume with a session policy`,
      );
  }
  const region = options.region ?? creds.region ?? envRegion() ?? "us-east-1";
  const forcePathStyle = options.forcePathStyle ?? endpoint !== undefined;
  const expiresAt = creds.expiresAt ? await creds.expiresAt() : undefined;
  const sdk = await loadS3Sdk();
  const key = `s3:${creds.id}:${region}:${endpoint ?? ""}:${forcePathStyle}:${maxAttempts}`;
  const client = clientCache.get(
    key,
    () =>
      new sdk.S3Client({
        region,
        credentials: creds.provider,
        forcePathStyle,
        maxAttempts,
        ...(endpoint ? { endpoint } : {}),
      }),
    // No dispose: a client dropped from the cache may still be serving a long transfer; its idle sockets are unref'd.
    expiresAt !== undefined ? { expiresAt } : {},
  );
  return { client, source: creds.source, sdk };
}

/**
 * Returns an S3 client for the resolved credentials, from the one client cache: one client per credential
 * fingerprint, region, endpoint and addressing style, so a thousand tasks with the same credentials share one.
 * With an assumed role the cached client is dropped before its temporary credentials expire.
 * @example
 * const s3 = await s3Client({ endpoint: "http://127.0.0.1:9000", forcePathStyle: true });
 * await s3.send(new ListBucketsCommand({}));
 */
export async function s3Client(options: S3ClientOptions = {}): Promise<S3Client> {
  return (await s3Connection(options)).client;
}
