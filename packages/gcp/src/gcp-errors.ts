import {
  CredentialRejectedError,
  describeSource,
  InvalidSecretError,
  mask,
  SanitizedCause,
  type SecretSource,
  ServiceError,
  sanitizeCause,
  TributaryError,
} from "@tributary/auth";
import { networkErrorCode, serviceErrorCode } from "@tributary/integration-kit";
import type { GcpAuth } from "./gcp-auth.js";

/** How a failed Google request looks to us: a gaxios error, or a plain network error. */
interface GoogleFailure {
  status?: number;
  code?: string;
  message?: string;
  response?: { status?: number; data?: unknown; headers?: unknown };
  cause?: unknown;
}

const OAUTH_REJECTIONS = new Set([
  "invalid_grant",
  "invalid_client",
  "unauthorized_client",
  "invalid_scope",
  "access_denied",
]);

function statusOf(error: GoogleFailure): number | undefined {
  const status = error.response?.status ?? error.status;
  return typeof status === "number" && status > 0 ? status : undefined;
}

function header(headers: unknown, name: string): string | undefined {
  if (!headers) return undefined;
  if (typeof (headers as Headers).get === "function") return (headers as Headers).get(name) ?? undefined;
  const value = (headers as Record<string, unknown>)[name];
  return typeof value === "string" ? value : undefined;
}

/** The `{ error, error_description }` of an OAuth token endpoint answer, if this is one. */
function oauthError(error: GoogleFailure): { error: string; description: string } | undefined {
  const data = error.response?.data as { error?: unknown; error_description?: unknown } | undefined;
  if (data && typeof data.error === "string" && /^[a-z_]+$/.test(data.error)) {
    return {
      error: data.error,
      description: typeof data.error_description === "string" ? data.error_description : "",
    };
  }
  const m = /^(invalid_grant|invalid_client|unauthorized_client|invalid_scope)\b:?\s*(.*)$/.exec(
    error.message ?? "",
  );
  return m ? { error: m[1] as string, description: m[2] ?? "" } : undefined;
}

/**
 * Google's JSON error, if the answer held one: `message`, and its reason — `errors[0].reason` of the JSON API
 * (Cloud Storage's `notFound`, `forbidden`, `conditionNotMet`), else the gRPC-style `status` of the newer APIs
 * (Secret Manager's `NOT_FOUND`, `PERMISSION_DENIED`). A streamed answer (a media download) reaches us with its body
 * as the error's message, so that is read too. A body that is not JSON is kept as the message, cut short.
 */
function apiError(error: GoogleFailure): { message: string; reason?: string } | undefined {
  const data = error.response?.data;
  const candidates = [data, /^\s*\{/.test(error.message ?? "") ? error.message : undefined];
  for (let candidate of candidates) {
    if (typeof candidate === "string") {
      try {
        candidate = JSON.parse(candidate);
      } catch {
        continue;
      }
    }
    const inner = (candidate as { error?: unknown } | undefined)?.error as
      | { message?: unknown; status?: unknown; errors?: unknown }
      | undefined;
    if (!inner || typeof inner !== "object" || typeof inner.message !== "string") continue;
    const first = Array.isArray(inner.errors)
      ? (inner.errors[0] as { reason?: unknown } | undefined)
      : undefined;
    const reason = [first?.reason, inner.status].find((r): r is string => typeof r === "string" && r !== "");
    return { message: inner.message, ...(reason ? { reason: mask(reason.slice(0, 100)) } : {}) };
  }
  return typeof data === "string" && data ? { message: data.slice(0, 300) } : undefined;
}

/**
 * The sanitized cause of a Google failure, holding Google's reason even where the body did not reach
 * `sanitizeCause` as JSON (a streamed answer) or spelt it as a gRPC `status`.
 */
function causeOf(error: unknown, reason: string | undefined): Error | undefined {
  const cause = sanitizeCause(error);
  if (reason !== undefined && SanitizedCause.isInstance(cause) && cause.reason === undefined) {
    cause.reason = reason;
  }
  return cause;
}

/** True when the failure is a rejected OAuth grant (a bad key, a revoked refresh token). */
export function isOAuthRejection(error: unknown): boolean {
  const o = oauthError(error as GoogleFailure);
  return o !== undefined && OAUTH_REJECTIONS.has(o.error);
}

/** True when retrying may help: throttled, a server error, or the connection failed. */
export function isRetryable(error: unknown): boolean {
  if (TributaryError.isInstance(error)) return error.retryable;
  if (isOAuthRejection(error)) return false;
  const status = statusOf(error as GoogleFailure);
  if (status !== undefined) return status === 408 || status === 429 || status >= 500;
  return networkErrorCode(error) !== undefined;
}

/** The wait a `Retry-After` header asks for, in ms (capped), if any. */
export function retryAfterMs(error: unknown): number | undefined {
  const value = header((error as GoogleFailure).response?.headers, "retry-after");
  if (value === undefined) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.min(Math.max(seconds, 0) * 1000, 60_000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.min(Math.max(date - Date.now(), 0), 60_000);
}

/** What a request was about, for error messages. */
export interface GoogleCallContext {
  /** `Cloud Storage` or `Secret Manager`. */
  service: string;
  /** Where the credential came from. */
  source: SecretSource;
  /** The resource, such as `gs://bucket/name`. */
  resource: string;
  /** The endpoint, for connection errors. */
  endpoint?: string;
}

/**
 * Maps a failed Google call onto Tributary's errors: a rejected grant or token → `CredentialRejectedError` naming
 * the source; an unreadable key → `InvalidSecretError`; anything else → `ServiceError` with Google's message, the
 * status, and whether a retry may help. Messages are masked.
 */
export function toGcpError(error: unknown, ctx: GoogleCallContext): Error {
  if (TributaryError.isInstance(error)) return error;
  if ((error as { name?: string })?.name === "AbortError") return error as Error;
  const failure = (error ?? {}) as GoogleFailure;
  const oauth = oauthError(failure);
  if (oauth && OAUTH_REJECTIONS.has(oauth.error)) {
    return new CredentialRejectedError(
      "Google OAuth",
      ctx.source,
      mask(`${oauth.error}${oauth.description ? `: ${oauth.description}` : ""}`),
      { cause: sanitizeCause(error), reason: oauth.error },
    );
  }
  const text = String(failure.message ?? "");
  if (
    /DECODER routines|PEM|asn1|bad base64 decode|error:[0-9A-F]{8}/i.test(text) &&
    statusOf(failure) === undefined
  ) {
    return new InvalidSecretError("GCP_CREDENTIALS", ctx.source, [
      { field: "private_key", message: "could not be read as an RSA private key" },
    ]);
  }
  const status = statusOf(failure);
  const api = apiError(failure);
  const detail = mask(api?.message ?? text ?? "request failed");
  if (oauth) {
    return new ServiceError(
      serviceErrorCode(status ?? 400),
      "Google OAuth",
      mask(`${oauth.error}: ${oauth.description}`),
      status,
      {
        cause: sanitizeCause(error),
        retryable: status === undefined || status === 429 || status >= 500,
        reason: oauth.error,
      },
    );
  }
  if (status === undefined) {
    const code = networkErrorCode(error);
    return new ServiceError(
      "NETWORK_ERROR",
      ctx.service,
      `${ctx.resource}: could not reach ${ctx.endpoint ?? "the service"} (${code ?? detail})`,
      undefined,
      { cause: sanitizeCause(error), retryable: code !== undefined, reason: code },
    );
  }
  // Google's own word, as it spells it; only an answer without one (a proxy's page) falls back to the status.
  const reason = api?.reason ?? `HTTP ${status}`;
  const said = api?.reason ? `${api.reason}: ${detail}` : detail;
  if (status === 401) {
    return new CredentialRejectedError(ctx.service, ctx.source, said, {
      cause: causeOf(error, api?.reason),
      reason,
    });
  }
  const table: Record<number, [string, string]> = {
    400: ["BAD_REQUEST", "the request was refused as invalid"],
    403: ["ACCESS_DENIED", `permission denied to the credential from ${describeSource(ctx.source)}`],
    404: ["NOT_FOUND", "not found"],
    409: ["CONFLICT", "conflict"],
    412: ["PRECONDITION_FAILED", "a precondition failed (the object changed)"],
    416: ["RANGE_NOT_SATISFIABLE", "the requested range is outside the object"],
    429: ["THROTTLED", "rate limited; retries were exhausted"],
  };
  const [code, summary] =
    table[status] ??
    (status >= 500
      ? ["SERVICE_UNAVAILABLE", `server error ${status}`]
      : ["REQUEST_FAILED", `HTTP ${status}`]);
  return new ServiceError(code, ctx.service, `${ctx.resource}: ${summary} — ${said}`, status, {
    cause: causeOf(error, api?.reason),
    retryable: status === 408 || status === 429 || status >= 500,
    reason,
  });
}

/** Options of `callGoogle`. */
export interface CallOptions {
  /** Retries after the first attempt for throttling, server errors and dropped connections. Default 3. */
  retries?: number | undefined;
  /** Aborts waiting and requests. */
  signal?: AbortSignal | undefined;
  /** The first backoff delay in ms. Default 250. */
  baseDelayMs?: number | undefined;
  /** Whether a failure may succeed when retried. Default `isRetryable` (throttling, 5xx, dropped connections). */
  isRetryable?: ((error: unknown) => boolean) | undefined;
  /** Maps the failure that is finally thrown. Default `toGcpError`. */
  toError?: ((error: unknown, ctx: GoogleCallContext) => Error) | undefined;
}

/** Waits `ms`, or rejects when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** The backoff before retry `attempt` (1-based): exponential with jitter, or what `Retry-After` asked. */
export function backoffMs(attempt: number, error: unknown, base = 250): number {
  const asked = retryAfterMs(error);
  if (asked !== undefined) return asked;
  const exp = Math.min(base * 2 ** (attempt - 1), 8_000);
  return Math.round(exp / 2 + Math.random() * (exp / 2));
}

/**
 * Marks the client's current token stale after the service answered 401 with it, so the next request fetches a new
 * one. Concurrent failures with the same token share one refresh: google-auth-library dedupes refreshes in flight.
 */
function dropStaleToken(auth: GcpAuth, tokenBefore: string | undefined): void {
  const client = auth.client as {
    credentials?: { access_token?: string | null; expiry_date?: number | null };
  };
  const creds = client.credentials;
  if (!creds?.access_token || creds.access_token !== tokenBefore) return;
  client.credentials = { ...creds, expiry_date: 1 };
}

/**
 * Runs one Google call with Tributary's policy: 429, 408, 5xx and dropped connections are retried with backoff
 * (honouring `Retry-After`); a 401 refreshes the token once and retries; other failures are mapped by `toGcpError`.
 */
export async function callGoogle<T>(
  auth: GcpAuth,
  ctx: GoogleCallContext,
  fn: () => Promise<T>,
  options: CallOptions = {},
): Promise<T> {
  const retries = options.retries ?? 3;
  let attempt = 0;
  let authRetries = 0;
  for (;;) {
    const tokenBefore =
      (auth.client as { credentials?: { access_token?: string | null } }).credentials?.access_token ??
      undefined;
    try {
      return await fn();
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason ?? error;
      const status = statusOf(error as GoogleFailure);
      if (status === 401 && !oauthError(error as GoogleFailure) && authRetries < 2) {
        authRetries++;
        dropStaleToken(auth, tokenBefore);
        continue;
      }
      if (attempt < retries && (options.isRetryable ?? isRetryable)(error)) {
        attempt++;
        await sleep(backoffMs(attempt, error, options.baseDelayMs), options.signal);
        continue;
      }
      throw (options.toError ?? toGcpError)(error, ctx);
    }
  }
}
