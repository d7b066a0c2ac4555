import { ServiceError, ValidationError } from "@tributary/auth";
import { type BigQueryClientOptions, bigqueryClient, bigqueryRequest } from "./bigquery-client.js";
import { fullTableName, parseTableName, tablePath, tableReference } from "./bigquery-names.js";
import type { BigQueryField } from "./bigquery-values.js";

/** Options naming one table. */
export interface BigQueryTableOptions extends BigQueryClientOptions {
  /** The table, `project.dataset.table` or `dataset.table` (in the credential's project). */
  table: string;
}

/** How a table is partitioned by time. */
export interface BigQueryPartitioning {
  /** The granularity. Default `DAY`. */
  type?: "HOUR" | "DAY" | "MONTH" | "YEAR" | undefined;
  /** The DATE, TIMESTAMP or DATETIME column to partition by. Default: the load time (`_PARTITIONTIME`). */
  field?: string | undefined;
  /** How long a partition is kept, in milliseconds. Default: forever. */
  expirationMs?: number | undefined;
}

/** The options of `bigqueryCreateTable`. */
export interface BigQueryCreateTableOptions extends BigQueryTableOptions {
  /** The columns: `[{ name, type, mode?, fields?, description? }]`. */
  schema: BigQueryField[];
  /** Time partitioning. */
  partitioning?: BigQueryPartitioning | undefined;
  /** Up to four columns to cluster by, in order. */
  clustering?: string[] | undefined;
  /** A description of the table. */
  description?: string | undefined;
  /** An existing table is fine (nothing is changed) instead of a `CONFLICT` error. */
  ifNotExists?: boolean | undefined;
}

/** The result of `bigqueryCreateTable`. */
export interface BigQueryCreateTableResult {
  /** The table's full name, `project.dataset.table`. */
  table: string;
  /** False when it existed already (with `ifNotExists`). */
  created: boolean;
}

/** The options of `bigqueryDeleteTable`. */
export interface BigQueryDeleteTableOptions extends BigQueryTableOptions {
  /** A missing table is a `NOT_FOUND` error instead of success. */
  mustExist?: boolean | undefined;
}

/** The result of `bigqueryDeleteTable`. */
export interface BigQueryDeleteTableResult {
  /** The table's full name. */
  table: string;
  /** True when it was deleted now; false when it did not exist. */
  deleted: boolean;
}

const TYPES = new Set([
  "STRING",
  "BYTES",
  "INTEGER",
  "INT64",
  "FLOAT",
  "FLOAT64",
  "NUMERIC",
  "BIGNUMERIC",
  "BOOLEAN",
  "BOOL",
  "TIMESTAMP",
  "DATE",
  "TIME",
  "DATETIME",
  "GEOGRAPHY",
  "JSON",
  "RECORD",
  "STRUCT",
  "INTERVAL",
  "RANGE",
]);

/** @internal Checks a schema before any request. */
export function checkSchema(schema: unknown, option = "schema"): BigQueryField[] {
  if (!Array.isArray(schema) || schema.length === 0) {
    throw new ValidationError(option, 'must be a list of fields, `[{ name: "id", type: "INT64" }]`');
  }
  const names = new Set<string>();
  return schema.map((field, i) => {
    const where = `${option}[${i}]`;
    const f = field as BigQueryField;
    if (
      !f ||
      typeof f !== "object" ||
      typeof f.name !== "string" ||
      !/^[A-Za-z_][A-Za-z0-9_]{0,299}$/.test(f.name)
    ) {
      throw new ValidationError(
        `${where}.name`,
        "a column name holds letters, digits and underscores and does not start with a digit",
      );
    }
    if (names.has(f.name.toLowerCase()))
      throw new ValidationError(`${where}.name`, `\`${f.name}\` appears twice`);
    names.add(f.name.toLowerCase());
    if (typeof f.type !== "string" || !TYPES.has(f.type.toUpperCase())) {
      throw new ValidationError(
        `${where}.type`,
        `\`${String(f.type)}\` is not a BigQuery type (STRING, INT64, FLOAT64, NUMERIC, BOOL, TIMESTAMP, DATE, RECORD …)`,
      );
    }
    if (f.mode !== undefined && !["NULLABLE", "REQUIRED", "REPEATED"].includes(f.mode)) {
      throw new ValidationError(`${where}.mode`, "must be NULLABLE, REQUIRED or REPEATED");
    }
    const record = ["RECORD", "STRUCT"].includes(f.type.toUpperCase());
    if (record !== (f.fields !== undefined)) {
      throw new ValidationError(
        `${where}.fields`,
        record ? "a RECORD needs its fields" : "only a RECORD has fields",
      );
    }
    return {
      name: f.name,
      type: f.type.toUpperCase(),
      ...(f.mode ? { mode: f.mode } : {}),
      ...(f.description !== undefined ? { description: f.description } : {}),
      ...(record ? { fields: checkSchema(f.fields, `${where}.fields`) } : {}),
    };
  });
}

/** @internal Creates a table. */
export async function createTable(
  options: BigQueryCreateTableOptions,
  call: { signal?: AbortSignal | undefined },
): Promise<BigQueryCreateTableResult> {
  const name = parseTableName(options?.table);
  const schema = checkSchema(options.schema);
  const body: Record<string, unknown> = { schema: { fields: schema } };
  if (options.partitioning !== undefined) {
    const p = options.partitioning;
    if (
      !p ||
      typeof p !== "object" ||
      (p.type !== undefined && !["HOUR", "DAY", "MONTH", "YEAR"].includes(p.type))
    ) {
      throw new ValidationError(
        "partitioning",
        "must be `{ type?: HOUR | DAY | MONTH | YEAR, field?, expirationMs? }`",
      );
    }
    if (p.field !== undefined && !schema.some((f) => f.name === p.field)) {
      throw new ValidationError("partitioning.field", `\`${p.field}\` is not a column of the schema`);
    }
    if (p.expirationMs !== undefined && (!Number.isInteger(p.expirationMs) || p.expirationMs <= 0)) {
      throw new ValidationError("partitioning.expirationMs", "must be a positive number of milliseconds");
    }
    body.timePartitioning = {
      type: p.type ?? "DAY",
      ...(p.field ? { field: p.field } : {}),
      ...(p.expirationMs ? { expirationMs: String(p.expirationMs) } : {}),
    };
  }
  if (options.clustering !== undefined) {
    const c = options.clustering;
    if (!Array.isArray(c) || c.length === 0 || c.length > 4) {
      throw new ValidationError("clustering", "must list one to four columns");
    }
    for (const column of c) {
      if (!schema.some((f) => f.name === column)) {
        throw new ValidationError("clustering", `\`${String(column)}\` is not a column of the schema`);
      }
    }
    body.clustering = { fields: c };
  }
  if (options.description !== undefined) body.description = String(options.description);
  const client = await bigqueryClient(options);
  const full = fullTableName(name, client.projectId);
  body.tableReference = tableReference(name, client.projectId);
  try {
    await bigqueryRequest(
      client,
      full,
      {
        method: "POST",
        uri: `/datasets/${encodeURIComponent(name.dataset)}/tables`,
        json: body,
        projectId: name.project,
      },
      { signal: call.signal, retries: options.retries },
    );
    return { table: full, created: true };
  } catch (error) {
    if (options.ifNotExists && ServiceError.isInstance(error) && error.code === "CONFLICT") {
      return { table: full, created: false };
    }
    throw error;
  }
}

/** @internal Deletes a table; a missing one is fine unless `mustExist`. */
export async function deleteTable(
  options: BigQueryDeleteTableOptions,
  call: { signal?: AbortSignal | undefined },
): Promise<BigQueryDeleteTableResult> {
  const name = parseTableName(options?.table);
  const client = await bigqueryClient(options);
  const full = fullTableName(name, client.projectId);
  try {
    await bigqueryRequest(
      client,
      full,
      { method: "DELETE", uri: tablePath(name), projectId: name.project },
      { signal: call.signal, retries: options.retries },
    );
    return { table: full, deleted: true };
  } catch (error) {
    if (!options.mustExist && ServiceError.isInstance(error) && error.code === "NOT_FOUND") {
      return { table: full, deleted: false };
    }
    throw error;
  }
}

/** @internal Whether a table exists: a 404 is false, any other failure an error. */
export async function tableExists(
  options: BigQueryTableOptions,
  call: { signal?: AbortSignal | undefined },
): Promise<boolean> {
  const name = parseTableName(options?.table);
  const client = await bigqueryClient(options);
  try {
    await bigqueryRequest(
      client,
      fullTableName(name, client.projectId),
      { method: "GET", uri: tablePath(name), qs: { view: "BASIC" }, projectId: name.project },
      { signal: call.signal, retries: options.retries },
    );
    return true;
  } catch (error) {
    if (ServiceError.isInstance(error) && error.code === "NOT_FOUND") return false;
    throw error;
  }
}
