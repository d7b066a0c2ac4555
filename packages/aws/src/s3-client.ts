import type { S3Client } from "@aws-sdk/client-s3";
import type { SecretSource } from "@tributary/auth";
import { pickEndpoint } from "@tributary/integration-kit";
import { type AwsClientOptions, type AwsService, awsConnection } from "./aws-client.js";
import { type S3Scope, s3SessionPolicy } from "./s3-scope.js";

/** The options of `s3Client`, shared by every S3 task. */
export interface S3ClientOptions extends AwsClientOptions {
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

/** @internal S3 as the shared connection code sees it, for one addressing style. */
function s3Service(forcePathStyle: boolean): AwsService<S3Client, typeof import("@aws-sdk/client-s3")> {
  return {
    id: "s3",
    package: "@aws-sdk/client-s3",
    clientName: "S3Client",
    endpointEnv: S3_ENDPOINT_ENV,
    load: loadS3Sdk,
    make: (sdk, config) => new sdk.S3Client({ ...config, forcePathStyle }),
    keyExtra: String(forcePathStyle),
  };
}

/** @internal Resolves credentials and returns the cached client for them with their source. */
export async function s3Connection(
  options: S3ConnectionOptions = {},
  scopes?: readonly S3Scope[],
): Promise<S3Connection> {
  const endpoint =
    options.client === undefined ? pickEndpoint(options.endpoint, S3_ENDPOINT_ENV).url : undefined;
  const forcePathStyle = options.forcePathStyle ?? endpoint !== undefined;
  return awsConnection(s3Service(forcePathStyle), options, () =>
    scopes
      ? s3SessionPolicy(scopes)
      : {
          unscoped:
            "a client from s3Client or s3Storage serves any call; only the S3 tasks narrow their credentials",
        },
  );
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
