import { ServiceError, ValidationError } from "@tributary/auth";
import {
  type FlowStorage,
  objectStorage,
  objectStorageKind,
  type StorageCallOptions,
  type StorageKind,
} from "@tributary/flow";
import { toAwsError } from "./aws-errors.js";
import { type S3ClientOptions, s3Connection } from "./s3-client.js";
import { checkBucket } from "./validate.js";

/** The names a storage declares unless told: none with explicit credentials, else `secretName` or `AWS_CREDENTIALS`. */
function defaultSecrets(connection: S3ClientOptions): readonly string[] {
  if (connection.credentials !== undefined || connection.profile !== undefined) return Object.freeze([]);
  return Object.freeze([connection.secretName ?? "AWS_CREDENTIALS"]);
}

/** The options of `s3Storage`: where deployments live, the secrets to declare, and the S3 client's options. */
export interface S3StorageOptions extends S3ClientOptions {
  /** The bucket. */
  bucket: string;
  /** A key prefix such as `prod/`; each deployment is `<prefix><flow>/`. Default: the bucket's root. */
  prefix?: string;
  /**
   * Secret names declared for every run and resolved before the pull. Default: `secretName` when given, else
   * `AWS_CREDENTIALS`; none when `credentials` or `profile` is given.
   */
  secrets?: readonly string[];
}

/**
 * An S3 bucket (or any S3-compatible service) as flow storage: the deployment `nightly` is the objects
 * `<prefix>nightly/manifest.json` and `<prefix>nightly/flow.mjs`, at the address `s3://<bucket>/<prefix>nightly`.
 * Reads and writes go through `s3Client` with the same options as the S3 tasks, so the credential comes from
 * `AWS_CREDENTIALS` (or `secretName`) in the run's secret scope, and `AWS_ENDPOINT_URL_S3` is honoured.
 * @example
 * const nightly = flow(
 *   { name: "nightly", storage: s3Storage({ bucket: "flows", prefix: "prod/", secrets: ["AWS_CREDENTIALS"] }) },
 *   async ({ log }) => log.info("hello"),
 * );
 */
export function s3Storage(options: S3StorageOptions): FlowStorage {
  if (!options || typeof options !== "object")
    throw new ValidationError("options", "give { bucket, prefix? }");
  const { bucket: rawBucket, prefix, secrets, ...connection } = options;
  const bucket = checkBucket(rawBucket);
  const uri = (k: string) => `s3://${bucket}/${k}`;
  const abort = (call: StorageCallOptions) => (call.signal ? { abortSignal: call.signal } : {});
  return objectStorage({
    scheme: "s3",
    bucket,
    prefix,
    secrets,
    defaultSecrets: defaultSecrets(connection),
    connect: () => s3Connection(connection),
    async put({ client, source, sdk }, key, bytes, contentType, call) {
      try {
        await client.send(
          new sdk.PutObjectCommand({ Bucket: bucket, Key: key, Body: bytes, ContentType: contentType }),
          abort(call),
        );
      } catch (error) {
        throw toAwsError(error, "S3", source, `writing ${uri(key)}`, call.signal);
      }
    },
    async get({ client, source, sdk }, key, call) {
      try {
        const response = await client.send(
          new sdk.GetObjectCommand({ Bucket: bucket, Key: key }),
          abort(call),
        );
        if (!response.Body)
          throw new ServiceError("EMPTY_RESPONSE", "S3", `reading ${uri(key)}: the answer had no body`);
        return await response.Body.transformToByteArray();
      } catch (error) {
        throw toAwsError(error, "S3", source, `reading ${uri(key)}`, call.signal);
      }
    },
  });
}

/** The `s3://` storage kind, with connection options applied to every storage it builds. */
export interface S3StorageKind extends StorageKind {
  /** A kind whose storages use these S3 client options (an endpoint for MinIO, a region …). */
  configure(options: S3ClientOptions): S3StorageKind;
}

/**
 * The `s3://` kind for `runDeployment` and the CLI: `s3://flows/prod/nightly` is the deployment `nightly` in
 * `s3Storage({ bucket: "flows", prefix: "prod/" })`, declaring `AWS_CREDENTIALS`.
 * @example
 * await runDeployment("s3://flows/prod/nightly", { kinds: [s3StorageKind.configure({ endpoint: minio })] });
 */
export const s3StorageKind: S3StorageKind = objectStorageKind<S3ClientOptions>({
  scheme: "s3",
  noBucket: "an s3:// address starts with the bucket: s3://bucket/prefix/flow",
  defaultSecrets,
  checkBucket,
  storage: (connection, bucket, prefix) => s3Storage({ ...connection, bucket, prefix }),
});
