import { createReadStream } from "node:fs";
import { extname } from "node:path";
import { Readable } from "node:stream";
import type { storage_v1 } from "@googleapis/storage";
import { ServiceError, ValidationError } from "@tributary/auth";
import { openUploadSource, type UploadSource } from "@tributary/integration-kit";
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
import { type GcsObjectInfo, toObjectInfo } from "./gcs-object-info.js";

const KiB = 1024;
const MiB = 1024 * KiB;
/** Resumable chunks must be multiples of 256 KiB (all but the last). */
const QUANTUM = 256 * KiB;

/** Progress of an upload or a download. */
export interface GcsProgress {
  /** Bytes sent (or received) so far. */
  bytes: number;
  /** The total, when known. */
  total: number | undefined;
}

/** The options of `gcsUpload`. Give exactly one of `file` or `body`. */
export interface GcsUploadOptions extends GcsClientOptions, UploadSource {
  /** The bucket name (without `gs://`). */
  bucket: string;
  /** The object's key, such as `reports/2024-05-01.csv`. */
  key: string;
  /** The object's content type. Default: guessed from the file extension, `text/plain` for a string, else `application/octet-stream`. */
  contentType?: string | undefined;
  /** Custom object metadata. */
  metadata?: Record<string, string> | undefined;
  /**
   * From this size on, the upload is resumable: sent in a session that survives a dropped connection, resuming from
   * the last byte Cloud Storage kept. Smaller uploads are one request. Default 8 MiB; 0 makes every upload resumable.
   */
  resumableThreshold?: number | undefined;
  /** For streams of unknown size: bytes per resumable request (a multiple of 256 KiB; held in memory). Default 16 MiB. */
  chunkSize?: number | undefined;
  /** Called as bytes are sent. */
  onProgress?: ((progress: GcsProgress) => void) | undefined;
  /** Retries for throttling, server errors and dropped connections (per request, and per stalled resume). Default 3. */
  retries?: number | undefined;
}

/** What a GCS task call may be given by the task runner. */
export interface GcsCallContext {
  /** Aborts the call. */
  signal?: AbortSignal | undefined;
}

const TYPES: Record<string, string> = {
  ".json": "application/json",
  ".txt": "text/plain; charset=utf-8",
  ".csv": "text/csv",
  ".tsv": "text/tab-separated-values",
  ".html": "text/html",
  ".md": "text/markdown",
  ".xml": "application/xml",
  ".yaml": "application/yaml",
  ".yml": "application/yaml",
  ".ndjson": "application/x-ndjson",
  ".parquet": "application/vnd.apache.parquet",
  ".avro": "application/avro",
  ".gz": "application/gzip",
  ".zip": "application/zip",
  ".tar": "application/x-tar",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".svg": "image/svg+xml",
  ".pdf": "application/pdf",
};

function guessType(options: GcsUploadOptions): string {
  if (options.contentType) return options.contentType;
  if (typeof options.body === "string") return "text/plain; charset=utf-8";
  const from = options.file ?? options.key;
  return TYPES[extname(from).toLowerCase()] ?? "application/octet-stream";
}

function checkUploadOptions(options: GcsUploadOptions): {
  threshold: number;
  chunkSize: number;
  retries: number;
} {
  if (!options || typeof options !== "object")
    throw new ValidationError("options", "give { bucket, key, file | body }");
  checkBucket(options.bucket);
  checkObjectName(options.key);
  if (
    options.contentType !== undefined &&
    (typeof options.contentType !== "string" || !/^[\w.+-]+\/[\w.+-]+(\s*;.*)?$/.test(options.contentType))
  ) {
    throw new ValidationError("contentType", "must be a MIME type such as `text/csv`");
  }
  if (options.metadata !== undefined) {
    if (
      typeof options.metadata !== "object" ||
      options.metadata === null ||
      Array.isArray(options.metadata)
    ) {
      throw new ValidationError("metadata", "must be an object of string values");
    }
    for (const [k, v] of Object.entries(options.metadata)) {
      if (typeof v !== "string")
        throw new ValidationError("metadata", `the value of \`${k}\` must be a string`);
    }
  }
  const threshold = options.resumableThreshold ?? 8 * MiB;
  if (!Number.isInteger(threshold) || threshold < 0) {
    throw new ValidationError("resumableThreshold", "must be a whole number of bytes (0 or more)");
  }
  const chunkSize = options.chunkSize ?? 16 * MiB;
  if (!Number.isInteger(chunkSize) || chunkSize < QUANTUM || chunkSize % QUANTUM !== 0) {
    throw new ValidationError("chunkSize", "must be a multiple of 256 KiB (262144 bytes)");
  }
  const retries = options.retries ?? 3;
  if (!Number.isInteger(retries) || retries < 0)
    throw new ValidationError("retries", "must be a whole number (0 or more)");
  if (options.onProgress !== undefined && typeof options.onProgress !== "function") {
    throw new ValidationError("onProgress", "must be a function");
  }
  return { threshold, chunkSize, retries };
}

/** Yields `buffer` in slices, so progress is reported while it is sent. */
function* slices(buffer: Buffer, size = MiB): Generator<Buffer> {
  for (let i = 0; i < buffer.length; i += size) yield buffer.subarray(i, i + size);
}

/** A stream over `source` that reports each chunk as it is read by the HTTP client. */
function counted(source: AsyncIterable<Buffer> | Iterable<Buffer>, onChunk: (n: number) => void): Readable {
  return Readable.from(
    (async function* () {
      for await (const chunk of source) {
        onChunk(chunk.length);
        yield chunk;
      }
    })(),
    { objectMode: false },
  );
}

function headerValue(headers: unknown, name: string): string | undefined {
  if (!headers) return undefined;
  if (typeof (headers as Headers).get === "function") return (headers as Headers).get(name) ?? undefined;
  const value =
    (headers as Record<string, unknown>)[name] ?? (headers as Record<string, unknown>)[name.toLowerCase()];
  return typeof value === "string" ? value : undefined;
}

/** The offset Cloud Storage has persisted, from a 308's `Range: bytes=0-N` (none → 0). */
function persistedOffset(headers: unknown): number {
  const range = headerValue(headers, "range");
  const m = range ? /bytes=0-(\d+)/.exec(range) : null;
  return m ? Number(m[1]) + 1 : 0;
}

interface ChunkResult {
  done: storage_v1.Schema$Object | undefined;
  offset: number;
}

/** Sends one resumable request (data, or a status query when `body` is undefined). */
async function putSession(
  client: GcsClient,
  session: string,
  range: string,
  body: Readable | undefined,
  length: number,
  signal: AbortSignal | undefined,
): Promise<ChunkResult> {
  const res = await client.auth.client.request<storage_v1.Schema$Object>({
    url: session,
    method: "PUT",
    headers: { "Content-Range": range, "Content-Length": String(length) },
    ...(body ? { data: body } : {}),
    validateStatus: (s: number) => (s >= 200 && s < 300) || s === 308,
    retry: false,
    responseType: "json",
    ...(signal ? { signal } : {}),
  });
  if (res.status === 308) return { done: undefined, offset: persistedOffset(res.headers) };
  return { done: res.data, offset: Number.NaN };
}

/**
 * Uploads to Cloud Storage. Small uploads are one request; from `resumableThreshold` on, a resumable session: a
 * dropped connection resumes from what Cloud Storage kept. Files are streamed from disk (never read whole); streams
 * of unknown size are sent in `chunkSize` pieces. Bad input is a `ValidationError` before any request.
 * @example
 * const info = await uploadObject({ bucket: "reports", key: "daily.csv", file: "./daily.csv" });
 */
export async function uploadObject(
  options: GcsUploadOptions,
  context: GcsCallContext = {},
): Promise<GcsObjectInfo> {
  const { threshold, chunkSize, retries } = checkUploadOptions(options);
  const source = await openUploadSource({
    ...(options.file !== undefined ? { file: options.file } : {}),
    ...(options.body !== undefined ? { body: options.body } : {}),
  });
  const bucket = options.bucket;
  const name = options.key;
  const signal = context.signal;
  const contentType = guessType(options);
  let stream: Readable | undefined = source.body instanceof Readable ? source.body : undefined;
  // A file is re-opened at the offset each request needs; the stream opened for the check is not used.
  if (options.file !== undefined) {
    stream?.destroy();
    stream = undefined;
  }
  try {
    const client = await gcsClient(options, { bucket, object: name, access: "write" });
    const ctx: GoogleCallContext = {
      service: "Cloud Storage",
      source: client.auth.source,
      resource: gsUri(bucket, name),
      endpoint: client.endpoint,
    };
    const call = { retries, signal };
    let total = source.size;
    let reported = 0;
    const progress = (bytes: number) => {
      if (bytes <= reported) return;
      reported = bytes;
      options.onProgress?.({ bytes, total });
    };
    const resource = { name, contentType, ...(options.metadata ? { metadata: options.metadata } : {}) };

    const simple = async (bytes: Buffer): Promise<GcsObjectInfo> => {
      const res = await callGoogle(
        client.auth,
        ctx,
        () =>
          client.storage.objects.insert(
            {
              bucket,
              name,
              requestBody: resource,
              media: { mimeType: contentType, body: Readable.from([bytes]) },
            },
            { rootUrl: `${client.endpoint}/`, retry: false, ...(signal ? { signal } : {}) },
          ),
        call,
      );
      progress(bytes.length);
      return toObjectInfo(res.data, { bucket, key: name });
    };

    // A small upload of known size, or a stream that ends before the threshold: one request.
    let prefix: Buffer[] = [];
    let iterator: AsyncIterator<Buffer> | undefined;
    if (total !== undefined && (total < threshold || total === 0)) {
      const bytes = Buffer.isBuffer(source.body)
        ? source.body
        : await (async () => {
            const chunks: Buffer[] = [];
            for await (const chunk of createReadStream(options.file as string)) chunks.push(chunk as Buffer);
            return Buffer.concat(chunks);
          })();
      return await simple(bytes);
    }
    if (stream) {
      iterator = (stream as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
      let have = 0;
      while (have < threshold || threshold === 0) {
        const next = await iterator.next();
        if (next.done) {
          iterator = undefined;
          break;
        }
        const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value);
        prefix.push(chunk);
        have += chunk.length;
        if (threshold === 0) break;
      }
      if (!iterator && (threshold > 0 || have === 0)) return await simple(Buffer.concat(prefix));
    }

    // Resumable: start a session through the generated client, then PUT to the session URI.
    const start = await callGoogle(
      client.auth,
      ctx,
      () =>
        client.storage.objects.insert(
          { bucket, name, uploadType: "resumable", requestBody: resource },
          {
            url: `${client.endpoint}/upload/storage/v1/b/{bucket}/o`,
            headers: {
              "X-Upload-Content-Type": contentType,
              ...(total !== undefined ? { "X-Upload-Content-Length": String(total) } : {}),
            },
            retry: false,
            ...(signal ? { signal } : {}),
          },
        ),
      call,
    );
    const location = headerValue(start.headers, "location");
    if (!location)
      throw new ServiceError(
        "BAD_RESPONSE",
        "Cloud Storage",
        `${ctx.resource}: no session URI in the resumable upload answer`,
      );
    const session = new URL(location, `${client.endpoint}/`).href;

    /** After a failed request: wait, ask Cloud Storage what it kept. */
    const recover = async (error: unknown, failures: number): Promise<ChunkResult> => {
      if (signal?.aborted) throw signal.reason ?? error;
      if (!isRetryable(error) || failures > retries) throw toGcpError(error, ctx);
      await sleep(backoffMs(failures, error), signal);
      return callGoogle(
        client.auth,
        ctx,
        () => putSession(client, session, `bytes */${total ?? "*"}`, undefined, 0, signal),
        call,
      );
    };

    let offset = 0;
    let failures = 0;
    if (options.file !== undefined || Buffer.isBuffer(source.body)) {
      // A re-readable source of known size: one request for the rest, resumed from the persisted offset.
      const size = total as number;
      const file = options.file;
      const buffer = Buffer.isBuffer(source.body) ? source.body : undefined;
      for (;;) {
        let result: ChunkResult;
        const from = offset;
        try {
          const body = counted(
            file !== undefined
              ? // The stream's own 64 KiB reads: larger ones only pile up in the socket's queue (RSS, not speed).
                (createReadStream(file, { start: from }) as AsyncIterable<Buffer>)
              : slices((buffer as Buffer).subarray(from)),
            (n) => {
              offset += n;
              progress(offset);
            },
          );
          result = await putSession(
            client,
            session,
            `bytes ${from}-${size - 1}/${size}`,
            body,
            size - from,
            signal,
          );
        } catch (error) {
          offset = from;
          result = await recover(error, ++failures);
        }
        if (result.done) {
          progress(size);
          return toObjectInfo(result.done, { bucket, key: name });
        }
        if (result.offset > from) failures = 0;
        offset = result.offset;
      }
    }

    // A stream of unknown size: chunks of `chunkSize`, each held until Cloud Storage confirms it.
    let pending: Buffer = Buffer.concat(prefix);
    prefix = [];
    let ended = iterator === undefined;
    for (;;) {
      if (!ended && pending.length < chunkSize) {
        const parts = [pending];
        let length = pending.length;
        while (length < chunkSize) {
          const next = await (iterator as AsyncIterator<Buffer>).next();
          if (next.done) {
            ended = true;
            break;
          }
          const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value);
          parts.push(chunk);
          length += chunk.length;
        }
        pending = Buffer.concat(parts, length);
      }
      const final = ended && pending.length <= chunkSize;
      const length = final ? pending.length : chunkSize;
      if (final) total = offset + length;
      const range =
        length === 0
          ? `bytes */${offset}`
          : `bytes ${offset}-${offset + length - 1}/${final ? offset + length : "*"}`;
      let result: ChunkResult;
      const from = offset;
      let sent = 0;
      try {
        const body =
          length === 0
            ? undefined
            : counted(slices(pending.subarray(0, length)), (n) => {
                sent += n;
                progress(from + sent);
              });
        result = await putSession(client, session, range, body, length, signal);
      } catch (error) {
        result = await recover(error, ++failures);
      }
      if (result.done) {
        progress(total ?? offset + length);
        return toObjectInfo(result.done, { bucket, key: name });
      }
      if (result.offset < from || result.offset > from + length) {
        throw new ServiceError(
          "UPLOAD_LOST",
          "Cloud Storage",
          `${ctx.resource}: the upload session reports ${result.offset} bytes kept, outside the chunk being sent (${from}-${from + length}); start the upload again`,
        );
      }
      if (result.offset > from) failures = 0;
      pending = pending.subarray(result.offset - from);
      offset = result.offset;
    }
  } finally {
    stream?.destroy();
  }
}
