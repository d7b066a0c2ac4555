import { type Task, task, taskContext } from "@tributary/flow";
import {
  type BigQueryInsertRowsOptions,
  type BigQueryInsertRowsResult,
  insertRows,
} from "./bigquery-insert-rows.js";
import {
  type BigQueryExtractOptions,
  type BigQueryExtractResult,
  type BigQueryLoadOptions,
  type BigQueryLoadResult,
  extractTable,
  loadTable,
} from "./bigquery-load.js";
import {
  type BigQueryQueryOptions,
  type BigQueryQueryResult,
  type BigQueryQueryStreamResult,
  runQuery,
} from "./bigquery-query.js";
import {
  type BigQueryCreateTableOptions,
  type BigQueryCreateTableResult,
  type BigQueryDeleteTableOptions,
  type BigQueryDeleteTableResult,
  type BigQueryTableOptions,
  createTable,
  deleteTable,
  tableExists,
} from "./bigquery-tables.js";

const signal = () => ({ signal: taskContext()?.signal });

/** The `bigqueryQuery` task, typed by `as`: rows in memory (the default) or a stream of rows. */
export type BigQueryQueryTask = {
  (options: BigQueryQueryOptions & { as: "stream" }): Promise<BigQueryQueryStreamResult>;
  (options: BigQueryQueryOptions & { as?: "rows" }): Promise<BigQueryQueryResult>;
} & Task<[options: BigQueryQueryOptions], BigQueryQueryResult | BigQueryQueryStreamResult>;

/**
 * Task: runs a standard SQL query as a job (a client-made job id, polled until done; cancelled with the task) and
 * returns its rows converted by the schema — every page, or `as: "stream"` for results that do not fit in memory.
 * `dryRun` returns the bytes it would process. A failed job is a `ServiceError` with BigQuery's reason.
 * @example
 * ```ts
 * const { rows } = await bigqueryQuery({
 *   query: "SELECT region, SUM(amount) AS total FROM `acme.sales.orders` WHERE day = @day GROUP BY region",
 *   params: { day: "2026-11-26" },
 * });
 * ```
 */
export const bigqueryQuery: BigQueryQueryTask = task(
  { name: "bigqueryQuery" },
  (options: BigQueryQueryOptions) => runQuery(options, signal()),
) as BigQueryQueryTask;

/**
 * Task: loads rows into a table from Cloud Storage (`from`, wildcards allowed), a file or bytes (sent as a resumable
 * upload), as a load job.
 * @example
 * await bigqueryLoad({ table: "sales.orders", from: "gs://landing/orders/*.csv", format: "csv", skipLeadingRows: 1 });
 */
export const bigqueryLoad: Task<[options: BigQueryLoadOptions], BigQueryLoadResult> = task(
  { name: "bigqueryLoad" },
  (options: BigQueryLoadOptions) => loadTable(options, signal()),
);

/**
 * Task: writes a table to Cloud Storage as an extract job.
 * @example
 * await bigqueryExtract({ table: "sales.orders", to: "gs://exports/orders-*.csv.gz", compression: "gzip" });
 */
export const bigqueryExtract: Task<[options: BigQueryExtractOptions], BigQueryExtractResult> = task(
  { name: "bigqueryExtract" },
  (options: BigQueryExtractOptions) => extractTable(options, signal()),
);

/**
 * Task: streams rows into a table (`tabledata.insertAll`), in batches under BigQuery's limits, each row with an
 * `insertId` so a retried batch is not inserted twice. Rows BigQuery refuses come back in `failed`.
 * @example
 * const { inserted, failed } = await bigqueryInsertRows({ table: "sales.events", rows: [{ id: 1, kind: "click" }] });
 */
export const bigqueryInsertRows: Task<[options: BigQueryInsertRowsOptions], BigQueryInsertRowsResult> = task(
  { name: "bigqueryInsertRows" },
  (options: BigQueryInsertRowsOptions) => insertRows(options, signal()),
);

/**
 * Task: creates a table with its schema, partitioning and clustering; with `ifNotExists` an existing one is fine.
 * @example
 * await bigqueryCreateTable({ table: "sales.orders", schema: [{ name: "id", type: "INT64", mode: "REQUIRED" }] });
 */
export const bigqueryCreateTable: Task<[options: BigQueryCreateTableOptions], BigQueryCreateTableResult> =
  task({ name: "bigqueryCreateTable" }, (options: BigQueryCreateTableOptions) =>
    createTable(options, signal()),
  );

/**
 * Task: deletes a table. Idempotent: a missing table is fine, unless `mustExist` is set.
 * @example
 * await bigqueryDeleteTable({ table: "sales.orders_staging" });
 */
export const bigqueryDeleteTable: Task<[options: BigQueryDeleteTableOptions], BigQueryDeleteTableResult> =
  task({ name: "bigqueryDeleteTable" }, (options: BigQueryDeleteTableOptions) =>
    deleteTable(options, signal()),
  );

/**
 * Task: tells whether a table exists.
 * @example
 * if (!(await bigqueryTableExists({ table: "sales.orders" }))) throw new Error("run the setup first");
 */
export const bigqueryTableExists: Task<[options: BigQueryTableOptions], boolean> = task(
  { name: "bigqueryTableExists" },
  (options: BigQueryTableOptions) => tableExists(options, signal()),
);
