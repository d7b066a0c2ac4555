import { type SecretSource, ServiceError, ValidationError } from "@tributary/auth";
import { type CallScope, callScope, type ScopeLog } from "./call-scope.js";
import { toSlackError } from "./slack-errors.js";

/** Options every Slack task takes for rate limits. */
export interface RateLimitOptions {
  /**
   * How many times a call that Slack rate-limited (429) is retried after waiting its `Retry-After`. Default 3;
   * after that it fails with a retryable `ServiceError` (code `THROTTLED`, reason `ratelimited`).
   */
  maxRateLimitRetries?: number;
  /**
   * The longest `Retry-After` honoured, in seconds (default 60). A longer one fails at once (retryable) rather
   * than holding the task: Slack's own SDK default may wait for half an hour.
   */
  maxRetryAfterSeconds?: number;
}

/** @internal Checks the rate-limit options before any network call. */
export function checkRateLimitOptions(options: RateLimitOptions): Required<RateLimitOptions> {
  const { maxRateLimitRetries = 3, maxRetryAfterSeconds = 60 } = options;
  if (!Number.isInteger(maxRateLimitRetries) || maxRateLimitRetries < 0 || maxRateLimitRetries > 100) {
    throw new ValidationError("maxRateLimitRetries", "must be a whole number from 0 to 100");
  }
  if (
    typeof maxRetryAfterSeconds !== "number" ||
    !(maxRetryAfterSeconds >= 0) ||
    !Number.isFinite(maxRetryAfterSeconds)
  ) {
    throw new ValidationError("maxRetryAfterSeconds", "must be a non-negative number of seconds");
  }
  return { maxRateLimitRetries, maxRetryAfterSeconds };
}

/** @internal How a call runs: what it is (for messages), the credential's source, its signal and logger. */
export interface CallOptions extends Required<RateLimitOptions> {
  what: string;
  source: SecretSource;
  signal: AbortSignal | undefined;
  log: ScopeLog | undefined;
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new Error("aborted");
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortReason(signal));
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortReason(signal as AbortSignal));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Settles with `work`, or rejects with the signal's reason as soon as it aborts (the SDK may still be backing off). */
function race<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) return Promise.reject(abortReason(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortReason(signal));
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}

function platformRateLimit(error: unknown): number | undefined {
  const data = (error as { data?: { error?: unknown; response_metadata?: { retryAfter?: unknown } } })?.data;
  if (data?.error !== "ratelimited") return undefined;
  const after = data.response_metadata?.retryAfter;
  return typeof after === "number" ? after : 1;
}

/**
 * @internal Runs one Slack call: in a call scope (signal, logger, 429 capture), retrying a 429 after its
 * `Retry-After` up to `maxRateLimitRetries` times, and mapping failures onto Tributary errors. An abort rejects
 * with the signal's reason (the task's timeout or the run's cancellation).
 */
export async function runSlackCall<T>(call: () => Promise<T>, options: CallOptions): Promise<T> {
  const { signal, log, what, source, maxRateLimitRetries, maxRetryAfterSeconds } = options;
  for (let attempt = 1; ; attempt++) {
    const scope: CallScope = { signal, log, rateLimited: false, retryAfter: undefined };
    try {
      return await race(
        callScope.run(scope, () => call()),
        signal,
      );
    } catch (error) {
      if (signal?.aborted) throw abortReason(signal);
      const wait = scope.rateLimited ? (scope.retryAfter ?? 1) : platformRateLimit(error);
      if (wait === undefined) throw toSlackError(error, what, source);
      if (attempt > maxRateLimitRetries || wait > maxRetryAfterSeconds) {
        const why =
          wait > maxRetryAfterSeconds
            ? `Slack asked to wait ${wait} s, more than maxRetryAfterSeconds (${maxRetryAfterSeconds})`
            : `still rate-limited after ${maxRateLimitRetries} ${maxRateLimitRetries === 1 ? "retry" : "retries"} (raise maxRateLimitRetries to wait longer)`;
        throw new ServiceError("THROTTLED", "Slack", `${what} was rate-limited: ${why}`, 429, {
          reason: "ratelimited",
          retryable: true,
        });
      }
      log?.warn(`Slack rate-limited ${what}; retrying in ${wait} s (${attempt}/${maxRateLimitRetries})`);
      await sleep(wait * 1000, signal);
    }
  }
}
