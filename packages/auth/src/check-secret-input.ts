import { InvalidSecretError, type SecretFieldIssue } from "./errors.js";
import type { SecretSource } from "./source.js";

/** How deeply a secret's JSON value may nest (objects and arrays). Real credentials nest two or three levels. */
export const MAX_SECRET_DEPTH = 32;

/**
 * The largest secret value accepted, in UTF-8 bytes (64 KiB): a text, each text field of an object secret, and the
 * JSON text of one. The masker refuses larger values too.
 */
export const MAX_SECRET_VALUE_BYTES = 64 * 1024;

/** Why `text` is too large to be a secret value (`MAX_SECRET_VALUE_BYTES`); `undefined` when it is not. */
export function secretSizeProblem(text: string): string | undefined {
  // A UTF-8 byte count is at most 3 per UTF-16 unit: only texts near the limit need counting.
  if (text.length * 3 <= MAX_SECRET_VALUE_BYTES) return undefined;
  const bytes = Buffer.byteLength(text, "utf8");
  if (bytes <= MAX_SECRET_VALUE_BYTES) return undefined;
  return `is ${bytes} bytes long, more than the ${MAX_SECRET_VALUE_BYTES} bytes (64 KiB) a secret value may hold`;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const HEADER_UNSAFE = /[^\x21-\x7e]/;

/** True when `text` holds no lone surrogate: it can be written as UTF-8 and read back unchanged. */
export function isWellFormedText(text: string): boolean {
  return !LONE_SURROGATE.test(text);
}

/**
 * Why `text` cannot be sent as an HTTP header value (a token or a key): `undefined` when it can. Only printable
 * ASCII without spaces is accepted: that is all a real token holds, and the one thing every HTTP client sends as is.
 * The reason names the kind of character and its position, never the character's neighbours.
 */
export function headerValueProblem(text: string): string | undefined {
  const match = HEADER_UNSAFE.exec(text);
  if (!match) return undefined;
  const ch = match[0];
  const code = ch.codePointAt(0) ?? 0;
  const kind =
    ch === "\n" || ch === "\r"
      ? "a line break"
      : ch === " " || ch === "\t"
        ? "a space"
        : code < 0x20 || code === 0x7f
          ? "a control character"
          : "a non-ASCII character";
  return `holds ${kind} at position ${match.index + 1}, which an HTTP header cannot carry`;
}

/** The path of a field for messages: `a.b[2]`. */
function fieldPath(parent: string, key: string | number): string {
  if (typeof key === "number") return `${parent}[${key}]`;
  return parent ? `${parent}.${key}` : key;
}

/**
 * What is wrong with a secret value's shape, whatever its schema: text larger than `MAX_SECRET_VALUE_BYTES`, text
 * that is not well-formed Unicode (a lone surrogate), in a value or a key, and objects nested deeper than
 * `MAX_SECRET_DEPTH`. Walks without recursion, so
 * no value can exhaust the stack. The issues never quote the value.
 */
export function secretInputIssues(value: unknown): SecretFieldIssue[] {
  const issues: SecretFieldIssue[] = [];
  const stack: { value: unknown; field: string; depth: number }[] = [{ value, field: "", depth: 0 }];
  const seen = new Set<object>();
  while (stack.length > 0 && issues.length < 5) {
    const item = stack.pop() as { value: unknown; field: string; depth: number };
    if (typeof item.value === "string") {
      const size = secretSizeProblem(item.value);
      if (size) issues.push({ field: item.field, message: size });
      else if (!isWellFormedText(item.value)) {
        issues.push({
          field: item.field,
          message: "is not well-formed Unicode text (it holds a lone surrogate)",
        });
      }
      continue;
    }
    if (item.value === null || typeof item.value !== "object") continue;
    // Only the shapes a secret has (JSON objects and arrays); a client or a buffer given as a value is not walked.
    const proto = Object.getPrototypeOf(item.value);
    if (!Array.isArray(item.value) && proto !== Object.prototype && proto !== null) continue;
    if (seen.has(item.value)) continue;
    seen.add(item.value);
    if (item.depth >= MAX_SECRET_DEPTH) {
      const field = item.field.length > 60 ? `${item.field.slice(0, 60)}…` : item.field;
      issues.push({ field, message: `nests deeper than ${MAX_SECRET_DEPTH} levels` });
      continue;
    }
    const entries: [string | number, unknown][] = Array.isArray(item.value)
      ? item.value.map((v, i) => [i, v])
      : Object.entries(item.value);
    for (const [key, child] of entries) {
      const field = fieldPath(item.field, key);
      if (typeof key === "string" && !isWellFormedText(key)) {
        issues.push({ field: item.field, message: "has a field name that is not well-formed Unicode text" });
        continue;
      }
      stack.push({ value: child, field, depth: item.depth + 1 });
    }
  }
  return issues;
}

/** Throws `InvalidSecretError` (naming the field and the source) when `secretInputIssues` finds anything. */
export function checkSecretInput(name: string, value: unknown, source: SecretSource): void {
  const issues = secretInputIssues(value);
  if (issues.length > 0) throw new InvalidSecretError(name, source, issues);
}

/** How deeply JSON text nests, counted without parsing it (strings skipped), stopping past `limit`. */
function jsonDepth(text: string, limit: number): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      depth++;
      if (depth > max) max = depth;
      if (max > limit) return max;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
}

/**
 * Parses a JSON-shaped secret given as text, with the same checks at every entry point: the size and depth limits
 * (checked before parsing), valid JSON, then `secretInputIssues`. Throws `InvalidSecretError`; the message never quotes the
 * text.
 */
export function parseSecretJson(name: string, text: string, source: SecretSource): unknown {
  const size = secretSizeProblem(text);
  if (size) throw new InvalidSecretError(name, source, [{ field: "", message: size }]);
  if (jsonDepth(text, MAX_SECRET_DEPTH) > MAX_SECRET_DEPTH) {
    throw new InvalidSecretError(name, source, [
      { field: "", message: `nests deeper than ${MAX_SECRET_DEPTH} levels` },
    ]);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new InvalidSecretError(name, source, [{ field: "", message: "is not valid JSON" }]);
  }
  checkSecretInput(name, value, source);
  return value;
}
