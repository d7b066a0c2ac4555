import { processSingleton } from "./process-singleton.js";

/** Strings shorter than this are not masked inside text: masking `"a"` everywhere would garble every log. */
export const MIN_MASKED_LENGTH = 4;

/** What a masked value is replaced with. */
export const REDACTED = "[redacted]";

interface MaskerState {
  values: Set<string>;
  pattern: RegExp | undefined;
}
const state = processSingleton<MaskerState>("auth.masker", () => ({ values: new Set(), pattern: undefined }));

/** Object keys whose values are masked whatever they hold. */
const SENSITIVE_KEY =
  /pass(word|wd)?|secret|token|private_?key|api_?key|access_?key|credential|authorization|cookie|webhook_?url|signature/i;

function variants(value: string): string[] {
  const out = [value];
  const json = JSON.stringify(value).slice(1, -1);
  if (json !== value) out.push(json);
  const url = encodeURIComponent(value);
  if (url !== value) out.push(url);
  return out;
}

/**
 * Registers a secret value with the process masker: from now on `mask()` replaces it (and its JSON-escaped and
 * URL-encoded forms) with `[redacted]`. Objects register each string field of 4 characters or more.
 */
export function registerSecretValue(value: unknown): void {
  const before = state.values.size;
  collect(value, (s) => {
    for (const v of variants(s)) if (v.length >= MIN_MASKED_LENGTH) state.values.add(v);
  });
  if (state.values.size !== before) state.pattern = undefined;
}

function collect(value: unknown, add: (s: string) => void, depth = 0): void {
  if (typeof value === "string") add(value);
  else if (value && typeof value === "object" && depth < 8) {
    for (const v of Object.values(value)) collect(v, add, depth + 1);
  }
}

function pattern(): RegExp | undefined {
  if (state.pattern || state.values.size === 0) return state.pattern;
  const sorted = [...state.values].sort((a, b) => b.length - a.length);
  state.pattern = new RegExp(sorted.map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|"), "g");
  return state.pattern;
}

/** Replaces every registered secret value in `text` with `[redacted]`. */
export function mask(text: string): string {
  const re = pattern();
  return re ? text.replace(re, REDACTED) : text;
}

/** True when `key` names a field that holds a secret (`password`, `token`, `private_key`, `webhook_url` …). */
export function isSensitiveKey(key: string): boolean {
  return SENSITIVE_KEY.test(key);
}

/**
 * Returns a copy of `value` safe to log: registered secrets masked in every string, and fields with sensitive
 * names replaced whole. Errors become `{ name, code, message }` with their messages masked.
 */
export function maskValue(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (typeof value === "string") return mask(value);
  if (value === null || typeof value !== "object") return value;
  if (seen.has(value) || depth > 8) return "[circular]";
  seen.add(value);
  if (value instanceof Error) {
    const e = value as Error & { code?: unknown };
    return { name: e.name, ...(e.code !== undefined ? { code: e.code } : {}), message: mask(e.message) };
  }
  if (typeof (value as { toJSON?: unknown }).toJSON === "function") {
    return maskValue((value as { toJSON: () => unknown }).toJSON(), depth + 1, seen);
  }
  if (Array.isArray(value)) return value.map((v) => maskValue(v, depth + 1, seen));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = isSensitiveKey(k) && v != null && v !== "" ? REDACTED : maskValue(v, depth + 1, seen);
  }
  return out;
}

/** Forgets every registered value (for tests). */
export function resetMasker(): void {
  state.values.clear();
  state.pattern = undefined;
}
