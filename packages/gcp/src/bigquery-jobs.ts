import { randomUUID } from "node:crypto";
import { mask, ServiceError, sanitizeCause } from "@tributary/auth";
import { type BigQueryClient, bigqueryRequest, isBigQueryRetryable } from "./bigquery-client.js";
import { sleep } from "./gcp-errors.js";

/** A job resource, as the API returns it (the parts Tributary reads). */
export interface JobResource {
  jobReference: { projectId: string; jobId: string; location?: string };
  status?: {
    state?: string;
    errorResult?: { reason?: string; message?: string; location?: string };
  };
  statistics?: {
    totalBytesProcessed?: string;
    query?: {
      totalBytesProcessed?: string;
      cacheHit?: boolean;
      schema?: { fields?: unknown[] };
      numDmlAffectedRows?: string;
    };
    load?: { outputRows?: string; inputFiles?: string; inputFileBytes?: string; badRecords?: string };
    extract?: { destinationUriFileCounts?: string[] };
  };
  configuration?: Record<string, unknown>;
}

/** Where a job runs from: the caller's signal, and how often a job BigQuery says to retry is run again. */
export interface JobCallOptions {
  signal?: AbortSignal | undefined;
  retries?: number | undefined;
}

const CODE_OF_REASON: Record<string, string> = {
  invalidQuery: "BAD_REQUEST",
  invalid: "BAD_REQUEST",
  notFound: "NOT_FOUND",
  accessDenied: "ACCESS_DENIED",
  quotaExceeded: "THROTTLED",
  rateLimitExceeded: "THROTTLED",
  jobRateLimitExceeded: "THROTTLED",
  backendError: "SERVICE_UNAVAILABLE",
  internalError: "SERVICE_UNAVAILABLE",
  jobBackendError: "SERVICE_UNAVAILABLE",
  jobInternalError: "SERVICE_UNAVAILABLE",
  duplicate: "CONFLICT",
  resourceInUse: "CONFLICT",
};

/** A failed job as a `ServiceError`: BigQuery's reason, its message, and the query's line and column when it gave them. */
export function jobError(job: JobResource, resource: string): ServiceError {
  const error = job.status?.errorResult ?? {};
  const reason = error.reason ?? "jobFailed";
  const message = mask(error.message ?? "the job failed");
  const at = /\bat \[(\d+):(\d+)\]/.exec(message);
  const where = at ? ` (line ${at[1]}, column ${at[2]} of the query)` : "";
  return new ServiceError(
    CODE_OF_REASON[reason] ?? "REQUEST_FAILED",
    "BigQuery",
    `${resource}: job ${job.jobReference.jobId} failed: ${message}${where}`,
    undefined,
    {
      cause: sanitizeCause({ reason, message, jobId: job.jobReference.jobId }),
      retryable: isBigQueryRetryable({ errors: [{ reason }] }),
      reason,
    },
  );
}

/** The job's path, relative to `projects/{project}`. */
const jobPath = (job: JobResource) => `/jobs/${encodeURIComponent(job.jobReference.jobId)}`;
const jobQs = (job: JobResource) =>
  job.jobReference.location ? { location: job.jobReference.location } : {};

/** A job id made here, so that a retried insert finds its own job instead of starting a second one. */
export function newJobId(): string {
  return `tributary_${randomUUID().replace(/-/g, "_")}`;
}

/** Asks BigQuery to cancel a job; best effort (the job may have just finished). */
export async function cancelJob(client: BigQueryClient, job: JobResource, resource: string): Promise<void> {
  await bigqueryRequest(
    client,
    resource,
    { method: "POST", uri: `${jobPath(job)}/cancel`, qs: jobQs(job) },
    { retries: 1 },
  ).catch(() => undefined);
}

/** Inserts a job with a client-made id; a retried insert that finds its own job (409) carries on with it. */
export async function insertJob(
  client: BigQueryClient,
  configuration: Record<string, unknown>,
  resource: string,
  options: JobCallOptions,
  jobId = newJobId(),
): Promise<JobResource> {
  const jobReference = {
    projectId: client.projectId,
    jobId,
    ...(client.location ? { location: client.location } : {}),
  };
  try {
    return await bigqueryRequest<JobResource>(
      client,
      resource,
      { method: "POST", uri: "/jobs", json: { jobReference, configuration } },
      options,
    );
  } catch (error) {
    if (ServiceError.isInstance(error) && error.reason === "duplicate") {
      return bigqueryRequest<JobResource>(
        client,
        resource,
        {
          method: "GET",
          uri: `/jobs/${encodeURIComponent(jobId)}`,
          qs: client.location ? { location: client.location } : {},
        },
        options,
      );
    }
    throw error;
  }
}

/**
 * Waits for a job, polling `jobs.get` with backoff. Aborting `signal` (the task's timeout or cancellation) cancels the
 * job with `jobs.cancel` before the abort is thrown.
 */
export async function waitForJob(
  client: BigQueryClient,
  inserted: JobResource,
  resource: string,
  options: JobCallOptions,
): Promise<JobResource> {
  let job = inserted;
  let delay = 50;
  try {
    while (job.status?.state !== "DONE") {
      await sleep(delay, options.signal);
      delay = Math.min(Math.round(delay * 1.6), 2_000);
      job = await bigqueryRequest<JobResource>(
        client,
        resource,
        { method: "GET", uri: jobPath(job), qs: jobQs(job) },
        options,
      );
    }
  } catch (error) {
    if (options.signal?.aborted) await cancelJob(client, job, resource);
    throw error;
  }
  return job;
}

/**
 * Runs a job to its end: inserted with a client-made id, polled with backoff, cancelled when `signal` aborts. A job
 * that fails with a reason BigQuery says to retry (`backendError`, `rateLimitExceeded` …) runs again as a new job, up
 * to `retries` times; any other failure is a `ServiceError` with BigQuery's reason.
 */
export async function runJob(
  client: BigQueryClient,
  configuration: Record<string, unknown>,
  resource: string,
  options: JobCallOptions,
): Promise<JobResource> {
  const retries = options.retries ?? 3;
  for (let attempt = 0; ; attempt++) {
    const inserted = await insertJob(client, configuration, resource, options);
    if (configuration.dryRun === true) return inserted;
    const job = await waitForJob(client, inserted, resource, options);
    if (!job.status?.errorResult) return job;
    const error = jobError(job, resource);
    if (!error.retryable || attempt >= retries) throw error;
    await sleep(Math.min(250 * 2 ** attempt, 8_000), options.signal);
  }
}
