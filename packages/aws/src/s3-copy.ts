import { task, taskContext } from "@tributary/flow";
import { type CopyFrom, type CopyTo, checkCopyEnds } from "@tributary/integration-kit";
import { toAwsError } from "./aws-errors.js";
import { type S3ConnectionOptions, s3Connection } from "./s3-client.js";
import { checkBucket, checkKey } from "./validate.js";

/** The options of `s3Copy`. */
export interface S3CopyOptions extends S3ConnectionOptions {
  /** The object to copy. */
  from: CopyFrom;
  /** Where to copy it: another bucket, another key, or both. */
  to: CopyTo;
  /** Replace the Content-Type (and metadata) instead of copying them. */
  contentType?: string;
  /** Replace the user metadata instead of copying it. */
  metadata?: Record<string, string>;
}

/** What `s3Copy` returns: the new object. */
export interface S3CopyResult {
  /** The destination bucket. */
  bucket: string;
  /** The destination key. */
  key: string;
  /** The new object's ETag, without quotes. */
  etag: string | undefined;
}

/**
 * Copies an object inside S3 (server-side, up to 5 GB: S3's limit for a single copy).
 * @example
 * await s3Copy({ from: { bucket: "incoming", key: "a.csv" }, to: { bucket: "archive", key: "2026/a.csv" } });
 */
export const s3Copy = task({ name: "s3Copy" }, async (options: S3CopyOptions): Promise<S3CopyResult> => {
  // Copying an object onto itself is how S3 replaces its metadata: allowed only then.
  const replace = options?.contentType !== undefined || options?.metadata !== undefined;
  const { from, to } = checkCopyEnds(options, checkBucket, checkKey, replace);
  const [sourceBucket, sourceKey, bucket, key] = [from.bucket, from.key, to.bucket, to.key];
  const { client, source, sdk } = await s3Connection(options, [
    { actions: ["s3:GetObject"], bucket: sourceBucket, key: sourceKey },
    { actions: ["s3:PutObject"], bucket, key },
  ]);
  const signal = taskContext()?.signal;
  try {
    const out = await client.send(
      new sdk.CopyObjectCommand({
        Bucket: bucket,
        Key: key,
        CopySource: `${sourceBucket}/${sourceKey.split("/").map(encodeURIComponent).join("/")}`,
        ...(replace ? { MetadataDirective: "REPLACE" } : {}),
        ...(options.contentType ? { ContentType: options.contentType } : {}),
        ...(options.metadata ? { Metadata: options.metadata } : {}),
      }),
      signal ? { abortSignal: signal } : {},
    );
    return { bucket, key, etag: out.CopyObjectResult?.ETag?.replace(/"/g, "") };
  } catch (error) {
    throw toAwsError(
      error,
      "S3",
      source,
      `copying s3://${sourceBucket}/${sourceKey} to s3://${bucket}/${key}`,
      signal,
    );
  }
});
