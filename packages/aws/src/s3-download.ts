import type { Readable } from "node:stream";
import type { GetObjectCommandOutput } from "@aws-sdk/client-s3";
import { ServiceError, ValidationError } from "@tributary/auth";
import { type Task, task, taskContext } from "@tributary/flow";
import { checkDestination, writeFileAtomic } from "@tributary/integration-kit";
import { isAbort, toAwsError } from "./aws-errors.js";
import { type S3ConnectionOptions, s3Connection } from "./s3-client.js";
import { checkBucket, checkKey } from "./validate.js";

/** The options of `s3Download`: `destination` writes a file; otherwise `as` picks a `Buffer` (the default) or a stream. */
export interface S3DownloadOptions extends S3ConnectionOptions {
  /** The bucket. */
  bucket: string;
  /** The object key. */
  key: string;
  /**
   * A file path to write to. The bytes go to a temporary file in the same folder, flushed and renamed: a failed
   * download never leaves a partial file there. The folder must exist.
   */
  destination?: string;
  /** Without `destination`: `"buffer"` (the default) or `"stream"` (a `Readable`, for large objects). */
  as?: "buffer" | "stream";
  /** Only these bytes (inclusive, from 0), as with an HTTP Range. */
  range?: { start: number; end?: number };
}

/** What every download returns. */
export interface S3DownloadInfo {
  bucket: string;
  key: string;
  /** The object's ETag, without quotes. */
  etag: string | undefined;
  /** Its Content-Type. */
  contentType: string | undefined;
  /** Bytes received (or announced, for a stream). */
  size: number | undefined;
}
/** What a download to a file returns. */
export interface S3DownloadFileResult extends S3DownloadInfo {
  /** The absolute path written. */
  path: string;
}
/** What a download as a buffer returns. */
export interface S3DownloadBufferResult extends S3DownloadInfo {
  body: Buffer;
}
/** What a download as a stream returns. */
export interface S3DownloadStreamResult extends S3DownloadInfo {
  body: Readable;
}
/** Any download result. */
export type S3DownloadResult = S3DownloadFileResult | S3DownloadBufferResult | S3DownloadStreamResult;

/** The `s3Download` task, typed by where the bytes go. */
export type S3DownloadTask = {
  (options: S3DownloadOptions & { destination: string; as?: undefined }): Promise<S3DownloadFileResult>;
  (options: S3DownloadOptions & { as: "stream"; destination?: undefined }): Promise<S3DownloadStreamResult>;
  (options: S3DownloadOptions & { as?: "buffer"; destination?: undefined }): Promise<S3DownloadBufferResult>;
} & Task<[S3DownloadOptions], S3DownloadResult>;

function rangeHeader(range: S3DownloadOptions["range"]): string | undefined {
  if (range === undefined) return undefined;
  const { start, end } = range;
  if (
    !Number.isInteger(start) ||
    start < 0 ||
    (end !== undefined && (!Number.isInteger(end) || end < start))
  ) {
    throw new ValidationError("range", "give whole numbers with 0 <= start <= end");
  }
  return `bytes=${start}-${end ?? ""}`;
}

/**
 * Downloads an object to a file (atomically: temp file in the same folder, then rename), a `Buffer` or a stream.
 * Bad input (bucket, key, a destination folder that does not exist) fails before any request.
 * @example
 * const { path } = await s3Download({ bucket: "reports", key: "2026/11/report.csv", destination: "./report.csv" });
 * const { body } = await s3Download({ bucket: "reports", key: "small.json" });
 */
export const s3Download = task(
  { name: "s3Download" },
  async (options: S3DownloadOptions): Promise<S3DownloadResult> => {
    const bucket = checkBucket(options.bucket);
    const key = checkKey(options.key);
    if (options.destination !== undefined && options.as !== undefined) {
      throw new ValidationError("as", "give either `destination` (a file) or `as`, not both");
    }
    if (options.as !== undefined && options.as !== "buffer" && options.as !== "stream") {
      throw new ValidationError("as", 'must be "buffer" or "stream"');
    }
    const destination =
      options.destination !== undefined ? await checkDestination(options.destination) : undefined;
    const range = rangeHeader(options.range);
    const { client, source, sdk } = await s3Connection(options, [{ actions: ["s3:GetObject"], bucket, key }]);
    const signal = taskContext()?.signal;
    const what = `downloading s3://${bucket}/${key}`;
    let response: GetObjectCommandOutput;
    try {
      response = await client.send(
        new sdk.GetObjectCommand({ Bucket: bucket, Key: key, ...(range ? { Range: range } : {}) }),
        signal ? { abortSignal: signal } : {},
      );
    } catch (error) {
      throw toAwsError(error, "S3", source, what, signal);
    }
    const body = response.Body as Readable | undefined;
    const info: S3DownloadInfo = {
      bucket,
      key,
      etag: response.ETag?.replace(/"/g, ""),
      contentType: response.ContentType,
      size: response.ContentLength,
    };
    if (!body) throw new ServiceError("BAD_RESPONSE", "S3", `${what}: the answer had no body`);
    if (options.as === "stream") return { ...info, body };
    try {
      if (destination === undefined) {
        const chunks: Buffer[] = [];
        for await (const chunk of body) chunks.push(chunk as Buffer);
        const bytes = Buffer.concat(chunks);
        checkLength(bytes.length, response.ContentLength, what);
        return { ...info, size: bytes.length, body: bytes };
      }
      const written = await writeFileAtomic(destination as string, body, {
        ...(signal ? { signal } : {}),
      });
      return { ...info, size: written.bytes, path: written.path };
    } catch (error) {
      body.destroy();
      if (isAbort(error, signal) || ServiceError.isInstance(error)) throw error;
      throw new ServiceError(
        "DOWNLOAD_INTERRUPTED",
        "S3",
        `${what}: the transfer broke off (${(error as Error).message}); nothing was written to the destination`,
        undefined,
        { cause: error, retryable: true },
      );
    }
  },
) as S3DownloadTask;

function checkLength(received: number, expected: number | undefined, what: string): void {
  if (expected !== undefined && received !== expected) {
    throw new ServiceError(
      "DOWNLOAD_INTERRUPTED",
      "S3",
      `${what}: received ${received} of ${expected} bytes`,
      undefined,
      {
        retryable: true,
      },
    );
  }
}
