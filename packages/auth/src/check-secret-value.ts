import { checkSecretInput, parseSecretJson } from "./check-secret-input.js";
import { InvalidSecretError, type SecretFieldIssue, ValidationError } from "./errors.js";
import { closestName } from "./name-likeness.js";
import { getSecretDefinition } from "./registry.js";
import { checkSchema } from "./schema.js";
import type { SecretDefinition } from "./secret-definition.js";
import type { SecretSource } from "./source.js";

/** The checks below report issues; where the value came from is added by the caller. */
const NO_SOURCE: SecretSource = { kind: "argument", detail: "value" };

/** The outcome of `checkSecretValue`: the checked value (and any field renamed from an alias), or the issues. */
export type SecretValueCheck =
  | { ok: true; value: unknown; renamed: readonly string[] }
  | { ok: false; issues: SecretFieldIssue[] };

/** Renames alias fields (`accessKeyId` → `ACCESS_KEY`) of an object-shaped value; an alias never hides its field. */
function renameAliases(
  def: SecretDefinition,
  value: Record<string, unknown>,
): { value: Record<string, unknown>; renamed: string[]; issues: SecretFieldIssue[] } {
  const aliases = def.fields?.aliases ?? {};
  const renamed: string[] = [];
  const issues: SecretFieldIssue[] = [];
  const out: Record<string, unknown> = { ...value };
  for (const [alias, field] of Object.entries(aliases)) {
    if (!Object.hasOwn(value, alias)) continue;
    if (Object.hasOwn(value, field)) {
      issues.push({ field: alias, message: `is the same field as ${field}: give one of them` });
      continue;
    }
    out[field] = value[alias];
    delete out[alias];
    renamed.push(`${alias} → ${field}`);
  }
  return { value: out, renamed, issues };
}

/** Names the fields of `value` that the definition does not know, suggesting the field each looks like. */
function unknownFields(def: SecretDefinition, value: Record<string, unknown>): SecretFieldIssue[] {
  const fields = def.fields;
  if (!fields) return [];
  const known = new Set(fields.known);
  const issues: SecretFieldIssue[] = [];
  for (const key of Object.keys(value)) {
    if (known.has(key)) continue;
    const like = closestName(key, fields.known);
    if (like) issues.push({ field: key, message: `is not a field of ${def.name}: did you mean ${like}?` });
    else if (fields.others === "reject") {
      issues.push({
        field: key,
        message: `is not a field of ${def.name} (its fields: ${fields.known.join(", ")})`,
      });
    }
  }
  return issues;
}

/**
 * Checks a raw secret value against the definition of `name` — the one check every source and every writer
 * applies: JSON text parsed for JSON-shaped names, alias fields renamed, unknown fields named (with the field each
 * looks like), then the schema. Unregistered names accept text or an object. Issues never quote the value.
 */
export function checkSecretValue(
  name: string,
  raw: unknown,
  def = getSecretDefinition(name),
): SecretValueCheck {
  if (raw === undefined || raw === null) {
    return { ok: false, issues: [{ field: "", message: `is ${raw}: no value was given` }] };
  }
  let value: unknown = raw;
  // The shared input checks: nesting depth, well-formed text, JSON.
  try {
    if (def?.format === "json" && typeof raw === "string") value = parseSecretJson(name, raw, NO_SOURCE);
    else checkSecretInput(name, raw, NO_SOURCE);
  } catch (error) {
    if (InvalidSecretError.isInstance(error)) return { ok: false, issues: [...error.issues] };
    throw error;
  }
  if (!def) {
    if (typeof value === "string" || (typeof value === "object" && value !== null)) {
      return { ok: true, value, renamed: [] };
    }
    return { ok: false, issues: [{ field: "", message: "must be text or an object" }] };
  }
  if (def.format === "json" && (typeof value !== "object" || value === null || Array.isArray(value))) {
    return { ok: false, issues: [{ field: "", message: "must be a JSON object" }] };
  }
  if (def.format === "string" && typeof value !== "string") {
    return { ok: false, issues: [{ field: "", message: "must be text, not a JSON value" }] };
  }
  let renamed: string[] = [];
  const issues: SecretFieldIssue[] = [];
  if (def.format === "json") {
    const aliased = renameAliases(def, value as Record<string, unknown>);
    value = aliased.value;
    renamed = aliased.renamed;
    issues.push(...aliased.issues, ...unknownFields(def, aliased.value));
  }
  const check = checkSchema(def.schema, value);
  if (!check.ok) {
    const named = new Set(issues.map((i) => i.field));
    issues.push(...check.issues.filter((i) => !named.has(i.field)));
  }
  if (issues.length > 0) return { ok: false, issues };
  return { ok: true, value: check.ok ? check.value : value, renamed };
}

/** Formats issues as the indented lines errors and the CLI print. */
export function formatIssues(issues: readonly SecretFieldIssue[]): string {
  return issues.map((i) => `  - ${i.field || "(value)"}: ${i.message}`).join("\n");
}

/**
 * Throws a `ValidationError` naming `name` unless `raw` is a valid value for it: what `localStore().set`,
 * run values and `withSecrets` apply before accepting a value. Returns the checked value.
 */
export function assertSecretValue(name: string, raw: unknown, option: string): unknown {
  const check = checkSecretValue(name, raw);
  if (!check.ok) {
    throw new ValidationError(option, `the value of ${name} is not valid:\n${formatIssues(check.issues)}`);
  }
  return check.value;
}
