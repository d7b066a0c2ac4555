import type { Readable } from "node:stream";

import { ValidationError } from "@tributary/auth";
import { task, taskContext } from "@tributary/flow";
import { openUploadSource } from "@tributary/integration-kit";
import { toAwsError } from "./aws-errors.js";
import { type S3ConnectionOptions, s3Connection } from "./s3-client.js";
import { checkBucket, checkKey } from "./validate.js";

/** One progress event of an upload. */
export interface S3UploadProgress {
  /** Bytes sent so far. */
  loaded: number;
  /** The total, when known. */
  total: number | undefined;
  /** The part just sent (multipart uploads). */
  part: number | undefined;
}

/** The options of `s3Upload`. Give exactly one of `file` and `body`. */
export interface S3UploadOptions extends S3ConnectionOptions {
  /** The bucket. */
  bucket: string;
  /** The object key. */
  key: string;
  /** A path to a file to upload (streamed, never read whole). */
  file?: string;
  /** Text (sent as UTF-8), bytes or a stream. */
  body?: string | Uint8Array | Readable | AsyncIterable<Uint8Array>;
  /** The object's Content-Type. */
  contentType?: string;
  /** User metadata (`x-amz-meta-*`). */
  metadata?: Record<string, string>;
  /** Bodies of at least this many bytes, or of unknown size, go as a multipart upload. Default 8 MiB. */
  multipartThreshold?: number;
  /** The part size of multipart uploads (at least 5 MiB, the default). Each part in flight is held in memory. */
  partSize?: number;
  /** How many parts are sent at once. Default 4. */
  queueSize?: number;
  /** Called as bytes are sent. */
  onProgress?: (progress: S3UploadProgress) => void;
}

/** What `s3Upload` returns. */
export interface S3UploadResult {
  bucket: string;
  key: string;
  /** The object's ETag, without quotes. */
  etag: string | undefined;
  /** The bytes sent, when known. */
  size: number | undefined;
  /** Whether it went as a multipart upload. */
  multipart: boolean;
}

const MiB = 1024 * 1024;
let libStorage: Promise<typeof import("@aws-sdk/lib-storage")> | undefined;

function checkSize(value: number | undefined, option: string, min: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min)
    throw new ValidationError(option, `must be a whole number of at least ${min}`);
  return value;
}

/**
 * Uploads a file, text, bytes or a stream to S3. Small bodies of known size go in one `PutObject`; larger ones, and
 * streams of unknown size, as a multipart upload through `@aws-sdk/lib-storage`, which is aborted on failure so no
 * parts are left behind. Bad input (bucket, key, a missing file) fails before any request.
 * @example
 * await s3Upload({ bucket: "reports", key: "2026/11/report.csv", file: "./report.csv", contentType: "text/csv" });
 */
export const s3Upload = task(
  { name: "s3Upload" },
  async (options: S3UploadOptions): Promise<S3UploadResult> => {
    const bucket = checkBucket(options.bucket);
    const key = checkKey(options.key);
    const threshold = checkSize(options.multipartThreshold, "multipartThreshold", 0, 8 * MiB);
    // lib-storage's own default: each part in flight is held in memory, so a larger one costs RSS, not speed.
    const partSize = checkSize(options.partSize, "partSize", 5 * MiB, 5 * MiB);
    const queueSize = checkSize(options.queueSize, "queueSize", 1, 4);
    if (options.onProgress !== undefined && typeof options.onProgress !== "function") {
      throw new ValidationError("onProgress", "must be a function");
    }
    if (
      options.contentType !== undefined &&
      (typeof options.contentType !== "string" || !options.contentType)
    ) {
      throw new ValidationError("contentType", "must be a non-empty string such as text/csv");
    }
    const opened = await openUploadSource({
      ...(options.file !== undefined ? { file: options.file } : {}),
      ...(options.body !== undefined ? { body: options.body } : {}),
    });
    const { client, source, sdk } = await s3Connection(options, [
      { actions: ["s3:PutObject", "s3:AbortMultipartUpload"], bucket, key },
    ]).catch((error) => {
      if (typeof (opened.body as Readable).destroy === "function") (opened.body as Readable).destroy();
      throw error;
    });
    const signal = taskContext()?.signal;
    const params = {
      Bucket: bucket,
      Key: key,
      ...(options.contentType ? { ContentType: options.contentType } : {}),
      ...(options.metadata ? { Metadata: options.metadata } : {}),
    };
    const what = `uploading s3://${bucket}/${key}`;
    const progress = options.onProgress;
    try {
      if (opened.size !== undefined && opened.size < threshold) {
        const out = await client.send(
          new sdk.PutObjectCommand({ ...params, Body: opened.body, ContentLength: opened.size }),
          signal ? { abortSignal: signal } : {},
        );
        progress?.({ loaded: opened.size, total: opened.size, part: undefined });
        return { bucket, key, etag: out.ETag?.replace(/"/g, ""), size: opened.size, multipart: false };
      }
      // lib-storage loads only for uploads that need it: most programs never send a multipart upload.
      libStorage ??= import("@aws-sdk/lib-storage");
      const { Upload } = await libStorage;
      const upload = new Upload({
        client,
        params: {
          ...params,
          Body: opened.body,
          ...(opened.size !== undefined ? { ContentLength: opened.size } : {}),
        },
        partSize,
        queueSize,
        leavePartsOnError: false,
      });
      if (progress) {
        upload.on("httpUploadProgress", (p) =>
          progress({ loaded: p.loaded ?? 0, total: p.total ?? opened.size, part: p.part }),
        );
      }
      const onAbort = () => void upload.abort();
      signal?.addEventListener("abort", onAbort, { once: true });
      try {
        const out = await upload.done();
        return { bucket, key, etag: out.ETag?.replace(/"/g, ""), size: opened.size, multipart: true };
      } finally {
        signal?.removeEventListener("abort", onAbort);
      }
    } catch (error) {
      throw toAwsError(error, "S3", source, what, signal);
    } finally {
      if (typeof (opened.body as Readable).destroy === "function") (opened.body as Readable).destroy();
    }
  },
);
