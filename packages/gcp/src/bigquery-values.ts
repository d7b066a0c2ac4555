import { ValidationError } from "@tributary/auth";

/** A field of a BigQuery schema, as the API writes it. */
export interface BigQueryField {
  /** The column's name. */
  name: string;
  /** `STRING`, `INT64` (or `INTEGER`), `FLOAT64` (`FLOAT`), `NUMERIC`, `BIGNUMERIC`, `BOOL` (`BOOLEAN`), `BYTES`, `DATE`, `TIME`, `DATETIME`, `TIMESTAMP`, `JSON`, `GEOGRAPHY`, `RECORD` (`STRUCT`) … */
  type: string;
  /** `NULLABLE` (the default), `REQUIRED` or `REPEATED`. */
  mode?: "NULLABLE" | "REQUIRED" | "REPEATED" | undefined;
  /** The fields of a `RECORD`. */
  fields?: BigQueryField[] | undefined;
  /** A description of the column. */
  description?: string | undefined;
}

/**
 * The type of a query parameter, for `null` values and to override what is inferred: a type name (`"STRING"`,
 * `"NUMERIC"` …), `[elementType]` for an array, or `{ field: type }` for a STRUCT.
 */
export type BigQueryParamType = string | [BigQueryParamType] | { [field: string]: BigQueryParamType };

interface ParameterType {
  type: string;
  arrayType?: ParameterType;
  structTypes?: { name: string; type: ParameterType }[];
}

interface ParameterValue {
  value?: string | null;
  arrayValues?: ParameterValue[];
  structValues?: Record<string, ParameterValue>;
}

/** A query parameter, as the API wants it. */
export interface QueryParameter {
  name: string;
  parameterType: ParameterType;
  parameterValue: ParameterValue;
}

const SCALARS = new Set([
  "STRING",
  "INT64",
  "FLOAT64",
  "NUMERIC",
  "BIGNUMERIC",
  "BOOL",
  "BYTES",
  "DATE",
  "TIME",
  "DATETIME",
  "TIMESTAMP",
  "JSON",
  "GEOGRAPHY",
  "INTERVAL",
]);
const ALIASES: Record<string, string> = {
  INTEGER: "INT64",
  FLOAT: "FLOAT64",
  BOOLEAN: "BOOL",
  DECIMAL: "NUMERIC",
  BIGDECIMAL: "BIGNUMERIC",
};

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (value === null || typeof value !== "object") return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function typeFromDeclared(declared: BigQueryParamType, where: string): ParameterType {
  if (typeof declared === "string") {
    const upper = declared.toUpperCase();
    const type = ALIASES[upper] ?? upper;
    if (!SCALARS.has(type)) {
      throw new ValidationError(
        where,
        `\`${declared}\` is not a BigQuery type (STRING, INT64, FLOAT64, NUMERIC, BOOL, BYTES, DATE, TIME, DATETIME, TIMESTAMP …)`,
      );
    }
    return { type };
  }
  if (Array.isArray(declared)) {
    if (declared.length !== 1) throw new ValidationError(where, "an array type is written `[elementType]`");
    return { type: "ARRAY", arrayType: typeFromDeclared(declared[0], `${where}[]`) };
  }
  if (isPlainObject(declared)) {
    return {
      type: "STRUCT",
      structTypes: Object.entries(declared).map(([name, t]) => ({
        name,
        type: typeFromDeclared(t, `${where}.${name}`),
      })),
    };
  }
  throw new ValidationError(where, "must be a type name, `[type]` or `{ field: type }`");
}

function inferType(value: unknown, where: string): ParameterType {
  switch (typeof value) {
    case "string":
      return { type: "STRING" };
    case "bigint":
      return { type: "INT64" };
    case "boolean":
      return { type: "BOOL" };
    case "number":
      return { type: Number.isInteger(value) ? "INT64" : "FLOAT64" };
  }
  if (value === null || value === undefined) {
    throw new ValidationError(
      where,
      `is ${value === null ? "null" : "undefined"}: BigQuery needs a type for it; give one in \`types\`, such as \`types: { ${where.replace(/^params\./, "")}: "STRING" }\``,
    );
  }
  if (value instanceof Date) return { type: "TIMESTAMP" };
  if (value instanceof Uint8Array) return { type: "BYTES" };
  if (Array.isArray(value)) {
    const first = value.find((v) => v !== null && v !== undefined);
    if (first === undefined) {
      throw new ValidationError(
        where,
        'is an empty array (or only nulls): give its element type in `types`, such as `["STRING"]`',
      );
    }
    return { type: "ARRAY", arrayType: inferType(first, `${where}[0]`) };
  }
  if (isPlainObject(value)) {
    return {
      type: "STRUCT",
      structTypes: Object.entries(value).map(([name, v]) => ({
        name,
        type: inferType(v, `${where}.${name}`),
      })),
    };
  }
  throw new ValidationError(
    where,
    `a ${(value as object).constructor?.name ?? typeof value} cannot be a query parameter`,
  );
}

function encodeValue(value: unknown, type: ParameterType, where: string): ParameterValue {
  if (value === null || value === undefined)
    return type.type === "ARRAY" || type.type === "STRUCT" ? {} : { value: null };
  if (type.type === "ARRAY") {
    if (!Array.isArray(value)) throw new ValidationError(where, "must be an array (its type says ARRAY)");
    return {
      arrayValues: value.map((v, i) => encodeValue(v, type.arrayType as ParameterType, `${where}[${i}]`)),
    };
  }
  if (type.type === "STRUCT") {
    if (!isPlainObject(value))
      throw new ValidationError(where, "must be a plain object (its type says STRUCT)");
    return {
      structValues: Object.fromEntries(
        (type.structTypes ?? []).map((f) => [
          f.name,
          encodeValue(value[f.name], f.type, `${where}.${f.name}`),
        ]),
      ),
    };
  }
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new ValidationError(where, "is an invalid Date");
    const iso = value.toISOString();
    return {
      value: type.type === "DATE" ? iso.slice(0, 10) : type.type === "DATETIME" ? iso.slice(0, -1) : iso,
    };
  }
  if (value instanceof Uint8Array) return { value: Buffer.from(value).toString("base64") };
  if (typeof value === "number") {
    if (type.type === "INT64" && !Number.isSafeInteger(value)) {
      throw new ValidationError(where, "is not a safe integer: give a bigint for INT64 values beyond 2^53");
    }
    return {
      value: Number.isNaN(value)
        ? "NaN"
        : value === Infinity
          ? "Infinity"
          : value === -Infinity
            ? "-Infinity"
            : String(value),
    };
  }
  if (typeof value === "string" || typeof value === "bigint" || typeof value === "boolean")
    return { value: String(value) };
  if (type.type === "JSON") return { value: JSON.stringify(value) };
  throw new ValidationError(where, `a ${typeof value} does not fit the type ${type.type}`);
}

/**
 * Named query parameters from JS values, typed as the official client types them: a string is STRING, an integer
 * `number` INT64 and any other FLOAT64, a `bigint` INT64, a boolean BOOL, a `Date` TIMESTAMP, bytes BYTES, an array
 * ARRAY, a plain object STRUCT. `types` gives the type of a `null` (which has none) or overrides the inferred one.
 */
export function queryParameters(
  params: Record<string, unknown> | undefined,
  types: Record<string, BigQueryParamType> | undefined,
): QueryParameter[] {
  if (params === undefined) {
    if (types !== undefined)
      throw new ValidationError("types", "gives types for `params`, but there are none");
    return [];
  }
  if (!isPlainObject(params))
    throw new ValidationError("params", "must be an object of named parameters, `{ day: new Date() }`");
  if (types !== undefined && !isPlainObject(types))
    throw new ValidationError("types", 'must be an object, `{ name: "STRING" }`');
  for (const name of Object.keys(types ?? {})) {
    if (!(name in params)) throw new ValidationError(`types.${name}`, "names no parameter in `params`");
  }
  return Object.entries(params).map(([name, value]) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,127}$/.test(name)) {
      throw new ValidationError(
        `params.${name}`,
        "a parameter name holds letters, digits and underscores, and does not start with a digit",
      );
    }
    const declared = types?.[name];
    const type =
      declared !== undefined
        ? typeFromDeclared(declared, `types.${name}`)
        : inferType(value, `params.${name}`);
    return { name, parameterType: type, parameterValue: encodeValue(value, type, `params.${name}`) };
  });
}

/** How INT64 values come back: `bigint` (exact, the default) or `number` (exact up to 2^53). */
export type Int64As = "bigint" | "number";

type Decoder = (v: unknown) => unknown;

function scalarDecoder(type: string, int64: Int64As): Decoder {
  switch (ALIASES[type] ?? type) {
    case "INT64":
      return int64 === "number" ? (v) => Number(v) : (v) => BigInt(v as string);
    case "FLOAT64":
      return (v) => Number(v);
    case "BOOL":
      return (v) => v === "true";
    case "BYTES":
      return (v) => Buffer.from(v as string, "base64");
    case "TIMESTAMP":
      // Microseconds since the epoch (what `useInt64Timestamp` asks for), or seconds as a float.
      return (v) => {
        const s = v as string;
        return new Date(/^-?\d+$/.test(s) ? Number(BigInt(s) / 1000n) : Number(s) * 1000);
      };
    // STRING, NUMERIC and BIGNUMERIC (exact as text), DATE, TIME, DATETIME, JSON, GEOGRAPHY: as BigQuery wrote them.
    default:
      return (v) => v;
  }
}

function fieldDecoder(field: BigQueryField, int64: Int64As): Decoder {
  const type = field.type.toUpperCase();
  let one: Decoder;
  if (type === "RECORD" || type === "STRUCT") {
    const inner = recordDecoder(field.fields ?? [], int64);
    one = (v) => inner(v as { f: { v: unknown }[] });
  } else {
    one = scalarDecoder(type, int64);
  }
  const single: Decoder = (v) => (v === null || v === undefined ? null : one(v));
  if (field.mode === "REPEATED") {
    return (v) =>
      v === null || v === undefined ? [] : (v as { v: unknown }[]).map((item) => single(item.v));
  }
  return single;
}

/**
 * A function turning one row of the API (`{ f: [{ v }] }`) into an object, by the schema: INT64 → `bigint` (or
 * `number`), FLOAT64 → number, NUMERIC/BIGNUMERIC → string, BOOL → boolean, TIMESTAMP → `Date`, DATE/TIME/DATETIME →
 * string, BYTES → `Buffer`, RECORD → object, REPEATED → array, NULL → `null`.
 */
export function recordDecoder(
  fields: readonly BigQueryField[],
  int64: Int64As = "bigint",
): (row: { f: { v: unknown }[] }) => Record<string, unknown> {
  const names = fields.map((f) => f.name);
  const decoders = fields.map((f) => fieldDecoder(f, int64));
  const n = fields.length;
  return (row) => {
    const cells = row.f;
    const out: Record<string, unknown> = {};
    for (let i = 0; i < n; i++) out[names[i] as string] = (decoders[i] as Decoder)(cells[i]?.v);
    return out;
  };
}
