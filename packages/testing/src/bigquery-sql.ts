/**
 * BigQuery standard SQL → DuckDB SQL, for the BigQuery stand-in: the parts a flow commonly needs (backticked
 * `project.dataset.table` names, `@name` parameters, STRUCT and ARRAY, SAFE_CAST, TIMESTAMP_TRUNC, DATE_SUB,
 * CURRENT_TIMESTAMP() …). What it does not translate reaches DuckDB as written, and fails there.
 */

/** A BigQuery schema field, as the REST API writes it. */
export interface BigQueryField {
  name: string;
  type: string;
  mode?: string | undefined;
  fields?: BigQueryField[] | undefined;
  description?: string | undefined;
}

/** A query parameter's type, as the REST API writes it. */
export interface BigQueryParameterType {
  type: string;
  arrayType?: BigQueryParameterType;
  structTypes?: { name?: string; type: BigQueryParameterType }[];
}

/** A query parameter's value, as the REST API writes it. */
export interface BigQueryParameterValue {
  value?: string | null;
  arrayValues?: BigQueryParameterValue[];
  structValues?: Record<string, BigQueryParameterValue>;
}

/** A query parameter, as the REST API writes it. */
export interface BigQueryParameter {
  name?: string;
  parameterType: BigQueryParameterType;
  parameterValue: BigQueryParameterValue;
}

/** A query the stand-in cannot run: BigQuery's `invalidQuery`, with where it is when known. */
export class StandInQueryError extends Error {
  constructor(
    message: string,
    readonly reason: string = "invalidQuery",
  ) {
    super(message);
  }
}

const SCALAR_TYPES: Record<string, string> = {
  INT64: "BIGINT",
  INTEGER: "BIGINT",
  FLOAT64: "DOUBLE",
  FLOAT: "DOUBLE",
  NUMERIC: "DECIMAL(38,9)",
  DECIMAL: "DECIMAL(38,9)",
  BIGNUMERIC: "DECIMAL(38,9)",
  BIGDECIMAL: "DECIMAL(38,9)",
  BOOL: "BOOLEAN",
  BOOLEAN: "BOOLEAN",
  STRING: "VARCHAR",
  BYTES: "BLOB",
  DATE: "DATE",
  DATETIME: "TIMESTAMP",
  TIME: "TIME",
  TIMESTAMP: "TIMESTAMPTZ",
  JSON: "JSON",
};

/** The DuckDB type of a BigQuery field (mode REPEATED → a list). */
export function duckType(field: BigQueryField): string {
  const type = field.type.toUpperCase();
  let base: string;
  if (type === "RECORD" || type === "STRUCT") {
    const inner = (field.fields ?? []).map((f) => `${quoteIdent(f.name)} ${duckType(f)}`);
    if (inner.length === 0)
      throw new StandInQueryError(`Field ${field.name} is a RECORD without fields`, "invalid");
    base = `STRUCT(${inner.join(", ")})`;
  } else {
    const scalar = SCALAR_TYPES[type];
    if (!scalar)
      throw new StandInQueryError(`Field ${field.name} has an unknown type ${field.type}`, "invalid");
    base = scalar;
  }
  return field.mode?.toUpperCase() === "REPEATED" ? `${base}[]` : base;
}

/** A DuckDB identifier. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** A DuckDB string literal. */
export function quoteString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** The DuckDB name of a BigQuery table: schema `project.dataset`, table `table`. */
export function duckTable(project: string, dataset: string, table: string): string {
  return `${quoteIdent(`${project}.${dataset}`)}.${quoteIdent(table)}`;
}

function paramTypeToDuck(type: BigQueryParameterType): string {
  const t = type.type.toUpperCase();
  if (t === "ARRAY") return `${paramTypeToDuck(type.arrayType ?? { type: "STRING" })}[]`;
  if (t === "STRUCT") {
    return `STRUCT(${(type.structTypes ?? []).map((s, i) => `${quoteIdent(s.name ?? `_field_${i + 1}`)} ${paramTypeToDuck(s.type)}`).join(", ")})`;
  }
  const scalar = SCALAR_TYPES[t];
  if (!scalar) throw new StandInQueryError(`Unsupported query parameter type ${type.type}`);
  return scalar;
}

/** A DuckDB literal for a query parameter. */
export function parameterLiteral(
  type: BigQueryParameterType,
  value: BigQueryParameterValue | undefined,
): string {
  const t = type.type.toUpperCase();
  const duck = paramTypeToDuck(type);
  if (t === "ARRAY") {
    const items = value?.arrayValues;
    if (!items) return `CAST(NULL AS ${duck})`;
    const element = type.arrayType ?? { type: "STRING" };
    return `CAST([${items.map((v) => parameterLiteral(element, v)).join(", ")}] AS ${duck})`;
  }
  if (t === "STRUCT") {
    const values = value?.structValues;
    if (!values) return `CAST(NULL AS ${duck})`;
    const parts = (type.structTypes ?? []).map(
      (s, i) =>
        `${quoteIdent(s.name ?? `_field_${i + 1}`)} := ${parameterLiteral(s.type, values[s.name ?? ""])}`,
    );
    return `struct_pack(${parts.join(", ")})`;
  }
  const raw = value?.value;
  if (raw === undefined || raw === null) return `CAST(NULL AS ${duck})`;
  return scalarLiteral(t, String(raw));
}

/** A DuckDB literal for a scalar BigQuery value written as text (as query parameters and the API write them). */
export function scalarLiteral(type: string, raw: string): string {
  const t = type.toUpperCase();
  switch (t) {
    case "BOOL":
    case "BOOLEAN":
      if (!/^(true|false)$/i.test(raw)) throw new StandInQueryError(`Invalid BOOL value: ${raw}`);
      return raw.toUpperCase();
    case "BYTES":
      return `from_base64(${quoteString(raw)})`;
    case "TIMESTAMP":
      // Seconds since the epoch (as insertAll accepts) or a date-time text.
      return /^-?\d+(\.\d+)?$/.test(raw)
        ? `make_timestamptz(CAST(${Math.round(Number(raw) * 1e6)} AS BIGINT))`
        : `CAST(${quoteString(raw.replace(/ UTC$/, "Z"))} AS TIMESTAMPTZ)`;
    default: {
      const duck = SCALAR_TYPES[t];
      if (!duck) throw new StandInQueryError(`Unsupported type ${type}`);
      return `CAST(${quoteString(raw)} AS ${duck})`;
    }
  }
}

interface Context {
  project: string;
  params: Map<string, string>;
  tables: Set<string>;
  /** A CREATE statement: type names stand in column definitions. */
  ddl: boolean;
}

const TABLE_KEYWORDS = new Set(["FROM", "JOIN", "INTO", "UPDATE", "TABLE"]);
const INTERVAL_FUNCTIONS = new Set([
  "DATE_SUB",
  "DATE_ADD",
  "TIMESTAMP_SUB",
  "TIMESTAMP_ADD",
  "DATETIME_SUB",
  "DATETIME_ADD",
]);
const TRUNC_FUNCTIONS = new Set(["TIMESTAMP_TRUNC", "DATE_TRUNC", "DATETIME_TRUNC"]);
const NO_ARG_FUNCTIONS: Record<string, string> = {
  CURRENT_TIMESTAMP: "current_timestamp",
  CURRENT_DATE: "current_date",
  CURRENT_DATETIME: "CAST(current_timestamp AS TIMESTAMP)",
  CURRENT_TIME: "CAST(current_timestamp AS TIME)",
};
/** Type names written where DuckDB wants its own (in CAST, SAFE_CAST, table definitions). */
const TYPE_WORDS: Record<string, string> = {
  INT64: "BIGINT",
  FLOAT64: "DOUBLE",
  BYTES: "BLOB",
  NUMERIC: "DECIMAL(38,9)",
  BIGNUMERIC: "DECIMAL(38,9)",
  BIGDECIMAL: "DECIMAL(38,9)",
  DATETIME: "TIMESTAMP",
};

/** The index of the `)` closing the `(` at `open`, skipping strings. */
function closingParen(sql: string, open: number): number {
  let depth = 0;
  for (let i = open; i < sql.length; i++) {
    const c = sql[i];
    if (c === "'" || c === '"' || c === "`") {
      i = endOfQuoted(sql, i) - 1;
      continue;
    }
    if (c === "(") depth++;
    else if (c === ")" && --depth === 0) return i;
  }
  throw new StandInQueryError(`Syntax error: Unclosed parenthesis at ${position(sql, open)}`);
}

/** The index after the quoted text starting at `start`. */
function endOfQuoted(sql: string, start: number): number {
  const q = sql[start];
  for (let i = start + 1; i < sql.length; i++) {
    if (sql[i] === "\\" && q !== "`") {
      i++;
      continue;
    }
    if (sql[i] === q) return i + 1;
  }
  throw new StandInQueryError(`Syntax error: Unclosed string literal at ${position(sql, start)}`);
}

/** Splits a function's argument text on its top-level commas. */
function splitArgs(text: string): string[] {
  const args: string[] = [];
  let depth = 0;
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "'" || c === '"' || c === "`") {
      i = endOfQuoted(text, i) - 1;
      continue;
    }
    if (c === "(" || c === "[") depth++;
    else if (c === ")" || c === "]") depth--;
    else if (c === "," && depth === 0) {
      args.push(text.slice(from, i));
      from = i + 1;
    }
  }
  args.push(text.slice(from));
  return args.map((a) => a.trim()).filter((a, _i, all) => a !== "" || all.length > 1);
}

/** `[line:column]` of an offset, as BigQuery writes positions in its messages. */
export function position(sql: string, offset: number): string {
  const before = sql.slice(0, offset).split("\n");
  return `[${before.length}:${(before.at(-1)?.length ?? 0) + 1}]`;
}

function tableRef(parts: string[], ctx: Context, sql: string, at: number): string {
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p === "")) {
    throw new StandInQueryError(
      `Table name "${parts.join(".")}" missing dataset while no default dataset is set in the request at ${position(sql, at)}`,
    );
  }
  const [project, dataset, table] = parts.length === 3 ? parts : [ctx.project, ...parts];
  ctx.tables.add(`${project}.${dataset}.${table}`);
  return duckTable(project as string, dataset as string, table as string);
}

function translate(sql: string, ctx: Context): string {
  let out = "";
  let lastWord = "";
  let i = 0;
  while (i < sql.length) {
    const c = sql[i] as string;
    const rest = sql.slice(i);
    if (c === "-" && sql[i + 1] === "-") {
      const end = sql.indexOf("\n", i);
      i = end === -1 ? sql.length : end;
      continue;
    }
    if (c === "#") {
      const end = sql.indexOf("\n", i);
      i = end === -1 ? sql.length : end;
      continue;
    }
    if (c === "'" || c === '"') {
      const end = endOfQuoted(sql, i);
      const body = sql
        .slice(i + 1, end - 1)
        .replace(/\\(.)/g, (_m, ch: string) => (ch === "n" ? "\n" : ch === "t" ? "\t" : ch));
      out += quoteString(body);
      i = end;
      lastWord = "";
      continue;
    }
    if (c === "`") {
      const end = endOfQuoted(sql, i);
      let name = sql.slice(i + 1, end - 1);
      let j = end;
      // `a`.`b`.`c` and `a.b`.c
      for (;;) {
        const m = /^\.(`([^`]*)`|([A-Za-z_][\w-]*))/.exec(sql.slice(j));
        if (!m) break;
        name += `.${m[2] ?? m[3]}`;
        j += m[0].length;
      }
      const parts = name.split(".");
      out +=
        parts.length > 1 || TABLE_KEYWORDS.has(lastWord) ? tableRef(parts, ctx, sql, i) : quoteIdent(name);
      i = j;
      lastWord = "";
      continue;
    }
    if (c === "@" && sql[i + 1] !== "@") {
      const m = /^@([A-Za-z_]\w*)/.exec(rest);
      if (m) {
        const literal = ctx.params.get((m[1] as string).toLowerCase());
        if (literal === undefined) {
          throw new StandInQueryError(`Query parameter '${m[1]}' not found at ${position(sql, i)}`);
        }
        out += literal;
        i += m[0].length;
        lastWord = "";
        continue;
      }
    }
    const word = /^[A-Za-z_][\w]*/.exec(rest)?.[0];
    if (word) {
      const upper = word.toUpperCase();
      const after = i + word.length;
      const next = /^\s*/.exec(sql.slice(after))?.[0].length ?? 0;
      const isCall = sql[after + next] === "(";
      // dataset.table (or project.dataset.table) right after FROM, JOIN …
      if (TABLE_KEYWORDS.has(lastWord) && sql[after] === ".") {
        const m = /^[A-Za-z_][\w-]*(\.[A-Za-z_][\w-]*){1,2}/.exec(rest);
        if (m) {
          out += tableRef(m[0].split("."), ctx, sql, i);
          i += m[0].length;
          lastWord = "";
          continue;
        }
      }
      if (isCall) {
        const open = after + next;
        const close = closingParen(sql, open);
        const inner = sql.slice(open + 1, close);
        const replaced = callRewrite(upper, inner, ctx, sql, i);
        if (replaced !== undefined) {
          out += replaced;
          i = close + 1;
          lastWord = "";
          continue;
        }
      }
      if ((upper === "ARRAY" || upper === "STRUCT") && sql[after + next] === "<") {
        if (upper === "STRUCT") {
          throw new StandInQueryError(
            `The BigQuery stand-in does not support typed STRUCT<…> literals at ${position(sql, i)}; write STRUCT(value AS name, …)`,
          );
        }
        // ARRAY<T>[…]: DuckDB infers the element type.
        let depth = 0;
        let j = after + next;
        for (; j < sql.length; j++) {
          if (sql[j] === "<") depth++;
          else if (sql[j] === ">" && --depth === 0) break;
        }
        i = j + 1;
        lastWord = "";
        continue;
      }
      // A type name is rewritten where a type stands (CAST(x AS T), T 'literal', a DDL statement), not as an alias.
      const typeWord = TYPE_WORDS[upper] ?? (upper === "TIMESTAMP" ? "TIMESTAMPTZ" : undefined);
      const nextChar = sql[after + next];
      const typePosition = ctx.ddl || nextChar === "'" || (lastWord === "AS" && nextChar === ")");
      out += typeWord && !isCall && typePosition ? typeWord : word;
      lastWord = upper;
      i = after;
      continue;
    }
    if (!/\s/.test(c)) lastWord = c === "," && lastWord === "FROM" ? "FROM" : "";
    out += c;
    i++;
  }
  return out;
}

function callRewrite(name: string, inner: string, ctx: Context, sql: string, at: number): string | undefined {
  const args = () => splitArgs(inner).map((a) => translate(a, ctx));
  if (name in NO_ARG_FUNCTIONS) {
    if (inner.trim() !== "") {
      // CURRENT_TIMESTAMP() takes no argument; CURRENT_DATE(zone) is not translated.
      throw new StandInQueryError(
        `The BigQuery stand-in does not support ${name} with arguments at ${position(sql, at)}`,
      );
    }
    return NO_ARG_FUNCTIONS[name];
  }
  // Translated as a whole CAST(…), so that its type stands before the closing parenthesis.
  if (name === "SAFE_CAST") return `TRY_${translate(`CAST(${inner})`, ctx)}`;
  if (name === "STRUCT") {
    const fields = splitArgs(inner).map((arg, index) => {
      const m = /^([\s\S]*?)\s+AS\s+([A-Za-z_]\w*)\s*$/i.exec(arg);
      const expr = translate(m ? (m[1] as string) : arg, ctx);
      const label = m ? (m[2] as string) : /^[A-Za-z_]\w*$/.test(arg) ? arg : `_field_${index + 1}`;
      return `${quoteIdent(label)} := ${expr}`;
    });
    return `struct_pack(${fields.join(", ")})`;
  }
  if (TRUNC_FUNCTIONS.has(name)) {
    const [value, part] = args();
    if (!value || !part || !/^[A-Za-z]+$/.test(part)) {
      throw new StandInQueryError(`${name} needs (value, PART) at ${position(sql, at)}`);
    }
    const cast = name === "DATE_TRUNC" ? "DATE" : name === "DATETIME_TRUNC" ? "TIMESTAMP" : "TIMESTAMPTZ";
    return `CAST(date_trunc(${quoteString(part.toLowerCase())}, ${value}) AS ${cast})`;
  }
  if (INTERVAL_FUNCTIONS.has(name)) {
    const [value, interval] = args();
    if (!value || !interval || !/^INTERVAL\s/i.test(interval)) {
      throw new StandInQueryError(`${name} needs (value, INTERVAL n PART) at ${position(sql, at)}`);
    }
    const cast = name.startsWith("DATE_")
      ? "DATE"
      : name.startsWith("DATETIME")
        ? "TIMESTAMP"
        : "TIMESTAMPTZ";
    return `CAST((${value}) ${name.endsWith("_SUB") ? "-" : "+"} ${interval} AS ${cast})`;
  }
  return undefined;
}

/** The result of translating a query. */
export interface TranslatedQuery {
  /** DuckDB SQL. */
  sql: string;
  /** The tables it names, `project.dataset.table`. */
  tables: string[];
}

/**
 * Translates a BigQuery standard SQL query into DuckDB SQL, with named parameters written in as literals.
 * @throws StandInQueryError for what it cannot translate (an unknown parameter, an unclosed string …).
 */
export function translateQuery(
  query: string,
  project: string,
  parameters: readonly BigQueryParameter[] = [],
): TranslatedQuery {
  const params = new Map<string, string>();
  for (const p of parameters) {
    if (!p.name) {
      throw new StandInQueryError("The BigQuery stand-in supports named parameters (@name) only");
    }
    params.set(p.name.toLowerCase(), parameterLiteral(p.parameterType, p.parameterValue));
  }
  const ctx: Context = { project, params, tables: new Set(), ddl: /^\s*CREATE\b/i.test(query) };
  const sql = translate(query, ctx);
  return { sql, tables: [...ctx.tables] };
}
