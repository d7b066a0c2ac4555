import { open } from "node:fs/promises";
import type { Readable } from "node:stream";
import type { CompletedPart, S3Client } from "@aws-sdk/client-s3";

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
  /**
   * The part size of multipart uploads (at least 5 MiB, the default). Each part in flight is held in memory. A file
   * that would need more than S3's 10,000 parts is sent in parts of a ten-thousandth of its size.
   */
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
 * streams of unknown size, as a multipart upload, which is aborted on failure so no parts are left behind. A file is
 * read part by part into `queueSize` reused buffers; text, bytes and streams go through `@aws-sdk/lib-storage`.
 * Bad input (bucket, key, a missing file) fails before any request.
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
    const sendOptions = signal ? { abortSignal: signal } : {};
    try {
      // A file that fits in one part goes in one PutObject too, as lib-storage sends a body of one part.
      const onePart = opened.size !== undefined && options.file !== undefined && opened.size <= partSize;
      if (opened.size !== undefined && (opened.size < threshold || onePart)) {
        const out = await client.send(
          new sdk.PutObjectCommand({ ...params, Body: opened.body, ContentLength: opened.size }),
          sendOptions,
        );
        progress?.({ loaded: opened.size, total: opened.size, part: undefined });
        return { bucket, key, etag: out.ETag?.replace(/"/g, ""), size: opened.size, multipart: false };
      }
      if (options.file !== undefined && opened.size !== undefined) {
        // A file is read part by part straight into a few reused buffers: no stream chunks, no copies.
        const out = await uploadFileInParts(client, sdk, params, options.file, opened.size, {
          partSize,
          queueSize,
          sendOptions,
          ...(progress ? { progress } : {}),
        });
        return { bucket, key, etag: out.ETag?.replace(/"/g, ""), size: opened.size, multipart: true };
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

/** The most parts S3 takes in one multipart upload. */
const MAX_PARTS = 10_000;

/**
 * @internal Sends a file of known size as a multipart upload, as lib-storage would (the same requests, CRC32
 * checksums when the client computes them, the upload aborted on any failure so no parts are left behind), but
 * reads each part with a positioned read straight into one of `queueSize` buffers, each reused once its part is
 * acknowledged: the process holds `queueSize` parts and nothing else, where a file stream cut into parts holds
 * its 64 KiB chunks and a joined copy of each part until the garbage collector frees them.
 */
async function uploadFileInParts(
  client: S3Client,
  sdk: typeof import("@aws-sdk/client-s3"),
  params: { Bucket: string; Key: string; ContentType?: string; Metadata?: Record<string, string> },
  file: string,
  size: number,
  options: {
    partSize: number;
    queueSize: number;
    sendOptions: { abortSignal?: AbortSignal };
    progress?: (progress: S3UploadProgress) => void;
  },
): Promise<{ ETag?: string | undefined }> {
  const partSize = Math.max(options.partSize, Math.ceil(size / MAX_PARTS));
  const count = Math.max(1, Math.ceil(size / partSize));
  const { Bucket, Key } = params;
  const checksum = (await client.config.requestChecksumCalculation()) === "WHEN_SUPPORTED";
  const handle = await open(file, "r");
  let uploadId: string | undefined;
  try {
    const created = await client.send(
      new sdk.CreateMultipartUploadCommand({
        ...params,
        ...(checksum ? { ChecksumAlgorithm: "CRC32" } : {}),
      }),
      options.sendOptions,
    );
    uploadId = created.UploadId;
    const UploadId = uploadId;
    const parts: CompletedPart[] = new Array(count);
    let next = 0;
    let loaded = 0;
    let failed = false;
    const sender = async () => {
      let buffer: Buffer | undefined;
      while (next < count && !failed && !options.sendOptions.abortSignal?.aborted) {
        const index = next++;
        const start = index * partSize;
        const length = Math.min(partSize, size - start);
        buffer ??= Buffer.allocUnsafe(Math.min(partSize, size));
        const body = buffer.subarray(0, length);
        for (let read = 0; read < length; ) {
          const { bytesRead } = await handle.read(body, read, length - read, start + read);
          if (bytesRead === 0)
            throw new ValidationError("file", `${file} became shorter while it was uploaded`);
          read += bytesRead;
        }
        const out = await client.send(
          new sdk.UploadPartCommand({
            Bucket,
            Key,
            UploadId,
            PartNumber: index + 1,
            Body: body,
            ContentLength: length,
          }),
          options.sendOptions,
        );
        if (!out.ETag) throw new Error(`S3 answered part ${index + 1} without an ETag`);
        parts[index] = {
          PartNumber: index + 1,
          ETag: out.ETag,
          ...(out.ChecksumCRC32 ? { ChecksumCRC32: out.ChecksumCRC32 } : {}),
          ...(out.ChecksumCRC32C ? { ChecksumCRC32C: out.ChecksumCRC32C } : {}),
          ...(out.ChecksumCRC64NVME ? { ChecksumCRC64NVME: out.ChecksumCRC64NVME } : {}),
          ...(out.ChecksumSHA1 ? { ChecksumSHA1: out.ChecksumSHA1 } : {}),
          ...(out.ChecksumSHA256 ? { ChecksumSHA256: out.ChecksumSHA256 } : {}),
        };
        loaded += length;
        options.progress?.({ loaded, total: size, part: index + 1 });
      }
    };
    // Every sender settles before the upload is completed or aborted: a part still in flight would outlive the abort.
    const settled = await Promise.allSettled(
      Array.from({ length: Math.min(options.queueSize, count) }, () =>
        sender().catch((error: unknown) => {
          failed = true;
          throw error;
        }),
      ),
    );
    const rejected = settled.find((s): s is PromiseRejectedResult => s.status === "rejected");
    if (rejected) throw rejected.reason;
    options.sendOptions.abortSignal?.throwIfAborted();
    const out = await client.send(
      new sdk.CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts: parts } }),
      options.sendOptions,
    );
    uploadId = undefined;
    return out;
  } catch (error) {
    if (uploadId !== undefined) {
      // Not under the task's signal: an aborted task still removes its parts.
      await client
        .send(new sdk.AbortMultipartUploadCommand({ Bucket, Key, UploadId: uploadId }))
        .catch(() => undefined);
    }
    throw error;
  } finally {
    await handle.close();
  }
}
