import {
  CredentialRejectedError,
  describeSource,
  MissingCredentialsError,
  mask,
  ServiceError,
  sanitizeCause,
  TributaryError,
} from "@tributary/auth";
import { serviceErrorCode } from "@tributary/integration-kit";
import type { GitHubCredential } from "./github-client.js";
import { rateLimitWait } from "./github-limits.js";

interface RequestErrorLike {
  status?: number;
  message?: string;
  name?: string;
  request?: { method?: string; url?: string };
  response?: {
    status?: number;
    headers?: Record<string, string | undefined>;
    data?: unknown;
  };
}

function describe(credential: GitHubCredential): string {
  if (credential.kind === "app") {
    return `GitHub App ${credential.appId} installation ${credential.installationId} from ${describeSource(credential.source)}`;
  }
  if (credential.kind === "token") return `token from ${describeSource(credential.source)}`;
  return "anonymous call";
}

function githubMessage(error: RequestErrorLike): string {
  const data = error.response?.data as { message?: unknown; errors?: unknown } | string | undefined;
  let text = typeof data === "string" ? data : typeof data?.message === "string" ? data.message : "";
  if (typeof data === "object" && Array.isArray(data?.errors) && data.errors.length > 0) {
    const details = data.errors
      .map((e) =>
        typeof e === "string"
          ? e
          : ((e as { message?: string; code?: string }).message ?? (e as { code?: string }).code),
      )
      .filter(Boolean);
    if (details.length) text += ` (${details.join("; ")})`;
  }
  return mask(text || error.message || `HTTP ${error.status}`);
}

/** The `message` of GitHub's error body alone, masked: the service's own reason. */
function bodyMessage(error: RequestErrorLike): string | undefined {
  const data = error.response?.data as { message?: unknown } | undefined;
  return typeof data?.message === "string" && data.message !== ""
    ? mask(data.message.slice(0, 200))
    : undefined;
}

/** @internal True when a 403/429 is one of GitHub's rate limits. */
export function isRateLimit(error: RequestErrorLike): boolean {
  if (error.status !== 403 && error.status !== 429) return false;
  const headers = error.response?.headers ?? {};
  return (
    headers["x-ratelimit-remaining"] === "0" ||
    headers["retry-after"] !== undefined ||
    /rate limit/i.test(githubMessage(error))
  );
}

function rateLimitMessage(error: RequestErrorLike, maxWaitMs: number): string {
  const headers = error.response?.headers ?? {};
  const limit = rateLimitWait(error);
  const secondary = limit?.kind === "secondary" || /secondary rate/i.test(githubMessage(error));
  const reset = Number(headers["x-ratelimit-reset"]);
  const wait =
    headers["retry-after"] !== undefined
      ? `GitHub asked to wait ${headers["retry-after"]}s`
      : secondary
        ? `GitHub asked to wait ${limit?.seconds ?? 60}s`
        : Number.isFinite(reset) && reset > 0
          ? `it resets at ${new Date(reset * 1000).toISOString()}`
          : "GitHub gave no reset time";
  return `${secondary ? "secondary" : "primary"} rate limit exceeded (${githubMessage(error)}); ${wait}, longer than maxRateLimitWaitMs (${maxWaitMs} ms) allows. Raise maxRateLimitWaitMs or retry later.`;
}

const HOW_TO_AUTHENTICATE =
  "Give a credential: pass `token` (or `app`), set the secret GITHUB_ACCESS_TOKEN (`tributary secrets set GITHUB_ACCESS_TOKEN`, or env TRIBUTARY__CONTEXT__SECRETS__GITHUB_ACCESS_TOKEN) or GITHUB_APP_CREDENTIALS, or export GITHUB_TOKEN.";

/** What a GitHub call was doing, for error messages: `"repository acme/app"`. */
export interface CallDescription {
  /** The thing the call was about, such as `repository acme/app` or `file README.md in acme/app`. */
  what: string;
  /** The credential used. */
  credential: GitHubCredential;
  /** The rate-limit budget the call had. */
  maxRateLimitWaitMs: number;
}

/**
 * @internal Maps an Octokit error onto Tributary's: 401 → `CredentialRejectedError` naming the credential's
 * source (or `MissingCredentialsError` for an anonymous call), 404 → `ServiceError` `NOT_FOUND` saying the
 * credential may not see it, rate limits → `THROTTLED` (retryable), 5xx and network errors → retryable.
 */
export function toGitHubError(error: unknown, call: CallDescription): unknown {
  if (TributaryError.isInstance(error)) return error;
  const e = error as RequestErrorLike;
  if (e?.name === "AbortError" || typeof e?.status !== "number") return error;
  const { credential, what } = call;
  const status = e.status;
  const message = githubMessage(e);
  const url = e.request?.url ?? "";
  const minting = /\/app\/installations\/[^/]+\/access_tokens$/.test(url);
  // GitHub's own word for it: the `message` of its error body ("Bad credentials", "Not Found").
  const reason = bodyMessage(e) ?? `HTTP ${status}`;
  const options = { cause: sanitizeCause(error), reason };

  if (credential.kind === "anonymous" && (status === 401 || (status === 403 && !isRateLimit(e)))) {
    return new MissingCredentialsError(credential.missing.secretName, credential.missing.tried, {
      hint: `GitHub answered ${status} (${message}) to an anonymous call for ${what}: it needs a credential. ${HOW_TO_AUTHENTICATE}`,
      cause: sanitizeCause(error),
    });
  }
  if (credential.kind === "app" && minting && (status === 401 || status === 404 || status === 403)) {
    const detail =
      status === 404
        ? `installation ${credential.installationId} of App ${credential.appId} was not found (${message})`
        : `the App's signed JWT was refused when minting an installation token (${message}); check APP_ID and PRIVATE_KEY`;
    return new CredentialRejectedError("GitHub", credential.source, detail, options);
  }
  if (status === 401 && credential.kind !== "anonymous") {
    return new CredentialRejectedError("GitHub", credential.source, message, options);
  }
  if (isRateLimit(e)) {
    return new ServiceError("THROTTLED", "GitHub", rateLimitMessage(e, call.maxRateLimitWaitMs), status, {
      ...options,
      retryable: true,
    });
  }
  if (status === 403) {
    return new ServiceError(
      "ACCESS_DENIED",
      "GitHub",
      `${message}: the ${describe(credential)} may not do this on ${what}`,
      403,
      options,
    );
  }
  if (status === 404) {
    const text =
      credential.kind === "anonymous"
        ? `${what} not found, or it is private and this call was anonymous (no GitHub credential was found). ${HOW_TO_AUTHENTICATE}`
        : `${what} not found or the ${describe(credential)} cannot see it`;
    return new ServiceError("NOT_FOUND", "GitHub", text, 404, options);
  }
  if (status === 409) return new ServiceError("CONFLICT", "GitHub", `${what}: ${message}`, 409, options);
  if (status === 422) return new ServiceError("BAD_REQUEST", "GitHub", `${what}: ${message}`, 422, options);
  if (status >= 500 || e.response === undefined) {
    return new ServiceError(
      e.response === undefined ? "NETWORK_ERROR" : "SERVICE_UNAVAILABLE",
      "GitHub",
      `${what}: ${message}`,
      e.response === undefined ? undefined : status,
      { ...options, retryable: true },
    );
  }
  return new ServiceError(serviceErrorCode(status), "GitHub", `${what}: ${message}`, status, options);
}
