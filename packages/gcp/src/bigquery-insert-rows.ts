import { createHash } from "node:crypto";
import { ValidationError } from "@tributary/auth";
import { bigqueryClient, bigqueryRequest } from "./bigquery-client.js";
import { fullTableName, parseTableName, tablePath } from "./bigquery-names.js";
import type { BigQueryTableOptions } from "./bigquery-tables.js";

/** The options of `bigqueryInsertRows`. */
export interface BigQueryInsertRowsOptions extends BigQueryTableOptions {
  /** The rows, as objects keyed by column (`Date`, `bigint` and `Buffer` values are sent as BigQuery reads them). */
  rows: Record<string, unknown>[];
  /**
   * An `insertId` per row (BigQuery drops a row whose id it saw in the last minute), or a function making one. Default:
   * derived from the row's content (and its rank among equal rows), so that a retried call inserts nothing twice.
   */
  insertIds?: string[] | ((row: Record<string, unknown>, index: number) => string) | undefined;
  /** Insert the valid rows of a request that holds invalid ones. Default false: BigQuery then inserts none of them. */
  skipInvalidRows?: boolean | undefined;
  /** Ignore values of columns the table does not have, instead of refusing the row. */
  ignoreUnknownValues?: boolean | undefined;
}

/** A row BigQuery refused. */
export interface BigQueryInsertFailure {
  /** The row's index in `rows`. */
  index: number;
  /** BigQuery's reason (`invalid`; `stopped` for a valid row not inserted because another row of its request was invalid). */
  reason: string;
  /** BigQuery's message. */
  message: string;
}

/** The result of `bigqueryInsertRows`. */
export interface BigQueryInsertRowsResult {
  /** Rows BigQuery accepted. */
  inserted: number;
  /** Rows it refused, with why. */
  failed: BigQueryInsertFailure[];
}

/** BigQuery's limits are 50,000 rows and 10 MB a request; it advises about 500 rows. */
const BATCH_ROWS = 500;
const BATCH_BYTES = 9 * 1024 * 1024;

function toJsonValue(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Date) return value.toISOString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString("base64");
  if (Array.isArray(value)) return value.map(toJsonValue);
  if (typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, toJsonValue(v)]),
    );
  }
  return value;
}

interface InsertAllResponse {
  insertErrors?: { index: number; errors?: { reason?: string; message?: string }[] }[];
}

/** @internal Streams rows into a table with `tabledata.insertAll`, in batches under BigQuery's limits. */
export async function insertRows(
  options: BigQueryInsertRowsOptions,
  call: { signal?: AbortSignal | undefined },
): Promise<BigQueryInsertRowsResult> {
  const name = parseTableName(options?.table);
  const rows = options.rows;
  if (!Array.isArray(rows) || rows.length === 0)
    throw new ValidationError("rows", "must be a non-empty list of row objects");
  rows.forEach((row, i) => {
    if (!row || typeof row !== "object" || Array.isArray(row))
      throw new ValidationError(`rows[${i}]`, "must be an object keyed by column");
  });
  const given = options.insertIds;
  if (Array.isArray(given) && given.length !== rows.length) {
    throw new ValidationError("insertIds", `gives ${given.length} ids for ${rows.length} rows`);
  }
  if (given !== undefined && !Array.isArray(given) && typeof given !== "function") {
    throw new ValidationError("insertIds", "must be a list of strings or a function (row, index) => string");
  }
  const seen = new Map<string, number>();
  const entries = rows.map((row, index) => {
    let insertId: string;
    if (Array.isArray(given)) insertId = given[index] as string;
    else if (typeof given === "function") insertId = given(row, index);
    else {
      const base = stableInsertId(row, 0);
      const n = seen.get(base) ?? 0;
      seen.set(base, n + 1);
      insertId = n === 0 ? base : stableInsertId(row, n);
    }
    if (typeof insertId !== "string" || insertId === "" || insertId.length > 128) {
      throw new ValidationError(`insertIds[${index}]`, "must be a string of 1 to 128 characters");
    }
    const entry = { insertId, json: toJsonValue(row) };
    return { entry, size: JSON.stringify(entry).length + 1 };
  });
  const client = await bigqueryClient(options);
  const resource = fullTableName(name, client.projectId);

  const failed: BigQueryInsertFailure[] = [];
  let start = 0;
  while (start < entries.length) {
    let end = start;
    let bytes = 0;
    while (
      end < entries.length &&
      end - start < BATCH_ROWS &&
      (end === start || bytes + (entries[end]?.size ?? 0) < BATCH_BYTES)
    ) {
      bytes += entries[end]?.size ?? 0;
      end++;
    }
    const json = {
      kind: "bigquery#tableDataInsertAllRequest",
      skipInvalidRows: options.skipInvalidRows === true,
      ignoreUnknownValues: options.ignoreUnknownValues === true,
      rows: entries.slice(start, end).map((e) => e.entry),
    };
    const answer = await bigqueryRequest<InsertAllResponse>(
      client,
      resource,
      { method: "POST", uri: `${tablePath(name)}/insertAll`, json, projectId: name.project },
      { signal: call.signal, retries: options.retries },
    );
    for (const e of answer.insertErrors ?? []) {
      const first = e.errors?.[0] ?? {};
      failed.push({
        index: start + e.index,
        reason: first.reason ?? "invalid",
        message: first.message ?? "",
      });
    }
    start = end;
  }
  failed.sort((a, b) => a.index - b.index);
  return { inserted: rows.length - failed.length, failed };
}

/** An `insertId` derived from a row's content and its occurrence among equal rows of the call. */
function stableInsertId(row: unknown, occurrence: number): string {
  return `${createHash("sha256").update(stableJson(row)).digest("base64url").slice(0, 32)}-${occurrence}`;
}

/** JSON with object keys sorted, so that equal rows give equal text. */
function stableJson(value: unknown): string {
  if (value === null || typeof value !== "object") {
    return typeof value === "bigint" ? `${value}n` : (JSON.stringify(value) ?? "null");
  }
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (value instanceof Uint8Array) return JSON.stringify(Buffer.from(value).toString("base64"));
  if (Array.isArray(value)) return `[${value.map(stableJson).join(",")}]`;
  const record = value as Record<string, unknown>;
  return `{${Object.keys(record)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${stableJson(record[k])}`)
    .join(",")}}`;
}
