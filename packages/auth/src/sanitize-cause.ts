import { mask } from "./masked-values.js";

const MARK = Symbol.for("tributary.sanitized-cause");
/** The marker `TributaryError` sets; read here so this file does not import the error classes. */
const ERROR_MARK = Symbol.for("tributary.error");
const MAX_DEPTH = 4;
const MAX_TEXT = 2000;

/** What a sanitized cause keeps of an SDK or network error. */
export interface SanitizedCauseFields {
  /** The HTTP status the service answered with. */
  status?: number;
  /** The service's or system's error code (`NoSuchBucket`, `invalid_auth`, `ECONNRESET`). */
  code?: string;
  /** The service's finer reason, when it gives one (`PERMISSION_DENIED`, `forbidden`, `invalid_grant`). */
  reason?: string;
  /** The service's request id, to quote to its support. */
  requestId?: string;
}

/**
 * A plain error that stands for an SDK or network error as the `cause` of a Tributary error: its name, its
 * message after masking, the HTTP status, service code, reason and request id — and nothing of the request
 * (no headers, config, body or URL query) nor of the raw response.
 */
export class SanitizedCause extends Error implements SanitizedCauseFields {
  /** The HTTP status the service answered with. */
  declare status?: number;
  /** The service's or system's error code (`NoSuchBucket`, `invalid_auth`, `ECONNRESET`). */
  declare code?: string;
  /** The service's finer reason, when it gives one. */
  declare reason?: string;
  /** The service's request id, to quote to its support. */
  declare requestId?: string;

  constructor(
    name: string,
    message: string,
    fields: SanitizedCauseFields = {},
    cause?: SanitizedCause,
    frames: readonly string[] = [],
  ) {
    super(message, cause === undefined ? undefined : { cause });
    Object.defineProperty(this, "name", { value: name, enumerable: false, configurable: true });
    // The original error's call frames (where it was thrown), never its own first line, which repeats the message.
    if (frames.length > 0) this.stack = [`${name}: ${message}`, ...frames].join("\n");
    Object.defineProperty(this, MARK, { value: true, enumerable: false });
    for (const [key, value] of Object.entries(fields)) {
      if (value !== undefined)
        (this as SanitizedCauseFields)[key as keyof SanitizedCauseFields] = value as never;
    }
  }

  /** True for a `SanitizedCause`, even from another copy of the package. */
  static isInstance(value: unknown): value is SanitizedCause {
    return Boolean(value && (value as { [MARK]?: unknown })[MARK] === true);
  }
}

function text(value: unknown): string | undefined {
  if (typeof value === "string" && value !== "") return mask(value.slice(0, MAX_TEXT));
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  return undefined;
}

function read(object: unknown, ...path: string[]): unknown {
  let at = object;
  for (const key of path) {
    if (at === null || (typeof at !== "object" && typeof at !== "function")) return undefined;
    try {
      at = (at as Record<string, unknown>)[key];
    } catch {
      return undefined;
    }
  }
  return at;
}

function headerOf(headers: unknown, name: string): unknown {
  if (!headers || typeof headers !== "object") return undefined;
  try {
    if (typeof (headers as Headers).get === "function") return (headers as Headers).get(name) ?? undefined;
  } catch {
    return undefined;
  }
  return (headers as Record<string, unknown>)[name];
}

function statusOf(error: unknown): number | undefined {
  for (const candidate of [
    read(error, "$metadata", "httpStatusCode"),
    read(error, "status"),
    read(error, "statusCode"),
    read(error, "response", "status"),
    read(error, "response", "statusCode"),
  ]) {
    if (typeof candidate === "number" && candidate > 0) return candidate;
  }
  return undefined;
}

function firstText(...values: unknown[]): string | undefined {
  for (const value of values) {
    const t = text(value);
    if (t !== undefined) return t;
  }
  return undefined;
}

/**
 * Turns whatever an SDK threw into a `SanitizedCause` to keep as the `cause` of a Tributary error. It keeps the
 * name, the masked message, the HTTP status, the service's code and reason and the request id (AWS `$metadata`,
 * gaxios and Google JSON errors, Slack `data.error`, Octokit `status` and `x-github-request-id`), and the same of
 * the error's own cause chain (so `networkErrorCode` still finds `ECONNRESET`); nothing else survives. Tributary
 * errors and causes already sanitized are returned as they are; `undefined` stays `undefined`. It never throws.
 * @example
 * throw new ServiceError("NOT_FOUND", "S3", "no such key", 404, { cause: sanitizeCause(sdkError) });
 */
export function sanitizeCause(error: unknown, depth = 0): SanitizedCause | Error | undefined {
  if (error === undefined || error === null) return undefined;
  if (SanitizedCause.isInstance(error)) return error;
  try {
    if (Array.isArray((error as { [ERROR_MARK]?: unknown })[ERROR_MARK])) return error as Error;
    const isObject = typeof error === "object" || typeof error === "function";
    const name = (isObject && text(read(error, "name"))) || (isObject ? "Error" : "NonErrorThrown");
    const message = isObject ? (text(read(error, "message")) ?? "") : (text(String(error)) ?? "");
    const data = read(error, "response", "data") ?? read(error, "data");
    const code = firstText(
      read(error, "code"),
      read(data, "error", "status"),
      typeof read(data, "error") === "string" ? read(data, "error") : undefined,
      read(error, "Code"),
      read(error, "$metadata") === undefined ? undefined : read(error, "name"),
    );
    const reason = firstText(
      read(data, "error", "errors", "0", "reason"),
      read(error, "errors", "0", "reason"),
      read(data, "error_description"),
      read(data, "error"),
      read(data, "message"),
    );
    const headers = read(error, "response", "headers") ?? read(error, "headers");
    const requestId = firstText(
      read(error, "$metadata", "requestId"),
      headerOf(headers, "x-github-request-id"),
      headerOf(headers, "x-amzn-requestid"),
      headerOf(headers, "x-amz-request-id"),
      headerOf(headers, "x-guploader-uploadid"),
      headerOf(headers, "x-slack-req-id"),
      read(error, "requestId"),
    );
    const inner = depth < MAX_DEPTH ? read(error, "cause") : undefined;
    const cause = inner === undefined ? undefined : sanitizeCause(inner, depth + 1);
    const stack = read(error, "stack");
    const frames = typeof stack === "string" ? stack.split("\n").filter((line) => /^\s+at /.test(line)) : [];
    return new SanitizedCause(
      name,
      message,
      { status: statusOf(error), code, reason: reason === code ? undefined : reason, requestId },
      cause as SanitizedCause | undefined,
      frames.slice(0, 20).map((line) => mask(line)),
    );
  } catch {
    return new SanitizedCause("Error", "[redacted]");
  }
}
