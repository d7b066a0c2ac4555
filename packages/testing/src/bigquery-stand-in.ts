import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import type { DuckDBConnection, DuckDBInstance, DuckDBType, DuckDBValue } from "@duckdb/node-api";
import {
  type BigQueryField,
  type BigQueryParameter,
  duckTable,
  duckType,
  position,
  quoteIdent,
  quoteString,
  StandInQueryError,
  scalarLiteral,
  translateQuery,
} from "./bigquery-sql.js";
import {
  type GoogleServiceHooks,
  type GoogleStandIn,
  type GoogleStandInOptions,
  startGoogleStandIn,
} from "./google-stand-in.js";
import { route, type StandInReply, type StandInRequest } from "./stand-in.js";

/** The options of `startBigQueryStandIn`. */
export interface BigQueryStandInOptions extends Omit<GoogleStandInOptions, "services"> {
  /** The location jobs report. Default `"US"`. */
  location?: string;
  /** Rows per result page when the client asks for no `maxResults`. Default 20,000. */
  pageRows?: number;
}

/** A job the BigQuery stand-in ran (or is running). */
export interface BigQueryStandInJob {
  readonly projectId: string;
  readonly jobId: string;
  readonly type: "QUERY" | "LOAD" | "EXTRACT";
  /** `PENDING`, `RUNNING` or `DONE`. */
  readonly state: string;
  /** True when `jobs.cancel` stopped it. */
  readonly cancelled: boolean;
  /** The query, for query jobs. */
  readonly query?: string;
  /** BigQuery's `errorResult`, when the job failed. */
  readonly error?: { reason: string; message: string; location?: string };
  /** The job's labels. */
  readonly labels?: Record<string, string>;
}

/**
 * A BigQuery stand-in on the Google stand-in's port: the same OAuth tokens, the same Cloud Storage objects (loads read
 * them, extracts write them), and the BigQuery v2 REST surface (`/bigquery/v2/projects/…`; also `/projects/…`, where the
 * official client sends requests when `BIGQUERY_EMULATOR_HOST` is set). Queries run on DuckDB.
 */
export interface BigQueryStandIn extends GoogleStandIn {
  /** Creates a dataset (`project` defaults to the stand-in's project). */
  createDataset(dataset: string, options?: { project?: string }): Promise<void>;
  /** Runs BigQuery standard SQL directly (no job, no auth) and returns rows as DuckDB's JS values. */
  query(sql: string): Promise<Record<string, unknown>[]>;
  /** Every job inserted, in order. */
  readonly jobs: readonly BigQueryStandInJob[];
  /** Job ids that `jobs.cancel` was called for, in order. */
  readonly cancelRequests: readonly string[];
  /** Keeps every job inserted from now on RUNNING for at least `ms` (a slow query). 0 turns it off. */
  holdJobs(ms: number): void;
  /** Makes the next `count` jobs fail with BigQuery's `reason` (such as `backendError`) and `message`. */
  failJobs(count: number, error: { reason: string; message?: string }): void;
}

/** A query's result: its schema, and the DuckDB table holding its rows (read a page at a time). */
interface JobResult {
  schema: BigQueryField[];
  table: string | undefined;
  count: number;
}

interface JobRecord {
  projectId: string;
  jobId: string;
  location: string;
  type: "QUERY" | "LOAD" | "EXTRACT";
  state: "PENDING" | "RUNNING" | "DONE";
  cancelled: boolean;
  configuration: Record<string, unknown>;
  query?: string;
  error?: { reason: string; message: string; location?: string };
  labels?: Record<string, string>;
  result?: JobResult;
  statistics: Record<string, unknown>;
  created: number;
  done: Promise<void>;
  connection?: DuckDBConnection;
  abort: () => void;
  numDmlAffectedRows?: number;
}

interface TableMeta {
  schema?: BigQueryField[];
  extra: Record<string, unknown>;
  created: number;
}

class JobError extends Error {
  constructor(
    readonly reason: string,
    message: string,
    readonly location?: string,
  ) {
    super(message);
  }
}

const STATUS_OF_REASON: Record<string, [number, string]> = {
  invalidQuery: [400, "INVALID_ARGUMENT"],
  invalid: [400, "INVALID_ARGUMENT"],
  stopped: [400, "INVALID_ARGUMENT"],
  notFound: [404, "NOT_FOUND"],
  duplicate: [409, "ALREADY_EXISTS"],
  accessDenied: [403, "PERMISSION_DENIED"],
  quotaExceeded: [403, "PERMISSION_DENIED"],
  rateLimitExceeded: [403, "PERMISSION_DENIED"],
  backendError: [500, "INTERNAL"],
  internalError: [500, "INTERNAL"],
};

function bqError(reason: string, message: string, location?: string): StandInReply {
  const [status, statusText] = STATUS_OF_REASON[reason] ?? [400, "INVALID_ARGUMENT"];
  return {
    status,
    body: {
      error: {
        code: status,
        message,
        errors: [
          { message, domain: "global", reason, ...(location ? { location, locationType: "other" } : {}) },
        ],
        status: statusText,
      },
    },
  };
}

const TYPE_OF_DUCK: Record<number, string> = {
  1: "BOOLEAN",
  2: "INTEGER",
  3: "INTEGER",
  4: "INTEGER",
  5: "INTEGER",
  6: "INTEGER",
  7: "INTEGER",
  8: "INTEGER",
  9: "INTEGER",
  16: "INTEGER",
  32: "INTEGER",
  10: "FLOAT",
  11: "FLOAT",
  12: "DATETIME",
  20: "DATETIME",
  21: "DATETIME",
  22: "DATETIME",
  13: "DATE",
  14: "TIME",
  17: "STRING",
  18: "BYTES",
  19: "NUMERIC",
  31: "TIMESTAMP",
};

/** A BigQuery schema field for a DuckDB column. */
function fieldOf(name: string, type: DuckDBType): BigQueryField {
  const t = type as DuckDBType & {
    valueType?: DuckDBType;
    entryNames?: readonly string[];
    entryTypes?: readonly DuckDBType[];
  };
  if ((t.typeId === 24 || t.typeId === 33) && t.valueType) {
    return { ...fieldOf(name, t.valueType), mode: "REPEATED" };
  }
  if (t.typeId === 25 && t.entryNames && t.entryTypes) {
    const types = t.entryTypes;
    return {
      name,
      type: "RECORD",
      mode: "NULLABLE",
      fields: t.entryNames.map((n, i) => fieldOf(n, types[i] as DuckDBType)),
    };
  }
  return { name, type: TYPE_OF_DUCK[t.typeId] ?? "STRING", mode: "NULLABLE" };
}

/** A value as the REST API writes it in `rows[].f[].v`. */
function wireValue(
  value: DuckDBValue,
  field: BigQueryField,
  int64Timestamps: boolean,
  repeatedDone = false,
): unknown {
  if (value === null || value === undefined) return null;
  if (field.mode === "REPEATED" && !repeatedDone) {
    const items = (value as { items?: readonly DuckDBValue[] }).items ?? [];
    return items.map((item) => ({ v: wireValue(item, field, int64Timestamps, true) }));
  }
  switch (field.type) {
    case "RECORD": {
      const entries = (value as { entries?: Record<string, DuckDBValue> }).entries ?? {};
      return {
        f: (field.fields ?? []).map((f) => ({ v: wireValue(entries[f.name] ?? null, f, int64Timestamps) })),
      };
    }
    case "BOOLEAN":
      return value ? "true" : "false";
    case "BYTES":
      return Buffer.from((value as { bytes: Uint8Array }).bytes).toString("base64");
    case "TIMESTAMP": {
      const micros = (value as { micros: bigint }).micros;
      return int64Timestamps ? micros.toString() : (Number(micros) / 1e6).toString();
    }
    case "DATETIME":
      return String(value).replace(" ", "T");
    case "FLOAT": {
      const n = Number(value);
      return Number.isNaN(n)
        ? "NaN"
        : n === Infinity
          ? "Infinity"
          : n === -Infinity
            ? "-Infinity"
            : String(n);
    }
    default:
      return String(value);
  }
}

/** A DuckDB literal for a value from `insertAll` JSON, checked against its field. */
function jsonLiteral(value: unknown, field: BigQueryField, path: string, repeatedDone = false): string {
  if (value === null || value === undefined) {
    if (field.mode === "REQUIRED") throw new JobError("invalid", `Missing required field: ${path}.`, path);
    return "NULL";
  }
  if (field.mode === "REPEATED" && !repeatedDone) {
    if (!Array.isArray(value))
      throw new JobError("invalid", `Array specified for non-repeated field: ${path}.`, path);
    if (value.length === 0) return `CAST([] AS ${duckType(field)})`;
    return `[${value.map((v) => jsonLiteral(v, field, path, true)).join(", ")}]`;
  }
  const type = field.type.toUpperCase();
  if (type === "RECORD" || type === "STRUCT") {
    if (typeof value !== "object" || Array.isArray(value)) {
      throw new JobError("invalid", `This field: ${path} is not a record.`, path);
    }
    const record = value as Record<string, unknown>;
    const known = new Set((field.fields ?? []).map((f) => f.name));
    for (const k of Object.keys(record)) {
      if (!known.has(k)) throw new JobError("invalid", `no such field: ${path}.${k}.`, `${path}.${k}`);
    }
    return `struct_pack(${(field.fields ?? []).map((f) => `${quoteIdent(f.name)} := ${jsonLiteral(record[f.name], { ...f }, `${path}.${f.name}`)}`).join(", ")})`;
  }
  const bad = (what: string) => new JobError("invalid", `Cannot convert value to ${what}: ${path}.`, path);
  switch (type) {
    case "INTEGER":
    case "INT64":
      if (typeof value === "number" && Number.isInteger(value)) return String(value);
      if (typeof value === "string" && /^-?\d+$/.test(value)) return `CAST(${quoteString(value)} AS BIGINT)`;
      throw bad("integer");
    case "FLOAT":
    case "FLOAT64":
      if (typeof value === "number") return `CAST(${quoteString(String(value))} AS DOUBLE)`;
      if (typeof value === "string" && /^(-?\d+(\.\d*)?(e[+-]?\d+)?|NaN|-?Infinity)$/i.test(value)) {
        return `CAST(${quoteString(value)} AS DOUBLE)`;
      }
      throw bad("floating point");
    case "BOOLEAN":
    case "BOOL":
      if (typeof value === "boolean") return value ? "TRUE" : "FALSE";
      if (typeof value === "string" && /^(true|false)$/i.test(value)) return value.toUpperCase();
      throw bad("boolean");
    case "STRING":
      if (typeof value === "string" || typeof value === "number") return quoteString(String(value));
      throw bad("string");
    default:
      if (typeof value !== "string" && typeof value !== "number") throw bad(type.toLowerCase());
      try {
        return scalarLiteral(type, String(value));
      } catch {
        throw bad(type.toLowerCase());
      }
  }
}

/** BigQuery's `totalBytesProcessed` for a query: an estimate from the sizes of the tables it reads. */
function estimateBytes(tables: readonly { rows: number; columns: number }[]): number {
  return tables.reduce((sum, t) => sum + t.rows * t.columns * 8, 0);
}

const FORMATS: Record<string, string> = {
  CSV: "csv",
  NEWLINE_DELIMITED_JSON: "json",
  PARQUET: "parquet",
};

/**
 * Starts a Google stand-in that also serves BigQuery: datasets, tables, `tabledata.insertAll`/`list`, jobs (query,
 * load, extract; insert, get, cancel, `getQueryResults`), `jobs.query` and the upload endpoint. Queries run on an
 * embedded DuckDB, with the BigQuery SQL a flow commonly needs translated; anything else fails with `invalidQuery`
 * saying the stand-in does not support it. Loads read the stand-in's Cloud Storage objects; extracts write them.
 * @example
 * const google = await startBigQueryStandIn();
 * const key = await google.createServiceAccount();
 * await google.createDataset("sales");
 * const { rows } = await bigqueryQuery({ query: "SELECT 1 AS one", credentials: key, endpoint: google.url });
 * await google.close();
 */
export async function startBigQueryStandIn(options: BigQueryStandInOptions = {}): Promise<BigQueryStandIn> {
  const { DuckDBInstance: Instance } = await import("@duckdb/node-api");
  const duck: DuckDBInstance = await Instance.create(":memory:");
  const dir = await mkdtemp(join(tmpdir(), "tributary-bigquery-"));
  {
    const c = await duck.connect();
    await c.run(`CREATE SCHEMA ${quoteIdent("_results")}`);
    c.closeSync();
  }
  const location = options.location ?? "US";
  const pageRows = options.pageRows ?? 20_000;
  const jobs = new Map<string, JobRecord>();
  const jobList: JobRecord[] = [];
  const cancelRequests: string[] = [];
  const datasets = new Set<string>();
  const tables = new Map<string, TableMeta>();
  const uploads = new Map<string, { meta: Record<string, unknown>; chunks: Buffer[]; projectId: string }>();
  const failures: { remaining: number; reason: string; message: string }[] = [];
  let holdMs = 0;
  let fileCounter = 0;
  let hooks: GoogleServiceHooks | undefined;
  let base = "";

  const run = async <T>(fn: (c: DuckDBConnection) => Promise<T>): Promise<T> => {
    const c = await duck.connect();
    try {
      return await fn(c);
    } finally {
      c.closeSync();
    }
  };

  const resultTables: string[] = [];
  /** A new table for a job's result; the oldest are dropped past 20, as BigQuery expires its temporary tables. */
  const resultTable = (job: JobRecord): string => {
    const name = `${quoteIdent("_results")}.${quoteIdent(job.jobId)}`;
    resultTables.push(name);
    const old = resultTables.length > 20 ? resultTables.shift() : undefined;
    if (old) void run((c) => c.run(`DROP TABLE IF EXISTS ${old}`)).catch(() => undefined);
    return name;
  };

  const ensureDataset = async (project: string, dataset: string) => {
    if (!datasets.has(`${project}.${dataset}`)) {
      await run((c) => c.run(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(`${project}.${dataset}`)}`));
      datasets.add(`${project}.${dataset}`);
    }
  };

  const tableExists = async (project: string, dataset: string, table: string): Promise<boolean> => {
    if (!datasets.has(`${project}.${dataset}`)) return false;
    const r = await run((c) =>
      c.runAndReadAll(
        `SELECT count(*) FROM information_schema.tables WHERE table_schema = ${quoteString(`${project}.${dataset}`)} AND table_name = ${quoteString(table)}`,
      ),
    );
    return Number(r.getRows()[0]?.[0] ?? 0) > 0;
  };

  const tableSchema = async (project: string, dataset: string, table: string): Promise<BigQueryField[]> => {
    const stored = tables.get(`${project}.${dataset}.${table}`)?.schema;
    if (stored) return stored;
    const r = await run((c) =>
      c.runAndReadAll(`SELECT * FROM ${duckTable(project, dataset, table)} LIMIT 0`),
    );
    const types = r.columnTypes();
    return r.columnNames().map((n, i) => fieldOf(n, types[i] as DuckDBType));
  };

  const rowCount = async (project: string, dataset: string, table: string): Promise<number> => {
    const r = await run((c) => c.runAndReadAll(`SELECT count(*) FROM ${duckTable(project, dataset, table)}`));
    return Number(r.getRows()[0]?.[0] ?? 0);
  };

  const notFoundTable = (project: string, dataset: string, table: string) =>
    datasets.has(`${project}.${dataset}`)
      ? new JobError(
          "notFound",
          `Not found: Table ${project}:${dataset}.${table} was not found in location ${location}`,
        )
      : new JobError(
          "notFound",
          `Not found: Dataset ${project}:${dataset} was not found in location ${location}`,
        );

  const parseTableRef = (ref: unknown, defaultProject: string): [string, string, string] => {
    const r = (ref ?? {}) as { projectId?: string; datasetId?: string; tableId?: string };
    if (!r.datasetId || !r.tableId)
      throw new JobError("invalid", "The table reference needs datasetId and tableId.");
    return [r.projectId ?? defaultProject, r.datasetId, r.tableId];
  };

  /** Turns a DuckDB failure into BigQuery's words, pointing at the query's line and column when it can. */
  const queryFailure = (error: unknown, query: string): JobError => {
    if (error instanceof JobError) return error;
    if (error instanceof StandInQueryError) return new JobError(error.reason, error.message, "query");
    const text = String((error as Error)?.message ?? error);
    const near = /syntax error at or near "([^"]+)"/.exec(text)?.[1];
    if (near) {
      const at = query.indexOf(near);
      return new JobError(
        "invalidQuery",
        `Syntax error: Unexpected "${near}"${at >= 0 ? ` at ${position(query, at)}` : ""}`,
        "query",
      );
    }
    const column = /Referenced column "([^"]+)" not found/.exec(text)?.[1];
    if (column) {
      const at = query.indexOf(column);
      return new JobError(
        "invalidQuery",
        `Unrecognized name: ${column}${at >= 0 ? ` at ${position(query, at)}` : ""}`,
        "query",
      );
    }
    const fn = /Scalar Function with name (\w+) does not exist/.exec(text)?.[1];
    if (fn) {
      const at = query.toLowerCase().indexOf(fn.toLowerCase());
      return new JobError(
        "invalidQuery",
        `Function not found: ${fn}${at >= 0 ? ` at ${position(query, at)}` : ""} (the BigQuery stand-in runs queries on DuckDB and does not support it)`,
        "query",
      );
    }
    return new JobError(
      "invalidQuery",
      `The BigQuery stand-in does not support this query (DuckDB: ${text.split("\n")[0]})`,
      "query",
    );
  };

  const runQuery = async (job: JobRecord, dryRun: boolean): Promise<void> => {
    const q = (job.configuration.query ?? {}) as {
      query?: string;
      useLegacySql?: boolean;
      queryParameters?: BigQueryParameter[];
      destinationTable?: unknown;
      writeDisposition?: string;
      createDisposition?: string;
      defaultDataset?: { projectId?: string; datasetId?: string };
    };
    const query = String(q.query ?? "");
    if (q.useLegacySql !== false) {
      throw new JobError(
        "invalidQuery",
        "The BigQuery stand-in runs standard SQL only: send useLegacySql: false (BigQuery's default is legacy SQL)",
        "query",
      );
    }
    let translated: ReturnType<typeof translateQuery>;
    try {
      translated = translateQuery(query, job.projectId, q.queryParameters ?? []);
    } catch (error) {
      throw queryFailure(error, query);
    }
    const read: { rows: number; columns: number }[] = [];
    for (const name of translated.tables) {
      const [p, d, t] = name.split(".") as [string, string, string];
      const creating = /^\s*CREATE\s/i.test(query) || /^\s*INSERT\s+INTO/i.test(query);
      if (!(await tableExists(p, d, t))) {
        if (creating && datasets.has(`${p}.${d}`)) continue;
        throw notFoundTable(p, d, t);
      }
      read.push({ rows: await rowCount(p, d, t), columns: (await tableSchema(p, d, t)).length });
    }
    const bytes = estimateBytes(read);
    const statementType = /^\s*(\w+)/.exec(query)?.[1]?.toUpperCase() ?? "SELECT";
    job.statistics.totalBytesProcessed = String(bytes);
    job.statistics.query = {
      totalBytesProcessed: String(bytes),
      totalBytesBilled: String(dryRun ? 0 : bytes),
      cacheHit: false,
      statementType: statementType === "WITH" ? "SELECT" : statementType,
    };
    const connection = await duck.connect();
    job.connection = connection;
    try {
      if (dryRun) {
        const prepared = await connection.prepare(translated.sql).catch((error) => {
          throw queryFailure(error, query);
        });
        const schema = Array.from({ length: prepared.columnCount }, (_, i) =>
          fieldOf(prepared.columnName(i), prepared.columnType(i)),
        );
        (job.statistics.query as Record<string, unknown>).schema = { fields: schema };
        job.result = { schema, table: undefined, count: 0 };
        return;
      }
      let sql = translated.sql;
      if (q.destinationTable) {
        const [p, d, t] = parseTableRef(q.destinationTable, job.projectId);
        await ensureDataset(p, d);
        const exists = await tableExists(p, d, t);
        const target = duckTable(p, d, t);
        if (!exists && q.createDisposition === "CREATE_NEVER") throw notFoundTable(p, d, t);
        if (exists && q.writeDisposition === "WRITE_APPEND") {
          await connection.run(`INSERT INTO ${target} BY NAME ${sql}`);
        } else {
          if (exists && q.writeDisposition !== "WRITE_TRUNCATE") {
            throw new JobError("duplicate", `Already Exists: Table ${p}:${d}.${t}`);
          }
          await connection.run(`CREATE OR REPLACE TABLE ${target} AS ${sql}`);
        }
        sql = `SELECT * FROM ${target}`;
      }
      const failed = (error: unknown) => {
        throw job.cancelled
          ? new JobError("stopped", "Job execution was cancelled: User requested cancellation")
          : queryFailure(error, query);
      };
      const isRows =
        statementType === "SELECT" || statementType === "WITH" || q.destinationTable !== undefined;
      if (!isRows) {
        const rows = await (await connection.run(sql).catch(failed)).getRows();
        job.numDmlAffectedRows = Number(rows[0]?.[0] ?? 0);
        (job.statistics.query as Record<string, unknown>).numDmlAffectedRows = String(job.numDmlAffectedRows);
        job.result = { schema: [], table: undefined, count: 0 };
        return;
      }
      // The rows stay in DuckDB (columnar, compact); pages are read from there, as BigQuery reads its temporary table.
      const table = q.destinationTable ? sql.slice("SELECT * FROM ".length) : resultTable(job);
      if (!q.destinationTable) await connection.run(`CREATE TABLE ${table} AS ${sql}`).catch(failed);
      const head = await connection.run(`SELECT * FROM ${table} LIMIT 0`);
      const names = head.columnNames();
      const types = head.columnTypes();
      const counted = await (await connection.run(`SELECT count(*) FROM ${table}`)).getRows();
      const schema = names.map((n, i) => fieldOf(n, types[i] as DuckDBType));
      job.result = { schema, table, count: Number(counted[0]?.[0] ?? 0) };
      (job.statistics.query as Record<string, unknown>).schema = { fields: schema };
    } finally {
      job.connection = undefined;
      connection.closeSync();
    }
  };

  const sourceFiles = async (uris: string[], upload: Buffer | undefined): Promise<string[]> => {
    if (upload) {
      const path = join(dir, `u${++fileCounter}`);
      await writeFile(path, upload);
      return [path];
    }
    const files: string[] = [];
    for (const uri of uris) {
      const m = /^gs:\/\/([^/]+)\/(.+)$/.exec(uri);
      if (!m) throw new JobError("invalid", `Invalid source URI: ${uri}`);
      const [, bucket, pattern] = m as unknown as [string, string, string];
      const names = hooks?.objectNames(bucket);
      if (!names) throw new JobError("notFound", `Not found: URI ${uri}`);
      const star = pattern.indexOf("*");
      const matching =
        star === -1
          ? names.filter((n) => n === pattern)
          : names.filter((n) => n.startsWith(pattern.slice(0, star)) && n.endsWith(pattern.slice(star + 1)));
      if (matching.length === 0) throw new JobError("notFound", `Not found: URI ${uri}`);
      for (const name of matching) {
        const data = (await hooks?.readObject(bucket, name)) as Buffer;
        const path = join(dir, `g${++fileCounter}-${basename(name)}`);
        await writeFile(path, data);
        files.push(path);
      }
    }
    return files;
  };

  const runLoad = async (job: JobRecord, upload: Buffer | undefined): Promise<void> => {
    const l = (job.configuration.load ?? {}) as {
      sourceUris?: string[];
      sourceFormat?: string;
      schema?: { fields?: BigQueryField[] };
      autodetect?: boolean;
      skipLeadingRows?: number;
      writeDisposition?: string;
      createDisposition?: string;
      destinationTable?: unknown;
      fieldDelimiter?: string;
    };
    const format = (l.sourceFormat ?? "CSV").toUpperCase();
    const kind = FORMATS[format];
    if (!kind)
      throw new JobError(
        "invalid",
        `The BigQuery stand-in does not support ${format} loads (CSV, NEWLINE_DELIMITED_JSON and PARQUET only)`,
      );
    const [p, d, t] = parseTableRef(l.destinationTable, job.projectId);
    if (!datasets.has(`${p}.${d}`)) throw notFoundTable(p, d, t);
    const files = await sourceFiles(l.sourceUris ?? [], upload);
    const list = `[${files.map(quoteString).join(", ")}]`;
    const exists = await tableExists(p, d, t);
    const fields = l.schema?.fields ?? (exists ? await tableSchema(p, d, t) : undefined);
    if (!fields && !l.autodetect) {
      throw new JobError("invalid", "No schema specified on job or table.");
    }
    const columns = fields
      ? `columns = {${fields.map((f) => `${quoteString(f.name)}: ${quoteString(duckType(f))}`).join(", ")}}`
      : "";
    const skip = l.skipLeadingRows ?? 0;
    let reader: string;
    if (kind === "csv") {
      const opts = [
        fields ? `header = false, skip = ${skip}, ${columns}` : skip > 0 ? "header = true" : "",
        l.fieldDelimiter ? `delim = ${quoteString(l.fieldDelimiter)}` : "",
      ].filter(Boolean);
      reader = `read_csv(${[list, ...opts].join(", ")})`;
    } else if (kind === "json") {
      reader = `read_json(${[list, "format = 'newline_delimited'", columns].filter(Boolean).join(", ")})`;
    } else {
      reader = `read_parquet(${list})`;
    }
    const target = duckTable(p, d, t);
    await run(async (c) => {
      try {
        if (!exists) {
          if (l.createDisposition === "CREATE_NEVER") throw notFoundTable(p, d, t);
          if (l.schema?.fields) {
            await c.run(
              `CREATE TABLE ${target} (${l.schema.fields.map((f) => `${quoteIdent(f.name)} ${duckType(f)}`).join(", ")})`,
            );
            tables.set(`${p}.${d}.${t}`, { schema: l.schema.fields, extra: {}, created: Date.now() });
          } else {
            await c.run(`CREATE TABLE ${target} AS SELECT * FROM ${reader} LIMIT 0`);
            tables.set(`${p}.${d}.${t}`, { extra: {}, created: Date.now() });
          }
        } else if (l.writeDisposition === "WRITE_TRUNCATE") {
          await c.run(`DELETE FROM ${target}`);
        } else if (l.writeDisposition === "WRITE_EMPTY" && (await rowCount(p, d, t)) > 0) {
          throw new JobError("duplicate", `Already Exists: Table ${p}:${d}.${t}`);
        }
        const r = await c.run(`INSERT INTO ${target} BY NAME SELECT * FROM ${reader}`);
        const inserted = Number((await r.getRows())[0]?.[0] ?? 0);
        job.statistics.load = { outputRows: String(inserted), inputFiles: String(files.length) };
      } catch (error) {
        if (error instanceof JobError) throw error;
        throw new JobError(
          "invalid",
          `Error while reading data: ${String((error as Error).message).split("\n")[0]}`,
        );
      }
    });
  };

  const runExtract = async (job: JobRecord): Promise<void> => {
    const e = (job.configuration.extract ?? {}) as {
      sourceTable?: unknown;
      destinationUris?: string[];
      destinationUri?: string;
      destinationFormat?: string;
      compression?: string;
      printHeader?: boolean;
      fieldDelimiter?: string;
    };
    const [p, d, t] = parseTableRef(e.sourceTable, job.projectId);
    if (!(await tableExists(p, d, t))) throw notFoundTable(p, d, t);
    const format = (e.destinationFormat ?? "CSV").toUpperCase();
    const kind = FORMATS[format];
    if (!kind)
      throw new JobError(
        "invalid",
        `The BigQuery stand-in does not support ${format} extracts (CSV, NEWLINE_DELIMITED_JSON and PARQUET only)`,
      );
    const uri = e.destinationUris?.[0] ?? e.destinationUri ?? "";
    const m = /^gs:\/\/([^/]+)\/(.+)$/.exec(uri);
    if (!m) throw new JobError("invalid", `Invalid extract destination URI: ${uri}`);
    const [, bucket, pattern] = m as unknown as [string, string, string];
    if (!hooks?.objectNames(bucket)) throw new JobError("notFound", `Not found: Bucket ${bucket}`);
    const compression = (e.compression ?? "NONE").toUpperCase();
    if (
      compression !== "NONE" &&
      compression !== "GZIP" &&
      !(kind === "parquet" && (compression === "SNAPPY" || compression === "ZSTD"))
    ) {
      throw new JobError(
        "invalid",
        `The BigQuery stand-in does not support ${compression} compression for ${format}`,
      );
    }
    const path = join(dir, `x${++fileCounter}`);
    const opts = [
      `FORMAT ${kind}`,
      kind === "csv" ? `HEADER ${e.printHeader === false ? "false" : "true"}` : "",
      kind === "csv" && e.fieldDelimiter ? `DELIMITER ${quoteString(e.fieldDelimiter)}` : "",
      compression !== "NONE" ? `COMPRESSION ${compression.toLowerCase()}` : "",
    ].filter(Boolean);
    const r = await run((c) =>
      c.run(`COPY (SELECT * FROM ${duckTable(p, d, t)}) TO ${quoteString(path)} (${opts.join(", ")})`),
    );
    const count = Number((await r.getRows())[0]?.[0] ?? 0);
    const contentType = { csv: "text/csv", json: "application/json", parquet: "application/octet-stream" }[
      kind
    ] as string;
    await hooks?.putObject(bucket, pattern.replace("*", "000000000000"), await readFile(path), contentType);
    await rm(path, { force: true });
    job.statistics.extract = { destinationUriFileCounts: ["1"], inputBytes: String(count * 8) };
  };

  const jobResource = (job: JobRecord): Record<string, unknown> => ({
    kind: "bigquery#job",
    id: `${job.projectId}:${job.location}.${job.jobId}`,
    selfLink: `${base}/bigquery/v2/projects/${job.projectId}/jobs/${job.jobId}?location=${job.location}`,
    jobReference: { projectId: job.projectId, jobId: job.jobId, location: job.location },
    configuration: { ...job.configuration, jobType: job.type },
    status: {
      state: job.state,
      ...(job.error
        ? {
            errorResult: {
              reason: job.error.reason,
              message: job.error.message,
              ...(job.error.location ? { location: job.error.location } : {}),
            },
            errors: [{ reason: job.error.reason, message: job.error.message }],
          }
        : {}),
    },
    statistics: {
      creationTime: String(job.created),
      startTime: String(job.created),
      ...(job.state === "DONE" ? { endTime: String(Date.now()) } : {}),
      ...job.statistics,
    },
    user_email: "stand-in@example.iam.gserviceaccount.com",
  });

  const startJob = (
    projectId: string,
    body: { jobReference?: { jobId?: string; location?: string }; configuration?: Record<string, unknown> },
    upload?: Buffer,
  ): JobRecord | StandInReply => {
    const configuration = body.configuration ?? {};
    const type = configuration.query
      ? "QUERY"
      : configuration.load
        ? "LOAD"
        : configuration.extract
          ? "EXTRACT"
          : undefined;
    if (!type)
      return bqError(
        "invalid",
        "Job configuration must contain exactly one job-specific configuration object (query, load or extract).",
      );
    const jobId = body.jobReference?.jobId ?? `job_${randomBytes(12).toString("base64url")}`;
    if (!/^[\w-]{1,1024}$/.test(jobId)) return bqError("invalid", `Invalid job ID "${jobId}".`);
    if (jobs.has(`${projectId}/${jobId}`)) {
      return bqError("duplicate", `Already Exists: Job ${projectId}:${location}.${jobId}`);
    }
    const dryRun = configuration.dryRun === true;
    const labels = configuration.labels as Record<string, string> | undefined;
    let release: () => void = () => undefined;
    const job: JobRecord = {
      projectId,
      jobId,
      location: body.jobReference?.location ?? location,
      type,
      state: "RUNNING",
      cancelled: false,
      configuration,
      ...(type === "QUERY" ? { query: String((configuration.query as { query?: string }).query ?? "") } : {}),
      ...(labels ? { labels } : {}),
      statistics: {},
      created: Date.now(),
      done: Promise.resolve(),
      abort: () => release(),
    };
    const failure = failures.find((f) => f.remaining > 0);
    if (failure) failure.remaining--;
    const hold = holdMs;
    job.done = (async () => {
      if (hold > 0 && !dryRun) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, hold);
          release = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      if (job.cancelled)
        throw new JobError("stopped", "Job execution was cancelled: User requested cancellation");
      if (failure) throw new JobError(failure.reason, failure.message);
      if (type === "QUERY") await runQuery(job, dryRun);
      else if (type === "LOAD") await runLoad(job, upload);
      else await runExtract(job);
    })().then(
      () => {
        job.state = "DONE";
      },
      (error) => {
        const e =
          error instanceof JobError
            ? error
            : new JobError("backendError", String((error as Error)?.message ?? error));
        job.error = { reason: e.reason, message: e.message, ...(e.location ? { location: e.location } : {}) };
        job.state = "DONE";
      },
    );
    if (!dryRun) {
      jobs.set(`${projectId}/${jobId}`, job);
      jobList.push(job);
    }
    return job;
  };

  const waitFor = async (job: JobRecord, ms: number) => {
    await Promise.race([job.done, new Promise((resolve) => setTimeout(resolve, ms).unref())]);
  };

  const resultsPage = async (
    job: JobRecord,
    q: URLSearchParams | Record<string, unknown>,
  ): Promise<StandInReply> => {
    const get = (k: string) =>
      q instanceof URLSearchParams ? (q.get(k) ?? undefined) : (q[k] as string | number | undefined);
    const reference = { projectId: job.projectId, jobId: job.jobId, location: job.location };
    if (job.state !== "DONE") {
      return {
        body: { kind: "bigquery#getQueryResultsResponse", jobReference: reference, jobComplete: false },
      };
    }
    if (job.error) return bqError(job.error.reason, job.error.message, job.error.location);
    const result = job.result ?? { schema: [], table: undefined, count: 0 };
    const start = get("pageToken") !== undefined ? Number(get("pageToken")) : Number(get("startIndex") ?? 0);
    const max = get("maxResults") !== undefined ? Number(get("maxResults")) : pageRows;
    const format =
      q instanceof URLSearchParams
        ? q.get("formatOptions.useInt64Timestamp")
        : (q.formatOptions as { useInt64Timestamp?: boolean } | undefined)?.useInt64Timestamp;
    const int64 = format === true || format === "true";
    const end = Math.min(result.count, start + max);
    const read =
      result.table && end > start
        ? await run(async (c) =>
            (await c.run(`SELECT * FROM ${result.table} LIMIT ${end - start} OFFSET ${start}`)).getRows(),
          )
        : [];
    const rows = read.map((row) => ({
      f: result.schema.map((field, i) => ({ v: wireValue(row[i] ?? null, field, int64) })),
    }));
    return {
      body: {
        kind: "bigquery#getQueryResultsResponse",
        etag: randomBytes(8).toString("base64"),
        schema: { fields: result.schema },
        jobReference: reference,
        totalRows: String(result.count),
        ...(end < result.count ? { pageToken: String(end) } : {}),
        ...(rows.length > 0 ? { rows } : {}),
        totalBytesProcessed: String(job.statistics.totalBytesProcessed ?? "0"),
        jobComplete: true,
        cacheHit: false,
        ...(job.numDmlAffectedRows !== undefined
          ? { numDmlAffectedRows: String(job.numDmlAffectedRows) }
          : {}),
      },
    };
  };

  const tableResource = async (p: string, d: string, t: string): Promise<Record<string, unknown>> => {
    const meta = tables.get(`${p}.${d}.${t}`);
    return {
      kind: "bigquery#table",
      id: `${p}:${d}.${t}`,
      tableReference: { projectId: p, datasetId: d, tableId: t },
      schema: { fields: await tableSchema(p, d, t) },
      numRows: String(await rowCount(p, d, t)),
      type: "TABLE",
      location,
      creationTime: String(meta?.created ?? Date.now()),
      ...(meta?.extra ?? {}),
    };
  };

  const insertIds = new Map<string, Set<string>>();

  const handleTables = async (
    req: StandInRequest,
    p: string,
    d: string,
    rest: string[],
  ): Promise<StandInReply> => {
    const [t, action] = rest;
    if (!datasets.has(`${p}.${d}`)) return bqError("notFound", `Not found: Dataset ${p}:${d}`);
    if (t === undefined) {
      if (req.method !== "POST") return bqError("invalid", "Only tables.insert is served here.");
      const body = (await req.json<Record<string, unknown>>()) ?? {};
      const ref = body.tableReference as { tableId?: string } | undefined;
      const tableId = ref?.tableId ?? "";
      if (!/^[\p{L}\p{M}\p{N}\p{Pc}\p{Pd}\p{Zs}]{1,1024}$/u.test(tableId)) {
        return bqError("invalid", `Invalid table ID "${tableId}".`);
      }
      if (await tableExists(p, d, tableId))
        return bqError("duplicate", `Already Exists: Table ${p}:${d}.${tableId}`);
      const fields = (body.schema as { fields?: BigQueryField[] } | undefined)?.fields ?? [];
      if (fields.length === 0) return bqError("invalid", "A table needs a schema with at least one field.");
      try {
        const columns = fields.map(
          (f) => `${quoteIdent(f.name)} ${duckType(f)}${f.mode === "REQUIRED" ? " NOT NULL" : ""}`,
        );
        await run((c) => c.run(`CREATE TABLE ${duckTable(p, d, tableId)} (${columns.join(", ")})`));
      } catch (error) {
        return bqError("invalid", (error as Error).message);
      }
      const extra: Record<string, unknown> = {};
      for (const k of [
        "timePartitioning",
        "rangePartitioning",
        "clustering",
        "description",
        "labels",
        "expirationTime",
      ]) {
        if (body[k] !== undefined) extra[k] = body[k];
      }
      tables.set(`${p}.${d}.${tableId}`, { schema: fields, extra, created: Date.now() });
      return { body: await tableResource(p, d, tableId) };
    }
    if (!(await tableExists(p, d, t))) return bqError("notFound", `Not found: Table ${p}:${d}.${t}`);
    if (action === undefined) {
      if (req.method === "GET") return { body: await tableResource(p, d, t) };
      if (req.method === "DELETE") {
        await run((c) => c.run(`DROP TABLE ${duckTable(p, d, t)}`));
        tables.delete(`${p}.${d}.${t}`);
        insertIds.delete(`${p}.${d}.${t}`);
        return { status: 204 };
      }
      return bqError("invalid", `${req.method} is not served on tables by the stand-in`);
    }
    if (action === "insertAll" && req.method === "POST") {
      const body =
        (await req.json<{
          rows?: { insertId?: string; json?: Record<string, unknown> }[];
          skipInvalidRows?: boolean;
          ignoreUnknownValues?: boolean;
        }>()) ?? {};
      const rows = body.rows ?? [];
      if (!Array.isArray(rows) || rows.length === 0)
        return bqError("invalid", "No rows present in the request.");
      if (rows.length > 50_000)
        return bqError("invalid", "too many rows present in the request, limit: 50000");
      const schema = await tableSchema(p, d, t);
      const seen = insertIds.get(`${p}.${d}.${t}`) ?? new Set<string>();
      insertIds.set(`${p}.${d}.${t}`, seen);
      const values: string[] = [];
      const insertErrors: {
        index: number;
        errors: { reason: string; location: string; message: string; debugInfo: string }[];
      }[] = [];
      rows.forEach((row, index) => {
        const json = row.json ?? {};
        try {
          if (!body.ignoreUnknownValues) {
            for (const k of Object.keys(json)) {
              if (!schema.some((f) => f.name === k)) throw new JobError("invalid", `no such field: ${k}.`, k);
            }
          }
          values.push(`(${schema.map((f) => jsonLiteral(json[f.name], f, f.name)).join(", ")})`);
        } catch (error) {
          const e = error as JobError;
          insertErrors.push({
            index,
            errors: [{ reason: e.reason, location: e.location ?? "", message: e.message, debugInfo: "" }],
          });
          values.push("");
        }
      });
      if (insertErrors.length > 0 && !body.skipInvalidRows) {
        const failed = new Set(insertErrors.map((e) => e.index));
        for (let i = 0; i < rows.length; i++) {
          if (!failed.has(i))
            insertErrors.push({
              index: i,
              errors: [{ reason: "stopped", location: "", message: "", debugInfo: "" }],
            });
        }
        insertErrors.sort((a, b) => a.index - b.index);
        return { body: { kind: "bigquery#tableDataInsertAllResponse", insertErrors } };
      }
      const fresh = values.filter((v, i) => {
        if (v === "") return false;
        const id = rows[i]?.insertId;
        if (id === undefined || id === "") return true;
        if (seen.has(id)) return false;
        seen.add(id);
        return true;
      });
      if (fresh.length > 0) {
        await run((c) =>
          c.run(
            `INSERT INTO ${duckTable(p, d, t)} (${schema.map((f) => quoteIdent(f.name)).join(", ")}) VALUES ${fresh.join(", ")}`,
          ),
        );
      }
      return {
        body: {
          kind: "bigquery#tableDataInsertAllResponse",
          ...(insertErrors.length ? { insertErrors } : {}),
        },
      };
    }
    if (action === "data" && req.method === "GET") {
      const q = req.url.searchParams;
      const schema = await tableSchema(p, d, t);
      const r = await run((c) =>
        c.run(`SELECT ${schema.map((f) => quoteIdent(f.name)).join(", ")} FROM ${duckTable(p, d, t)}`),
      );
      const all = await r.getRows();
      const start = q.get("pageToken") ? Number(q.get("pageToken")) : Number(q.get("startIndex") ?? 0);
      const end = Math.min(all.length, start + Number(q.get("maxResults") ?? pageRows));
      const int64 = q.get("formatOptions.useInt64Timestamp") === "true";
      return {
        body: {
          kind: "bigquery#tableDataList",
          totalRows: String(all.length),
          ...(end < all.length ? { pageToken: String(end) } : {}),
          rows: all
            .slice(start, end)
            .map((row) => ({ f: schema.map((f, i) => ({ v: wireValue(row[i] ?? null, f, int64) })) })),
        },
      };
    }
    return bqError("invalid", `${req.method} ${action} is not served by the BigQuery stand-in`);
  };

  const handleUpload = async (req: StandInRequest, projectId: string): Promise<StandInReply> => {
    const q = req.url.searchParams;
    const uploadType = q.get("uploadType");
    if (uploadType === "resumable") {
      const id = q.get("upload_id");
      if (req.method === "POST" && !id) {
        const meta = (await req.json<Record<string, unknown>>()) ?? {};
        const uploadId = randomBytes(16).toString("hex");
        uploads.set(uploadId, { meta, chunks: [], projectId });
        return {
          headers: {
            location: `${base}/upload/bigquery/v2/projects/${projectId}/jobs?uploadType=resumable&upload_id=${uploadId}`,
          },
          body: "",
        };
      }
      const session = id ? uploads.get(id) : undefined;
      if (!session) return bqError("notFound", "No such upload session.");
      session.chunks.push(await req.body());
      const range = /bytes (\d+)-(\d+)\/(\d+|\*)/.exec(String(req.headers["content-range"] ?? ""));
      const received = session.chunks.reduce((n, c) => n + c.length, 0);
      if (range && (range[3] === "*" || Number(range[3]) > received)) {
        return { status: 308, headers: { range: `bytes=0-${received - 1}` }, body: "" };
      }
      uploads.delete(id as string);
      const job = startJob(session.projectId, session.meta as never, Buffer.concat(session.chunks));
      if (!("jobId" in job)) return job;
      return { body: jobResource(job) };
    }
    if (uploadType === "multipart") {
      const type = String(req.headers["content-type"] ?? "");
      const boundary = /boundary="?([^";]+)"?/.exec(type)?.[1];
      if (!boundary) return bqError("invalid", "A multipart upload needs a boundary.");
      const raw = await req.body();
      const parts: Buffer[] = [];
      const marker = Buffer.from(`--${boundary}`);
      let at = raw.indexOf(marker);
      while (at !== -1) {
        const next = raw.indexOf(marker, at + marker.length);
        if (next === -1) break;
        const part = raw.subarray(at + marker.length, next);
        const headerEnd = part.indexOf("\r\n\r\n");
        parts.push(part.subarray(headerEnd + 4, part.length - 2));
        at = next;
      }
      const meta = JSON.parse((parts[0] ?? Buffer.from("{}")).toString("utf8"));
      const job = startJob(projectId, meta, parts[1] ?? Buffer.alloc(0));
      if (!("jobId" in job)) return job;
      return { body: jobResource(job) };
    }
    return bqError("invalid", `Unsupported uploadType ${uploadType}`);
  };

  const handler = async (req: StandInRequest): Promise<StandInReply> => {
    const upload = req.path.startsWith("/upload/");
    if (!(upload && req.method === "PUT" && req.url.searchParams.get("upload_id"))) {
      const principal = hooks?.authenticate(req) ?? "";
      if (typeof principal !== "string") {
        req.raw.resume();
        return principal;
      }
      if (hooks?.isDenied(principal, req.path)) {
        req.raw.resume();
        return bqError(
          "accessDenied",
          `Access Denied: ${req.path}: User does not have permission for this request.`,
        );
      }
    }
    const seg = req.path
      .replace(/^\/upload/, "")
      .replace(/^\/bigquery\/v2/, "")
      .split("/")
      .slice(1)
      .map((s) => decodeURIComponent(s));
    const [, projectId = "", collection, id, sub, ...rest] = seg;
    try {
      if (upload) return await handleUpload(req, projectId);
      if (collection === "datasets") {
        if (id === undefined && req.method === "POST") {
          const body = (await req.json<{ datasetReference?: { datasetId?: string } }>()) ?? {};
          const datasetId = body.datasetReference?.datasetId ?? "";
          if (!/^\w{1,1024}$/.test(datasetId))
            return bqError("invalid", `Invalid dataset ID "${datasetId}".`);
          if (datasets.has(`${projectId}.${datasetId}`))
            return bqError("duplicate", `Already Exists: Dataset ${projectId}:${datasetId}`);
          await ensureDataset(projectId, datasetId);
          return {
            body: {
              kind: "bigquery#dataset",
              id: `${projectId}:${datasetId}`,
              datasetReference: { projectId, datasetId },
              location,
            },
          };
        }
        if (id !== undefined && sub === undefined) {
          if (!datasets.has(`${projectId}.${id}`))
            return bqError("notFound", `Not found: Dataset ${projectId}:${id}`);
          if (req.method === "GET") {
            return {
              body: {
                kind: "bigquery#dataset",
                id: `${projectId}:${id}`,
                datasetReference: { projectId, datasetId: id },
                location,
              },
            };
          }
          if (req.method === "DELETE") {
            const cascade = req.url.searchParams.get("deleteContents") === "true";
            await run((c) =>
              c.run(`DROP SCHEMA ${quoteIdent(`${projectId}.${id}`)}${cascade ? " CASCADE" : ""}`),
            ).catch(() => {
              throw new JobError("resourceInUse", `Dataset ${projectId}:${id} is still in use`);
            });
            datasets.delete(`${projectId}.${id}`);
            return { status: 204 };
          }
        }
        if (id !== undefined && sub === "tables") return await handleTables(req, projectId, id, rest);
      }
      if (collection === "jobs") {
        if (id === undefined && req.method === "POST") {
          const body = (await req.json<Record<string, unknown>>()) ?? {};
          const job = startJob(projectId, body as never);
          if (!("jobId" in job)) return job;
          if (job.configuration.dryRun === true) await job.done;
          else await waitFor(job, 50);
          return { body: jobResource(job) };
        }
        const job = id !== undefined ? jobs.get(`${projectId}/${id}`) : undefined;
        if (!job) return bqError("notFound", `Not found: Job ${projectId}:${id}`);
        if (sub === "cancel" && req.method === "POST") {
          cancelRequests.push(job.jobId);
          if (job.state !== "DONE") {
            job.cancelled = true;
            job.abort();
            job.connection?.interrupt();
            await waitFor(job, 1000);
          }
          return { body: { kind: "bigquery#jobCancelResponse", job: jobResource(job) } };
        }
        if (sub === undefined && req.method === "GET") return { body: jobResource(job) };
      }
      if (collection === "queries") {
        if (id === undefined && req.method === "POST") {
          const body = (await req.json<Record<string, unknown>>()) ?? {};
          const {
            query,
            useLegacySql,
            queryParameters,
            parameterMode,
            dryRun,
            labels,
            defaultDataset,
            location: where,
            requestId,
          } = body;
          const job = startJob(projectId, {
            jobReference: {
              jobId: `job_${typeof requestId === "string" ? requestId.replace(/\W/g, "_") : randomBytes(12).toString("base64url")}`,
              ...(typeof where === "string" ? { location: where } : {}),
            },
            configuration: {
              query: { query, useLegacySql, queryParameters, parameterMode, defaultDataset },
              ...(dryRun ? { dryRun } : {}),
              ...(labels ? { labels } : {}),
            },
          });
          if (!("jobId" in job)) return job;
          await waitFor(job, Math.min(Number(body.timeoutMs ?? 10_000), 10_000));
          if (job.error) return bqError(job.error.reason, job.error.message, job.error.location);
          const page = await resultsPage(job, body);
          const pageBody = page.body as Record<string, unknown>;
          return {
            ...page,
            body: {
              ...pageBody,
              kind: "bigquery#queryResponse",
              ...(dryRun ? { totalBytesProcessed: job.statistics.totalBytesProcessed } : {}),
            },
          };
        }
        const job = id !== undefined ? jobs.get(`${projectId}/${id}`) : undefined;
        if (!job) return bqError("notFound", `Not found: Job ${projectId}:${id}`);
        const q = req.url.searchParams;
        await waitFor(job, Math.min(Number(q.get("timeoutMs") ?? 10_000), 10_000));
        return await resultsPage(job, q);
      }
      return bqError("invalid", `${req.method} ${req.path} is not served by the BigQuery stand-in`);
    } catch (error) {
      if (error instanceof JobError) return bqError(error.reason, error.message, error.location);
      throw error;
    }
  };

  const google = await startGoogleStandIn({
    ...options,
    services: (h) => {
      hooks = h;
      return [route("*", /^\/(upload\/)?(bigquery\/v2\/)?projects\//, handler)];
    },
  });
  base = google.url;

  const close = google.close;
  const standIn = Object.assign(google, {
    jobs: jobList as readonly BigQueryStandInJob[],
    cancelRequests: cancelRequests as readonly string[],
    async createDataset(dataset: string, o: { project?: string } = {}) {
      await ensureDataset(o.project ?? google.projectId, dataset);
    },
    async query(sql: string) {
      const { sql: translated } = translateQuery(sql, google.projectId);
      const r = await run((c) => c.runAndReadAll(translated));
      return r.getRowObjectsJS() as Record<string, unknown>[];
    },
    holdJobs(ms: number) {
      holdMs = ms;
    },
    failJobs(count: number, error: { reason: string; message?: string }) {
      failures.push({
        remaining: count,
        reason: error.reason,
        message: error.message ?? `The stand-in failed this job (${error.reason})`,
      });
    },
    async close() {
      for (const job of jobList) job.abort();
      await close();
      duck.closeSync();
      await rm(dir, { recursive: true, force: true });
    },
  });
  return standIn as unknown as BigQueryStandIn;
}
