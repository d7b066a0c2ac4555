import type { BigQuery } from "@google-cloud/bigquery";
import {
  clientCache,
  registerSecretValue,
  ServiceError,
  TributaryError,
  ValidationError,
} from "@tributary/auth";
import { logOncePerRun, taskContext } from "@tributary/flow";
import { pickEndpoint } from "@tributary/integration-kit";
import { type GcpAuth, type GcpAuthOptions, gcpAuth } from "./gcp-auth.js";
import { callGoogle, type GoogleCallContext, isRetryable, toGcpError } from "./gcp-errors.js";

/** BigQuery's public endpoint. */
export const BIGQUERY_DEFAULT_ENDPOINT = "https://bigquery.googleapis.com";

/** The environment variable of the BigQuery emulators, read as the official client reads it: a base URL. */
export const BIGQUERY_ENDPOINT_ENV = "BIGQUERY_EMULATOR_HOST";

/** The options of `bigqueryClient`, also accepted by every BigQuery task. */
export interface BigQueryClientOptions extends GcpAuthOptions {
  /**
   * The base URL of the API, for a stand-in or an emulator: requests go to `<endpoint>/bigquery/v2/projects/…`.
   * Default: `BIGQUERY_EMULATOR_HOST` when set (used as the official client uses it: the base of `/projects/…`), else
   * `https://bigquery.googleapis.com`.
   */
  endpoint?: string | undefined;
  /** Where jobs run (`US`, `EU`, `europe-west1` …). Default: the dataset's location, as BigQuery decides. */
  location?: string | undefined;
  /**
   * Least privilege: a BigQuery credential cannot be downscoped the way a bucket can, so with this set (or the flow's
   * `leastPrivilege`) the task says so once per run, at `info`, and runs with the whole credential.
   */
  leastPrivilege?: boolean | undefined;
  /** Retries for throttling, server errors and dropped connections, per request (and per job BigQuery says to retry). Default 3. */
  retries?: number | undefined;
}

/** A BigQuery client: the official `@google-cloud/bigquery` client, its credential, project and endpoint. */
export interface BigQueryClient {
  /** The `BigQuery` client of `@google-cloud/bigquery`, with Tributary's credential and endpoint. */
  readonly bigquery: BigQuery;
  /** The credential behind it and where it came from. */
  readonly auth: GcpAuth;
  /** The project jobs run in (and tables named `dataset.table` belong to). */
  readonly projectId: string;
  /** The API base URL requests go to (without a trailing slash). */
  readonly endpoint: string;
  /** The location jobs run in, when one was given. */
  readonly location: string | undefined;
}

let bigqueryModule: Promise<typeof import("@google-cloud/bigquery")> | undefined;

/** Checks a location such as `US` or `europe-west1`. */
function checkLocation(location: string | undefined): void {
  if (
    location !== undefined &&
    (typeof location !== "string" || !/^[A-Za-z][A-Za-z0-9-]{1,62}$/.test(location))
  ) {
    throw new ValidationError("location", "must be a BigQuery location such as `US`, `EU` or `europe-west1`");
  }
}

/**
 * Returns a BigQuery client for the resolved credentials (`credentials`, then `GCP_CREDENTIALS`, then Application
 * Default Credentials), cached per credential fingerprint and endpoint. `@google-cloud/bigquery` is loaded on first
 * use, so importing `@tributary/gcp` does not pay for it.
 * @example
 * const { bigquery, projectId } = await bigqueryClient({ endpoint: "http://127.0.0.1:9050" });
 * const [datasets] = await bigquery.getDatasets();
 */
export async function bigqueryClient(options: BigQueryClientOptions = {}): Promise<BigQueryClient> {
  const choice = pickEndpoint(options.endpoint, [BIGQUERY_ENDPOINT_ENV]);
  checkLocation(options.location);
  // BIGQUERY_EMULATOR_HOST is the base of `/projects/…` for the official client; `endpoint` is the API's root.
  const apiEndpoint = choice.url ?? BIGQUERY_DEFAULT_ENDPOINT;
  const endpoint = choice.from === BIGQUERY_ENDPOINT_ENV ? apiEndpoint : `${apiEndpoint}/bigquery/v2`;
  if (options.leastPrivilege ?? taskContext()?.leastPrivilege) {
    logOncePerRun(
      "unscoped:GCP_CREDENTIALS:bigquery",
      "leastPrivilege: a BigQuery credential cannot be scoped (Google downscopes Cloud Storage only); the task runs with the whole credential",
    );
  }
  const auth = await gcpAuth(options);
  const projectId = options.project ?? (await auth.getProjectId());
  if (!projectId) {
    throw new ValidationError(
      "project",
      "BigQuery needs a project: give `project`, or use a credential with a `project_id` (GOOGLE_CLOUD_PROJECT for Application Default Credentials)",
    );
  }
  bigqueryModule ??= import("@google-cloud/bigquery");
  const { BigQuery } = await bigqueryModule;
  const bigquery = clientCache.get(`bigquery:${auth.cacheKey}:${endpoint}:${projectId}`, () => {
    const client = new BigQuery({
      projectId,
      apiEndpoint,
      authClient: auth.client as never,
      // Tributary retries (callGoogle): one policy, and a job's own failures are judged by BigQuery's reason.
      autoRetry: false,
    });
    // The official client lets BIGQUERY_EMULATOR_HOST win over `apiEndpoint`: the option must win.
    (client as unknown as { baseUrl: string }).baseUrl = endpoint;
    return client;
  });
  return { bigquery, auth, projectId, endpoint, location: options.location };
}

/**
 * Registers the access token the official client sent with the run's masker. Its requests do not go through the auth
 * client's transporter (where Tributary's interceptor registers tokens), so a service that echoes the request in an
 * error would otherwise show it.
 */
function maskToken(client: BigQueryClient): void {
  const token = (client.auth.client as { credentials?: { access_token?: string | null } }).credentials
    ?.access_token;
  if (token) registerSecretValue(token);
}

/** One REST call of the BigQuery v2 API, relative to `projects/{project}`. */
export interface BigQueryRequest {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  /** The path after `projects/{project}`, such as `/jobs` or `/datasets/sales/tables/orders`. */
  uri: string;
  /** Query string values. */
  qs?: Record<string, unknown> | undefined;
  /** The JSON body. */
  json?: unknown;
  /** Another project than the client's. */
  projectId?: string | undefined;
}

/** BigQuery's reasons that its guidance says to retry (with backoff): the same call may succeed later. */
const RETRYABLE_REASONS = new Set([
  "backendError",
  "internalError",
  "rateLimitExceeded",
  "jobBackendError",
  "jobInternalError",
  "jobRateLimitExceeded",
]);

/** How `@google-cloud/common` reports a failed call. */
interface ApiErrorLike {
  code?: number | string;
  message?: string;
  errors?: { reason?: string; message?: string; location?: string }[];
  response?: { statusCode?: number; headers?: Record<string, unknown>; body?: unknown };
}

/** BigQuery's own reason for a failure (`errors[0].reason`), if it gave one. */
export function bigqueryReason(error: unknown): string | undefined {
  const e = error as ApiErrorLike & { response?: { data?: { error?: { errors?: { reason?: string }[] } } } };
  const reason = e?.errors?.[0]?.reason ?? e?.response?.data?.error?.errors?.[0]?.reason;
  return typeof reason === "string" ? reason : undefined;
}

/**
 * The failure of a call, in the shape `toGcpError` reads (a gaxios-like `response`); a connection failure stays as
 * it is. `@google-cloud/common` keeps the status in `code` and the body as text.
 */
function asGoogleFailure(error: unknown): unknown {
  const e = error as ApiErrorLike & { status?: unknown };
  if (!e || typeof e !== "object") return error;
  const status =
    typeof e.code === "number" ? e.code : typeof e.status === "number" ? e.status : e.response?.statusCode;
  if (typeof status !== "number") return error;
  // An answer whose body broke off is a dropped connection, whatever its status line said.
  if (status < 300) return Object.assign(new Error(e.message), { code: "ECONNRESET" });
  let data: unknown = e.response?.body;
  if (typeof data === "string") {
    try {
      data = JSON.parse(data);
    } catch {
      // not JSON: toGcpError shows the text
    }
  }
  if (!data || typeof data !== "object") {
    data = { error: { code: status, message: e.message, errors: e.errors } };
  }
  const failure = new Error(e.message) as Error & Record<string, unknown>;
  failure.status = status;
  failure.response = { status, data, headers: e.response?.headers ?? {} };
  failure.errors = e.errors;
  return failure;
}

/** `toGcpError`, with BigQuery's own reason and its retry guidance. */
export function toBigQueryError(error: unknown, ctx: GoogleCallContext): Error {
  const reason = bigqueryReason(error);
  const mapped = toGcpError(error, ctx);
  if (reason === undefined || !ServiceError.isInstance(mapped)) return mapped;
  const prefix = `${mapped.service}: `;
  const message = mapped.message.startsWith(prefix) ? mapped.message.slice(prefix.length) : mapped.message;
  return new ServiceError(
    reason === "rateLimitExceeded" || reason === "quotaExceeded" ? "THROTTLED" : mapped.code,
    mapped.service,
    message,
    mapped.status,
    { cause: mapped.cause, retryable: RETRYABLE_REASONS.has(reason), reason },
  );
}

/** True when BigQuery's guidance says the failed call (or job) may succeed when retried. */
export function isBigQueryRetryable(error: unknown): boolean {
  if (TributaryError.isInstance(error)) return error.retryable;
  const reason = bigqueryReason(error);
  if (reason !== undefined) return RETRYABLE_REASONS.has(reason);
  return isRetryable(error);
}

/** A context for the error messages of BigQuery calls. */
export function bigqueryContext(client: BigQueryClient, resource: string): GoogleCallContext {
  return { service: "BigQuery", source: client.auth.source, resource, endpoint: client.endpoint };
}

/**
 * Sends one REST call through the official client (its credential, endpoint and headers) with Tributary's policy:
 * throttling, server errors and dropped connections retried with backoff, a 401 refreshing the token once, and failures
 * mapped to Tributary's errors with BigQuery's reason.
 */
export async function bigqueryRequest<T>(
  client: BigQueryClient,
  resource: string,
  request: BigQueryRequest,
  options: { signal?: AbortSignal | undefined; retries?: number | undefined } = {},
): Promise<T> {
  const ctx = bigqueryContext(client, resource);
  const send = () =>
    new Promise<T>((resolve, reject) => {
      client.bigquery.request(
        {
          method: request.method,
          uri: request.uri,
          ...(request.qs ? { qs: request.qs } : {}),
          ...(request.json !== undefined ? { json: request.json } : {}),
          ...(request.projectId ? { projectId: request.projectId } : {}),
        } as never,
        (error: unknown, body: unknown) => {
          maskToken(client);
          if (error) reject(asGoogleFailure(error));
          else resolve(body as T);
        },
      );
    });
  return callGoogle(client.auth, ctx, send, {
    retries: options.retries ?? 3,
    signal: options.signal,
    isRetryable: isBigQueryRetryable,
    toError: toBigQueryError,
  });
}
