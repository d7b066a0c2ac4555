import { CopyObjectCommand } from "@aws-sdk/client-s3";
import { ValidationError } from "@tributary/auth";
import { task, taskContext } from "@tributary/flow";
import { toAwsError } from "./errors.js";
import { type S3ConnectionOptions, s3Connection } from "./s3-client.js";
import { checkBucket, checkKey } from "./validate.js";

/** The object to copy from. */
export interface S3CopyFrom {
  /** The bucket. */
  bucket: string;
  /** The object key. */
  key: string;
}

/** Where to copy to: each part defaults to the source's. */
export interface S3CopyTo {
  /** The bucket. Default: the source bucket. */
  bucket?: string;
  /** The object key. Default: the source key. */
  key?: string;
}

/** The options of `s3Copy`. */
export interface S3CopyOptions extends S3ConnectionOptions {
  /** The object to copy. */
  from: S3CopyFrom;
  /** Where to copy it: another bucket, another key, or both. */
  to: S3CopyTo;
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
  const { from, to } = checkCopyEnds(options);
  const sourceBucket = checkBucket(from.bucket, "from.bucket");
  const sourceKey = checkKey(from.key, "from.key");
  const bucket = checkBucket(to.bucket ?? sourceBucket, "to.bucket");
  const key = checkKey(to.key ?? sourceKey, "to.key");
  if (bucket === sourceBucket && key === sourceKey && options.contentType === undefined && !options.metadata) {
    throw new ValidationError("to", "is the source itself; give another `to.bucket` or `to.key`");
  }
  const { client, source } = await s3Connection(options);
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

/** @internal Checks that `from` and `to` are objects before their parts are read. */
export function checkCopyEnds<F, T>(options: { from: F; to: T }): { from: F; to: T } {
  if (!options || typeof options !== "object") throw new ValidationError("options", "give { from, to }");
  for (const end of ["from", "to"] as const) {
    const value = options[end];
    if (!value || typeof value !== "object") {
      throw new ValidationError(end, `must be an object such as { bucket: "…", key: "…" }`);
    }
  }
  return options;
}
