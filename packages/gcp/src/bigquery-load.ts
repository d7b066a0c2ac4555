import { ValidationError } from "@tributary/auth";
import { openUploadSource, type UploadSource } from "@tributary/integration-kit";
import { bigqueryClient, bigqueryContext, toBigQueryError } from "./bigquery-client.js";
import { type JobResource, jobError, newJobId, runJob, waitForJob } from "./bigquery-jobs.js";
import { fullTableName, parseTableName, tableReference } from "./bigquery-names.js";
import { type BigQueryWriteDisposition, checkWriteDisposition } from "./bigquery-query.js";
import { type BigQueryTableOptions, checkSchema } from "./bigquery-tables.js";
import type { BigQueryField } from "./bigquery-values.js";
import { callGoogle } from "./gcp-errors.js";

/** A data format, written in lower case. */
export type BigQueryFormat = "csv" | "json" | "parquet" | "avro" | "orc";

const SOURCE_FORMATS: Record<BigQueryFormat, string> = {
  csv: "CSV",
  json: "NEWLINE_DELIMITED_JSON",
  parquet: "PARQUET",
  avro: "AVRO",
  orc: "ORC",
};

/** The options of `bigqueryLoad`. Give exactly one source: `from`, `file` or `body`. */
export interface BigQueryLoadOptions extends BigQueryTableOptions, UploadSource {
  /** Cloud Storage objects to load: `gs://bucket/path` URIs, `*` wildcards allowed. */
  from?: string | string[] | undefined;
  /** The format of the data: `"csv"` (the default), `"json"` (one object a line), `"parquet"`, `"avro"`, `"orc"`. */
  format?: BigQueryFormat | undefined;
  /** The table's columns, when it is created by the load (or to check against). */
  schema?: BigQueryField[] | undefined;
  /** Let BigQuery infer the schema from the data. */
  autodetect?: boolean | undefined;
  /** Replace the table's rows, add to them (`WRITE_APPEND`, the default) or require it empty. */
  writeDisposition?: BigQueryWriteDisposition | undefined;
  /** `CREATE_IF_NEEDED` (the default) or `CREATE_NEVER` (a missing table is an error). */
  createDisposition?: "CREATE_IF_NEEDED" | "CREATE_NEVER" | undefined;
  /** CSV: lines to skip at the top (a header is one). */
  skipLeadingRows?: number | undefined;
}

/** The result of `bigqueryLoad`. */
export interface BigQueryLoadResult {
  /** The table's full name. */
  table: string;
  /** Rows written. */
  rows: number;
  /** The load job's id. */
  jobId: string;
}

/** The options of `bigqueryExtract`. */
export interface BigQueryExtractOptions extends BigQueryTableOptions {
  /** Where to write: a `gs://bucket/path` URI (a `*` in it lets BigQuery write several files), or several. */
  to: string | string[];
  /** `"csv"` (the default), `"json"` (one object a line), `"parquet"` or `"avro"`. */
  format?: Exclude<BigQueryFormat, "orc"> | undefined;
  /** `"gzip"` (csv, json), `"snappy"`, `"zstd"` (parquet), `"deflate"` (avro). Default: none. */
  compression?: "gzip" | "snappy" | "zstd" | "deflate" | undefined;
  /** CSV: write a header line. Default true. */
  header?: boolean | undefined;
}

/** The result of `bigqueryExtract`. */
export interface BigQueryExtractResult {
  /** The table's full name. */
  table: string;
  /** The destination URIs. */
  to: string[];
  /** Files written, per destination URI. */
  files: number[];
  /** The extract job's id. */
  jobId: string;
}

function checkUris(value: unknown, option: string): string[] {
  const list = typeof value === "string" ? [value] : value;
  if (!Array.isArray(list) || list.length === 0)
    throw new ValidationError(option, "must be a `gs://bucket/path` URI or a list of them");
  for (const uri of list) {
    if (typeof uri !== "string" || !/^gs:\/\/[a-z0-9][a-z0-9._-]{1,221}[a-z0-9]\/.+$/.test(uri)) {
      throw new ValidationError(option, `\`${String(uri)}\` is not a \`gs://bucket/path\` URI`);
    }
  }
  return list as string[];
}

function checkFormat(value: unknown, allowed: readonly string[]): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string" || !allowed.includes(value)) {
    throw new ValidationError(
      "format",
      `must be one of ${allowed.map((f) => `"${f}"`).join(", ")} (in lower case)`,
    );
  }
  return SOURCE_FORMATS[value as BigQueryFormat];
}

/** @internal Loads rows into a table: from Cloud Storage, or a file or bytes sent as a resumable upload. */
export async function loadTable(
  options: BigQueryLoadOptions,
  call: { signal?: AbortSignal | undefined },
): Promise<BigQueryLoadResult> {
  const name = parseTableName(options?.table);
  const sources = [options.from !== undefined, options.file !== undefined, options.body !== undefined].filter(
    Boolean,
  ).length;
  if (sources !== 1) {
    throw new ValidationError(
      "from/file/body",
      "give exactly one of `from` (gs:// URIs), `file` (a path) or `body` (bytes or a stream)",
    );
  }
  const uris = options.from !== undefined ? checkUris(options.from, "from") : undefined;
  const sourceFormat = checkFormat(options.format, Object.keys(SOURCE_FORMATS));
  const schema = options.schema !== undefined ? checkSchema(options.schema) : undefined;
  if (options.autodetect !== undefined && typeof options.autodetect !== "boolean") {
    throw new ValidationError("autodetect", "must be true or false");
  }
  checkWriteDisposition(options.writeDisposition);
  if (
    options.createDisposition !== undefined &&
    !["CREATE_IF_NEEDED", "CREATE_NEVER"].includes(options.createDisposition)
  ) {
    throw new ValidationError("createDisposition", "must be CREATE_IF_NEEDED or CREATE_NEVER");
  }
  if (
    options.skipLeadingRows !== undefined &&
    (!Number.isInteger(options.skipLeadingRows) || options.skipLeadingRows < 0)
  ) {
    throw new ValidationError("skipLeadingRows", "must be a whole number of lines");
  }
  const upload = uris ? undefined : await openUploadSource(options);
  const client = await bigqueryClient(options);
  const full = fullTableName(name, client.projectId);
  const load: Record<string, unknown> = {
    destinationTable: tableReference(name, client.projectId),
    writeDisposition: options.writeDisposition ?? "WRITE_APPEND",
    createDisposition: options.createDisposition ?? "CREATE_IF_NEEDED",
    ...(sourceFormat ? { sourceFormat } : {}),
    ...(schema ? { schema: { fields: schema } } : {}),
    ...(options.autodetect !== undefined ? { autodetect: options.autodetect } : {}),
    ...(options.skipLeadingRows !== undefined ? { skipLeadingRows: options.skipLeadingRows } : {}),
    ...(uris ? { sourceUris: uris } : {}),
  };
  const resource = `load into ${full}`;
  const jobOptions = { signal: call.signal, retries: options.retries };
  let job: JobResource;
  if (uris) {
    job = await runJob(client, { load }, resource, jobOptions);
  } else {
    const inserted = await uploadJob(
      client,
      { load },
      upload as NonNullable<typeof upload>,
      resource,
      call.signal,
    );
    job = await waitForJob(client, inserted, resource, jobOptions);
    if (job.status?.errorResult) throw jobError(job, resource);
  }
  return { table: full, rows: Number(job.statistics?.load?.outputRows ?? 0), jobId: job.jobReference.jobId };
}

/**
 * Inserts a load job with its data as a resumable upload: the job is posted to the upload endpoint, which answers
 * with a session URL, and the bytes are sent there. The official client's own upload is multipart (held in memory).
 */
async function uploadJob(
  client: Awaited<ReturnType<typeof bigqueryClient>>,
  configuration: Record<string, unknown>,
  upload: { body: Buffer | NodeJS.ReadableStream; size: number | undefined },
  resource: string,
  signal: AbortSignal | undefined,
): Promise<JobResource> {
  const ctx = bigqueryContext(client, resource);
  const root = (client.bigquery as unknown as { apiEndpoint: string }).apiEndpoint.replace(/\/+$/, "");
  const url = `${root}/upload/bigquery/v2/projects/${encodeURIComponent(client.projectId)}/jobs?uploadType=resumable`;
  const jobReference = {
    projectId: client.projectId,
    jobId: newJobId(),
    ...(client.location ? { location: client.location } : {}),
  };
  const session = await callGoogle(
    client.auth,
    ctx,
    () =>
      client.auth.client.request<unknown>({
        url,
        method: "POST",
        data: { jobReference, configuration },
        headers: {
          "content-type": "application/json; charset=utf-8",
          ...(upload.size !== undefined ? { "x-upload-content-length": String(upload.size) } : {}),
        },
        ...(signal ? { signal } : {}),
      }),
    { signal, isRetryable: () => false, toError: toBigQueryError },
  );
  const headers = session.headers as unknown as Headers | Record<string, string>;
  const location =
    typeof (headers as Headers).get === "function"
      ? (headers as Headers).get("location")
      : (headers as Record<string, string>).location;
  if (!location) throw toBigQueryError(new Error("the upload endpoint gave no session URL"), ctx);
  // One PUT with the whole body: a stream is sent as it is read, never held in memory.
  const done = await callGoogle(
    client.auth,
    ctx,
    () =>
      client.auth.client.request<JobResource>({
        url: location,
        method: "PUT",
        data: upload.body,
        headers: {
          "content-type": "application/octet-stream",
          ...(upload.size !== undefined ? { "content-length": String(upload.size) } : {}),
        },
        ...(signal ? { signal } : {}),
      }),
    { signal, retries: 0, toError: toBigQueryError },
  );
  return done.data;
}

const COMPRESSIONS: Record<string, readonly string[]> = {
  CSV: ["gzip"],
  NEWLINE_DELIMITED_JSON: ["gzip"],
  PARQUET: ["gzip", "snappy", "zstd"],
  AVRO: ["deflate", "snappy"],
};

/** @internal Writes a table to Cloud Storage. */
export async function extractTable(
  options: BigQueryExtractOptions,
  call: { signal?: AbortSignal | undefined },
): Promise<BigQueryExtractResult> {
  const name = parseTableName(options?.table);
  const to = checkUris(options.to, "to");
  const format = checkFormat(options.format, ["csv", "json", "parquet", "avro"]) ?? "CSV";
  if (options.compression !== undefined && !(COMPRESSIONS[format] ?? []).includes(options.compression)) {
    throw new ValidationError(
      "compression",
      `${format} files take ${(COMPRESSIONS[format] ?? []).map((c) => `"${c}"`).join(" or ")} (in lower case)`,
    );
  }
  if (options.header !== undefined && typeof options.header !== "boolean")
    throw new ValidationError("header", "must be true or false");
  const client = await bigqueryClient(options);
  const full = fullTableName(name, client.projectId);
  const extract = {
    sourceTable: tableReference(name, client.projectId),
    destinationUris: to,
    destinationFormat: format,
    ...(options.compression ? { compression: options.compression.toUpperCase() } : {}),
    ...(options.header !== undefined ? { printHeader: options.header } : {}),
  };
  const job = await runJob(client, { extract }, `extract of ${full}`, {
    signal: call.signal,
    retries: options.retries,
  });
  return {
    table: full,
    to,
    files: (job.statistics?.extract?.destinationUriFileCounts ?? []).map(Number),
    jobId: job.jobReference.jobId,
  };
}
