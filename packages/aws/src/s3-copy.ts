import { CopyObjectCommand } from "@aws-sdk/client-s3";
import { task, taskContext } from "@tributary/flow";
import { toAwsError } from "./errors.js";
import { type S3ConnectionOptions, s3Connection } from "./s3-client.js";
import { checkBucket, checkKey } from "./validate.js";

/** The options of `s3Copy`. */
export interface S3CopyOptions extends S3ConnectionOptions {
  /** The bucket to copy from. */
  sourceBucket: string;
  /** The key to copy from. */
  sourceKey: string;
  /** The bucket to copy to. Default: `sourceBucket`. */
  bucket?: string;
  /** The key to copy to. */
  key: string;
  /** Replace the Content-Type (and metadata) instead of copying them. */
  contentType?: string;
  /** Replace the user metadata instead of copying it. */
  metadata?: Record<string, string>;
}

/** What `s3Copy` returns. */
export interface S3CopyResult {
  bucket: string;
  key: string;
  /** The new object's ETag, without quotes. */
  etag: string | undefined;
}

/**
 * Copies an object inside S3 (server-side, up to 5 GB: S3's limit for a single copy).
 * @example
 * await s3Copy({ sourceBucket: "incoming", sourceKey: "a.csv", bucket: "archive", key: "2026/a.csv" });
 */
export const s3Copy = task({ name: "s3Copy" }, async (options: S3CopyOptions): Promise<S3CopyResult> => {
  const sourceBucket = checkBucket(options.sourceBucket, "sourceBucket");
  const sourceKey = checkKey(options.sourceKey, "sourceKey");
  const bucket = checkBucket(options.bucket ?? sourceBucket);
  const key = checkKey(options.key);
  const { client, source } = await s3Connection(options, [
    { actions: ["s3:GetObject"], bucket: sourceBucket, key: sourceKey },
    { actions: ["s3:PutObject"], bucket, key },
  ]);
  const signal = taskContext()?.signal;
  const replace = options.contentType !== undefined || options.metadata !== undefined;
  try {
    const out = await client.send(
      new CopyObjectCommand({
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
