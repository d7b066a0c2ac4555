import type { StandardSchemaV1 } from "@standard-schema/spec";
import type { SecretFieldIssue } from "./errors.js";
import { REDACTED } from "./masked-values.js";

export type { StandardSchemaV1 };

function leaves(value: unknown, out: string[] = [], depth = 0): string[] {
  if (typeof value === "string") out.push(value);
  else if (typeof value === "number" || typeof value === "boolean") out.push(String(value));
  else if (value && typeof value === "object" && depth < 8) {
    for (const v of Object.values(value)) leaves(v, out, depth + 1);
  }
  return out;
}

/** Removes every piece of `value` from a schema message: schema libraries often quote what they received. */
function scrub(message: string, parts: string[]): string {
  let out = message;
  for (const p of parts.sort((a, b) => b.length - a.length)) {
    if (p.length > 0 && out.includes(p)) out = out.split(p).join(REDACTED);
  }
  return out;
}

/** Result of checking a value against a secret's schema: the parsed value, or issues free of the value. */
export type SchemaCheck<T> = { ok: true; value: T } | { ok: false; issues: SecretFieldIssue[] };

/** Validates `value` with any Standard Schema (valibot, zod, arktype …). Issues never quote the value. */
export function checkSchema<T>(schema: StandardSchemaV1<unknown, T>, value: unknown): SchemaCheck<T> {
  const result = schema["~standard"].validate(value);
  if (result instanceof Promise) {
    throw new TypeError("Secret schemas must validate synchronously");
  }
  if (!result.issues) return { ok: true, value: result.value };
  const parts = leaves(value);
  const byField = new Map<string, SecretFieldIssue>();
  for (const issue of result.issues) {
    const field = (issue.path ?? [])
      .map((p) => (typeof p === "object" && p !== null && "key" in p ? String(p.key) : String(p)))
      .join(".");
    // The first failure of a field says what to fix; later checks of the same field only repeat it.
    if (!byField.has(field)) byField.set(field, { field, message: scrub(issue.message, parts) });
  }
  return { ok: false, issues: [...byField.values()] };
}
