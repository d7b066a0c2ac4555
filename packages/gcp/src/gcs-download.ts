import { PassThrough, type Readable } from "node:stream";
import { ServiceError, ValidationError } from "@tributary/auth";
import { checkDestination, writeFileAtomic } from "@tributary/integration-kit";
import {
  backoffMs,
  callGoogle,
  type GoogleCallContext,
  isRetryable,
  sleep,
  toGcpError,
} from "./gcp-errors.js";
import { type GcsClient, type GcsClientOptions, gcsClient } from "./gcs-client.js";
import { checkBucket, checkObjectName, gsUri } from "./gcs-names.js";
import type { GcsCallContext, GcsProgress } from "./gcs-upload.js";

/** The options of `gcsDownload`: `destination` writes a file; otherwise `as` picks a `Buffer` (the default) or a stream. */
export interface GcsDownloadOptions extends GcsClientOptions {
  /** The bucket name (without `gs://`). */
  bucket: string;
  /** The object's key. */
  key: string;
  /**
   * Write to this file: through a temporary file in the same folder, flushed and renamed at the end, so a failed
   * download never leaves a partial file there. Without it the object is returned as a Buffer or a stream (`as`).
   */
  destination?: string | undefined;
  /** Without `destination`: `"buffer"` (default) or `"stream"` (a Node `Readable`, for large objects). */
  as?: "buffer" | "stream" | undefined;
  /** Only these bytes (inclusive, from 0), as with an HTTP Range. */
  range?: { start: number; end?: number } | undefined;
  /** Read this generation of the object instead of the live one. */
  generation?: string | number | undefined;
  /** Called as bytes arrive. */
  onProgress?: ((progress: GcsProgress) => void) | undefined;
  /** Retries for throttling, server errors and dropped connections; a dropped download resumes with a Range request. Default 3. */
  retries?: number | undefined;
}

/** What every download returns. */
export interface GcsDownloadInfo {
  /** The bucket. */
  bucket: string;
  /** The object's key. */
  key: string;
  /** Bytes received (for a stream: announced, when known). */
  size: number | undefined;
  /** The object's ETag. */
  etag: string | undefined;
  /** The object's content type. */
  contentType: string | undefined;
  /** The generation read. */
  generation: string | undefined;
}
/** What a download to a file returns. */
export interface GcsDownloadFileResult extends GcsDownloadInfo {
  /** The absolute path written. */
  path: string;
}
/** What a download as a Buffer returns. */
export interface GcsDownloadBufferResult extends GcsDownloadInfo {
  /** The object's bytes. */
  body: Buffer;
}
/** What a download as a stream returns. */
export interface GcsDownloadStreamResult extends GcsDownloadInfo {
  /** The object's bytes, as they arrive. */
  body: Readable;
}
/** Any download result. */
export type GcsDownloadResult = GcsDownloadFileResult | GcsDownloadBufferResult | GcsDownloadStreamResult;

function headerValue(headers: unknown, name: string): string | undefined {
  if (!headers) return undefined;
  if (typeof (headers as Headers).get === "function") return (headers as Headers).get(name) ?? undefined;
  const value = (headers as Record<string, unknown>)[name];
  return typeof value === "string" ? value : undefined;
}

interface MediaResponse {
  status: number;
  data: Readable;
  headers: unknown;
}

class ShortRead extends Error {
  readonly code = "ERR_STREAM_PREMATURE_CLOSE";
  constructor(received: number, total: number) {
    super(`premature close: received ${received} of ${total} bytes`);
  }
}

/**
 * Downloads an object from Cloud Storage to a file (atomically), a Buffer or a stream. A connection dropped
 * mid-download resumes from the last byte received, pinned to the same generation.
 * @example
 * await downloadObject({ bucket: "reports", key: "daily.csv", destination: "./daily.csv" });
 * const { body } = await downloadObject({ bucket: "reports", key: "daily.csv" });
 */
export async function downloadObject(
  options: GcsDownloadOptions,
  context: GcsCallContext = {},
): Promise<GcsDownloadResult> {
  if (!options || typeof options !== "object") throw new ValidationError("options", "give { bucket, key }");
  const bucket = checkBucket(options.bucket);
  const name = checkObjectName(options.key);
  const range = options.range;
  if (
    range !== undefined &&
    (typeof range !== "object" ||
      !Number.isInteger(range.start) ||
      range.start < 0 ||
      (range.end !== undefined && (!Number.isInteger(range.end) || range.end < range.start)))
  ) {
    throw new ValidationError("range", "give whole numbers with 0 <= start <= end");
  }
  const rangeStart = range?.start ?? 0;
  if (options.as !== undefined && options.as !== "buffer" && options.as !== "stream") {
    throw new ValidationError("as", 'must be "buffer" or "stream"');
  }
  if (options.as !== undefined && options.destination !== undefined) {
    throw new ValidationError("as", "give either `destination` (a file) or `as`, not both");
  }
  if (options.generation !== undefined && !/^[1-9]\d*$/.test(String(options.generation))) {
    throw new ValidationError("generation", "must be a generation number");
  }
  const retries = options.retries ?? 3;
  if (!Number.isInteger(retries) || retries < 0)
    throw new ValidationError("retries", "must be a whole number (0 or more)");
  const destination =
    options.destination !== undefined ? await checkDestination(options.destination) : undefined;
  const signal = context.signal;
  const client: GcsClient = await gcsClient(options, { bucket, object: name, access: "read" });
  const ctx: GoogleCallContext = {
    service: "Cloud Storage",
    source: client.auth.source,
    resource: gsUri(bucket, name),
    endpoint: client.endpoint,
  };
  const call = { retries, signal };

  const open = (generation: string | undefined, from: number): Promise<MediaResponse> =>
    callGoogle(
      client.auth,
      ctx,
      async () =>
        (await client.storage.objects.get(
          { bucket, object: name, alt: "media", ...(generation ? { generation } : {}) },
          {
            responseType: "stream",
            retry: false,
            ...(rangeStart + from > 0 || range?.end !== undefined
              ? { headers: { Range: `bytes=${rangeStart + from}-${range?.end ?? ""}` } }
              : {}),
            ...(signal ? { signal } : {}),
          },
        )) as unknown as MediaResponse,
      call,
    );

  const first = await open(options.generation === undefined ? undefined : String(options.generation), 0);
  const generation =
    headerValue(first.headers, "x-goog-generation") ??
    (options.generation === undefined ? undefined : String(options.generation));
  const encoded = headerValue(first.headers, "content-encoding");
  const lengthHeader = headerValue(first.headers, "content-length");
  const total = encoded || lengthHeader === undefined ? undefined : Number(lengthHeader);
  const contentType = headerValue(first.headers, "content-type");
  const etag = headerValue(first.headers, "etag");
  const info = { bucket, key: name, etag, contentType, generation };
  let received = 0;

  // Bytes flow through native stream piping (no per-chunk async step); a dropped connection is resumed by
  // attaching the answer to a Range request for the rest to the same output.
  const out = new PassThrough({ highWaterMark: 256 * 1024 });
  let current = first;
  let failures = 0;
  let finished = false;
  // The consumer may attach after a failure (writeFileAtomic checks the folder first); it still sees the error,
  // through the stream's stored error, and the process does not crash on an "unhandled" one meanwhile.
  out.on("error", () => undefined);
  out.once("close", () => {
    finished = true;
    current.data.destroy();
  });
  const fail = async (failed: unknown) => {
    current.data.destroy();
    if (finished) return;
    try {
      if (signal?.aborted) throw signal.reason ?? failed;
      // Only a download of known size, not re-encoded on the way, can resume at a byte offset.
      if (total === undefined || !isRetryable(failed) || ++failures > retries) throw toGcpError(failed, ctx);
      await sleep(backoffMs(failures, failed), signal);
      const next = await open(generation, received);
      if (next.status !== 206) {
        next.data.destroy();
        throw new ServiceError(
          "BAD_RESPONSE",
          "Cloud Storage",
          `${ctx.resource}: a resumed download was not answered with a range`,
        );
      }
      if (finished) {
        next.data.destroy();
        return;
      }
      follow(next);
    } catch (error) {
      out.destroy(error as Error);
    }
  };
  const follow = (response: MediaResponse) => {
    current = response;
    const src = response.data;
    const onDrain = () => src.resume();
    const cleanup = () => {
      out.off("drain", onDrain);
      src.off("data", onData);
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      options.onProgress?.({ bytes: received, total });
      if (!out.write(chunk)) src.pause();
    };
    out.on("drain", onDrain);
    src.on("data", onData);
    src.once("end", () => {
      cleanup();
      if (total !== undefined && received < total) void fail(new ShortRead(received, total));
      else out.end();
    });
    src.once("error", (error) => {
      cleanup();
      void fail(error);
    });
  };
  follow(first);

  if (destination !== undefined) {
    const written = await writeFileAtomic(destination, out, signal ? { signal } : {});
    return { ...info, size: written.bytes, path: written.path };
  }
  if (options.as === "stream") return { ...info, size: total, body: out };
  const chunks: Buffer[] = [];
  for await (const chunk of out) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks);
  return { ...info, size: body.length, body };
}
