import { ValidationError } from "@tributary/auth";

/** A table named by its parts; `project` is undefined when the name was `dataset.table`. */
export interface TableName {
  project: string | undefined;
  dataset: string;
  table: string;
}

const PROJECT = /^(?:[a-z][a-z0-9.-]*:)?[a-z][a-z0-9-]{0,61}[a-z0-9]$/;
const DATASET = /^[A-Za-z0-9_]{1,1024}$/;
// Letters, marks, numbers, connectors, dashes and spaces, as BigQuery allows; `$…` is a partition decorator.
const TABLE = /^[\p{L}\p{M}\p{N}\p{Pc}\p{Pd}\p{Zs}]{1,1024}(\$[0-9A-Za-z_]+)?$/u;

/**
 * Reads a table name, `project.dataset.table` or `dataset.table` (backticks allowed, as in SQL), before any request.
 * @throws ValidationError naming `option`, and what is wrong.
 */
export function parseTableName(value: unknown, option = "table"): TableName {
  if (typeof value !== "string" || value.trim() === "") {
    throw new ValidationError(
      option,
      "must be a table name such as `my-project.sales.orders` or `sales.orders`",
    );
  }
  const name = value.trim().replace(/^`(.*)`$/, "$1");
  const parts = name.split(".");
  // A domain-scoped project (`example.com:proj`) holds a dot itself.
  const [project, dataset, table] =
    parts.length === 2
      ? [undefined, parts[0], parts[1]]
      : parts.length === 3
        ? parts
        : parts.length === 4 && (parts[1] ?? "").includes(":")
          ? [`${parts[0]}.${parts[1]}`, parts[2], parts[3]]
          : [];
  if (dataset === undefined || table === undefined) {
    throw new ValidationError(
      option,
      `\`${value}\` must be \`project.dataset.table\` or \`dataset.table\` (with the credential's project)`,
    );
  }
  if (project !== undefined && !PROJECT.test(project)) {
    throw new ValidationError(option, `\`${project}\` in \`${value}\` is not a Google Cloud project id`);
  }
  if (!DATASET.test(dataset)) {
    throw new ValidationError(
      option,
      `the dataset \`${dataset}\` in \`${value}\` may hold only letters, digits and underscores`,
    );
  }
  if (!TABLE.test(table)) {
    throw new ValidationError(
      option,
      `the table \`${table}\` in \`${value}\` may hold only letters, marks, digits, underscores, dashes and spaces`,
    );
  }
  return { project, dataset, table };
}

/** The table's full name, `project.dataset.table`. */
export function fullTableName(name: TableName, projectId: string): string {
  return `${name.project ?? projectId}.${name.dataset}.${name.table}`;
}

/** The REST path of a table, relative to `projects/{project}`. */
export function tablePath(name: TableName): string {
  return `/datasets/${encodeURIComponent(name.dataset)}/tables/${encodeURIComponent(name.table)}`;
}

/** The `tableReference` of a table in job configurations. */
export function tableReference(
  name: TableName,
  projectId: string,
): { projectId: string; datasetId: string; tableId: string } {
  return { projectId: name.project ?? projectId, datasetId: name.dataset, tableId: name.table };
}
