import { ValidationError } from "@tributary/auth";
import {
  type BigQueryClient,
  type BigQueryClientOptions,
  bigqueryClient,
  bigqueryRequest,
} from "./bigquery-client.js";
import { type JobCallOptions, type JobResource, runJob } from "./bigquery-jobs.js";
import { fullTableName, parseTableName, type TableName, tableReference } from "./bigquery-names.js";
import {
  type BigQueryField,
  type BigQueryParamType,
  type Int64As,
  type QueryParameter,
  queryParameters,
  recordDecoder,
} from "./bigquery-values.js";

/** How a write treats a table that already holds rows. */
export type BigQueryWriteDisposition = "WRITE_TRUNCATE" | "WRITE_APPEND" | "WRITE_EMPTY";

/** The options of `bigqueryQuery`. */
export interface BigQueryQueryOptions extends BigQueryClientOptions {
  /** The query, in standard SQL (`useLegacySql: false` is always sent). Named parameters are written `@name`. */
  query: string;
  /**
   * Named parameters, typed from their JS values as the official client types them: string → STRING, an integer
   * `number` → INT64 and any other → FLOAT64, `bigint` → INT64, boolean → BOOL, `Date` → TIMESTAMP, `Buffer` → BYTES,
   * arrays → ARRAY, plain objects → STRUCT. A `null` has no type: give it in `types`.
   */
  params?: Record<string, unknown> | undefined;
  /** Types of parameters: required for a `null` or an empty array, else overrides the inferred type (`"NUMERIC"`, `["STRING"]`, `{ a: "INT64" }`). */
  types?: Record<string, BigQueryParamType> | undefined;
  /** Checks the query and returns the bytes it would process, without running it. */
  dryRun?: boolean | undefined;
  /** Rows per request when reading the result. Default: as many as BigQuery sends (up to 10 MB a page). */
  pageSize?: number | undefined;
  /** The most rows to read in all. Default: every row. */
  limit?: number | undefined;
  /** Labels on the job (lower-case keys and values), for billing and audit. */
  labels?: Record<string, string> | undefined;
  /** Writes the result to this table (`project.dataset.table` or `dataset.table`) as well. */
  destination?: string | undefined;
  /** With `destination`: replace its rows (`WRITE_TRUNCATE`), add to them (`WRITE_APPEND`) or require it empty (`WRITE_EMPTY`, the default). */
  writeDisposition?: BigQueryWriteDisposition | undefined;
  /** `"rows"` (the default): every row in memory. `"stream"`: an async iterator of rows, fetched page by page. */
  as?: "rows" | "stream" | undefined;
  /** INT64 values as `bigint` (exact; the default) or `number`. */
  int64?: Int64As | undefined;
}

/** What every query result holds besides its rows. */
interface BigQueryQueryInfo {
  /** The result's columns. */
  schema: BigQueryField[];
  /** The rows in the result (all of them, not only those read when `limit` is set). */
  totalRows: number;
  /** The job's id (`undefined` for a dry run). */
  jobId: string | undefined;
  /** Bytes the query processed (or would process, for a dry run). */
  bytesProcessed: number;
  /** Whether BigQuery answered from its cache. */
  cacheHit: boolean;
}

/** The result of `bigqueryQuery`: rows converted by the schema. */
export interface BigQueryQueryResult<Row = Record<string, unknown>> extends BigQueryQueryInfo {
  /** The rows, converted by the schema (INT64 → `bigint`, TIMESTAMP → `Date`, BYTES → `Buffer` …). */
  rows: Row[];
}

/** The result of `bigqueryQuery` with `as: "stream"`: rows are read page by page as they are iterated. */
export interface BigQueryQueryStreamResult<Row = Record<string, unknown>> extends BigQueryQueryInfo {
  /** The rows, one by one; the next page is fetched while this one is read. */
  rows: AsyncIterableIterator<Row>;
}

const WRITE_DISPOSITIONS = new Set(["WRITE_TRUNCATE", "WRITE_APPEND", "WRITE_EMPTY"]);

/** @internal Checks `writeDisposition`. */
export function checkWriteDisposition(value: unknown): void {
  if (value !== undefined && !WRITE_DISPOSITIONS.has(value as string)) {
    throw new ValidationError("writeDisposition", "must be WRITE_TRUNCATE, WRITE_APPEND or WRITE_EMPTY");
  }
}

/** @internal Checks job labels as BigQuery does (lower-case keys and values). */
export function checkLabels(labels: unknown): void {
  if (labels === undefined) return;
  if (typeof labels !== "object" || labels === null || Array.isArray(labels)) {
    throw new ValidationError("labels", 'must be an object of string values, `{ team: "data" }`');
  }
  for (const [k, v] of Object.entries(labels)) {
    if (!/^[\p{Ll}\p{Lo}][\p{Ll}\p{Lo}\p{N}_-]{0,62}$/u.test(k)) {
      throw new ValidationError(
        `labels.${k}`,
        "a label key starts with a lower-case letter and holds lower-case letters, digits, `_` and `-`",
      );
    }
    if (typeof v !== "string" || !/^[\p{Ll}\p{Lo}\p{N}_-]{0,63}$/u.test(v)) {
      throw new ValidationError(
        `labels.${k}`,
        "a label value is a string of lower-case letters, digits, `_` and `-`",
      );
    }
  }
}

function checkCount(option: string, value: unknown): void {
  if (value !== undefined && (typeof value !== "number" || !Number.isInteger(value) || value < 1)) {
    throw new ValidationError(option, "must be a positive integer");
  }
}

function checkQueryOptions(options: BigQueryQueryOptions): void {
  if (!options || typeof options !== "object") throw new ValidationError("options", "give { query }");
  if (typeof options.query !== "string" || options.query.trim() === "") {
    throw new ValidationError("query", "must be a standard SQL query");
  }
  checkCount("pageSize", options.pageSize);
  checkCount("limit", options.limit);
  checkLabels(options.labels);
  checkWriteDisposition(options.writeDisposition);
  if (options.writeDisposition !== undefined && options.destination === undefined) {
    throw new ValidationError("writeDisposition", "applies to a `destination` table; give one");
  }
  if (options.as !== undefined && options.as !== "rows" && options.as !== "stream") {
    throw new ValidationError("as", 'must be "rows" or "stream"');
  }
  if (options.int64 !== undefined && options.int64 !== "bigint" && options.int64 !== "number") {
    throw new ValidationError("int64", 'must be "bigint" or "number"');
  }
  if (options.dryRun !== undefined && typeof options.dryRun !== "boolean") {
    throw new ValidationError("dryRun", "must be true or false");
  }
}

interface ResultsPage {
  jobComplete?: boolean;
  schema?: { fields?: BigQueryField[] };
  rows?: { f: { v: unknown }[] }[];
  totalRows?: string;
  pageToken?: string;
}

/** The pages of a finished query's result, each fetched while the one before is read. */
class ResultReader {
  private readonly decode: (row: { f: { v: unknown }[] }) => Record<string, unknown>;
  private left: number;

  constructor(
    private readonly client: BigQueryClient,
    private readonly job: JobResource,
    first: ResultsPage,
    private readonly options: JobCallOptions & {
      pageSize?: number | undefined;
      limit?: number | undefined;
      int64?: Int64As;
    },
    private readonly resource: string,
  ) {
    this.schema = first.schema?.fields ?? [];
    this.decode = recordDecoder(this.schema, options.int64);
    this.left = options.limit ?? Number.POSITIVE_INFINITY;
    this.first = first;
    this.totalRows = Number(first.totalRows ?? 0);
  }

  readonly schema: BigQueryField[];
  /** The rows in the whole result. */
  readonly totalRows: number;
  private first: ResultsPage | undefined;

  static async open(
    client: BigQueryClient,
    job: JobResource,
    options: JobCallOptions & { pageSize?: number | undefined; limit?: number | undefined; int64?: Int64As },
    resource: string,
  ): Promise<ResultReader> {
    const first = await fetchPage(client, job, undefined, options, resource);
    return new ResultReader(client, job, first, options, resource);
  }

  /**
   * Decoded rows, one by one. The next page is fetched while this one is read, and each raw row is let go once
   * decoded, so memory holds about one page in all.
   */
  async *rows(): AsyncGenerator<Record<string, unknown>> {
    let page: ResultsPage | undefined = this.first;
    this.first = undefined;
    while (page && this.left > 0) {
      const token = page.pageToken;
      const rows: ({ f: { v: unknown }[] } | undefined)[] = page.rows ?? [];
      page = undefined;
      const take = Math.min(rows.length, this.left);
      this.left -= take;
      const next =
        token && this.left > 0
          ? fetchPage(this.client, this.job, token, this.options, this.resource)
          : undefined;
      next?.catch(() => undefined);
      for (let i = 0; i < take; i++) {
        const raw = rows[i] as { f: { v: unknown }[] };
        rows[i] = undefined;
        yield this.decode(raw);
      }
      page = next ? await next : undefined;
    }
  }
}

async function fetchPage(
  client: BigQueryClient,
  job: JobResource,
  pageToken: string | undefined,
  options: JobCallOptions & { pageSize?: number | undefined; limit?: number | undefined },
  resource: string,
): Promise<ResultsPage> {
  const qs: Record<string, unknown> = { "formatOptions.useInt64Timestamp": true };
  if (job.jobReference.location) qs.location = job.jobReference.location;
  if (pageToken) qs.pageToken = pageToken;
  const max = Math.min(
    options.pageSize ?? Number.POSITIVE_INFINITY,
    options.limit ?? Number.POSITIVE_INFINITY,
  );
  if (Number.isFinite(max)) qs.maxResults = max;
  for (;;) {
    const page = await bigqueryRequest<ResultsPage>(
      client,
      resource,
      {
        method: "GET",
        uri: `/queries/${encodeURIComponent(job.jobReference.jobId)}`,
        qs,
        projectId: job.jobReference.projectId,
      },
      options,
    );
    if (page.jobComplete !== false) return page;
  }
}

/** The job configuration of a query. */
function queryConfiguration(
  options: BigQueryQueryOptions,
  params: QueryParameter[],
  destination: TableName | undefined,
  client: BigQueryClient,
): Record<string, unknown> {
  const query: Record<string, unknown> = {
    query: options.query,
    useLegacySql: false,
  };
  if (params.length > 0) {
    query.parameterMode = "NAMED";
    query.queryParameters = params;
  }
  if (destination !== undefined) {
    query.destinationTable = tableReference(destination, client.projectId);
    query.writeDisposition = options.writeDisposition ?? "WRITE_EMPTY";
  }
  return {
    query,
    ...(options.dryRun ? { dryRun: true } : {}),
    ...(options.labels ? { labels: options.labels } : {}),
  };
}

/** @internal What a query task does: checks, runs the job, reads the result as rows or a stream. */
export async function runQuery(
  options: BigQueryQueryOptions,
  call: { signal?: AbortSignal | undefined },
): Promise<BigQueryQueryResult | BigQueryQueryStreamResult> {
  checkQueryOptions(options);
  // Parameters and names are checked before any request.
  const params = queryParameters(options.params, options.types);
  const destination =
    options.destination !== undefined ? parseTableName(options.destination, "destination") : undefined;
  const client = await bigqueryClient(options);
  const resource = destination ? `query into ${fullTableName(destination, client.projectId)}` : "query";
  const jobOptions = { signal: call.signal, retries: options.retries };
  const configuration = queryConfiguration(options, params, destination, client);
  const job = await runJob(client, configuration, resource, jobOptions);
  const bytesProcessed = Number(
    job.statistics?.query?.totalBytesProcessed ?? job.statistics?.totalBytesProcessed ?? 0,
  );
  const cacheHit = job.statistics?.query?.cacheHit === true;
  if (options.dryRun) {
    const schema = (job.statistics?.query?.schema?.fields ?? []) as BigQueryField[];
    const info = { schema, totalRows: 0, jobId: undefined, bytesProcessed, cacheHit };
    return options.as === "stream" ? { ...info, rows: (async function* () {})() } : { ...info, rows: [] };
  }
  const reader = await ResultReader.open(
    client,
    job,
    { ...jobOptions, pageSize: options.pageSize, limit: options.limit, int64: options.int64 ?? "bigint" },
    resource,
  );
  const info = {
    schema: reader.schema,
    totalRows: reader.totalRows,
    jobId: job.jobReference.jobId,
    bytesProcessed,
    cacheHit,
  };
  if (options.as === "stream") {
    const rows = (async function* () {
      yield* reader.rows();
    })();
    return { ...info, rows };
  }
  const rows: Record<string, unknown>[] = [];
  for await (const row of reader.rows()) rows.push(row);
  return { ...info, rows };
}
