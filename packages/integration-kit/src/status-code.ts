const BY_STATUS: Readonly<Record<number, string>> = {
  400: "BAD_REQUEST",
  403: "ACCESS_DENIED",
  404: "NOT_FOUND",
  409: "CONFLICT",
  412: "PRECONDITION_FAILED",
  422: "BAD_REQUEST",
  429: "THROTTLED",
};

/**
 * The `ServiceError` code that docs/conventions.md gives an HTTP status, for answers that carry no better word:
 * 403 `ACCESS_DENIED`, 404 `NOT_FOUND`, 429 `THROTTLED`, 5xx `SERVICE_UNAVAILABLE`, other refusals `REQUEST_FAILED`.
 * Without a status the request never got an answer: `NETWORK_ERROR`.
 * @example
 * new ServiceError(serviceErrorCode(status), "GitHub", message, status, { reason, retryable: isRetryableStatus(status) });
 */
export function serviceErrorCode(status: number | undefined): string {
  if (status === undefined || status <= 0) return "NETWORK_ERROR";
  if (status >= 500) return "SERVICE_UNAVAILABLE";
  return BY_STATUS[status] ?? "REQUEST_FAILED";
}

/** True for the statuses where the same request may succeed later: 408, 429 and 5xx. */
export function isRetryableStatus(status: number | undefined): boolean {
  return status === 408 || status === 429 || (status !== undefined && status >= 500);
}
