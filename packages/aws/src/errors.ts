import {
  CredentialRejectedError,
  describeSource,
  mask,
  networkErrorCode,
  type SecretSource,
  ServiceError,
  sanitizeCause,
  TributaryError,
} from "@tributary/auth";

/** AWS error codes that mean the credential itself was refused (not a missing permission). */
export const CREDENTIAL_ERROR_CODES: ReadonlySet<string> = new Set([
  "InvalidAccessKeyId",
  "SignatureDoesNotMatch",
  "InvalidToken",
  "ExpiredToken",
  "ExpiredTokenException",
  "InvalidClientTokenId",
  "UnrecognizedClientException",
  "InvalidSignatureException",
  "TokenRefreshRequired",
]);

/** @internal What an SDK error looks like from the outside. */
export interface SdkErrorShape {
  name?: string;
  code?: string;
  message?: string;
  $fault?: "client" | "server";
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: number };
}

/** @internal True for an abort (the task's signal, or a timeout). */
export function isAbort(error: unknown, signal?: AbortSignal): boolean {
  const name = (error as { name?: string } | null)?.name;
  return signal?.aborted === true || name === "AbortError";
}

/**
 * @internal Turns an SDK error into a Tributary error: a refused credential into `CredentialRejectedError` naming
 * where it came from, the rest into `ServiceError` (retryable for throttling, 5xx and network failures).
 */
export function toAwsError(
  error: unknown,
  service: string,
  source: SecretSource,
  what: string,
  signal?: AbortSignal,
): unknown {
  if (TributaryError.isInstance(error) || isAbort(error, signal)) return error;
  const e = (error ?? {}) as SdkErrorShape;
  const status = e.$metadata?.httpStatusCode;
  const code = e.name && e.name !== "Error" ? e.name : (e.code ?? "Error");
  const message = mask(e.message ?? String(error));
  if (CREDENTIAL_ERROR_CODES.has(code)) {
    return new CredentialRejectedError(service, source, code, { cause: sanitizeCause(error) });
  }
  if (status === 403 && (code === "Unknown" || code === "Forbidden" || code === "403")) {
    return new CredentialRejectedError(
      service,
      source,
      `403 Forbidden on ${what} (a HEAD answer carries no error code: the key is wrong or lacks permission)`,
      { cause: sanitizeCause(error) },
    );
  }
  if (code === "AccessDenied" || code === "AccessDeniedException") {
    return new ServiceError(
      "ACCESS_DENIED",
      service,
      `access denied to ${what} for the credential from ${describeSource(source)}: grant it the permission, or use another credential`,
      status ?? 403,
      { cause: sanitizeCause(error) },
    );
  }
  if (code === "NoSuchBucket") {
    return new ServiceError("NOT_FOUND", service, `${what}: the bucket does not exist`, status ?? 404, {
      cause: sanitizeCause(error),
    });
  }
  if (code === "NoSuchKey" || code === "NotFound" || code === "ResourceNotFoundException") {
    return new ServiceError("NOT_FOUND", service, `${what}: not found`, status ?? 404, {
      cause: sanitizeCause(error),
    });
  }
  const sysCode = networkErrorCode(error);
  if (sysCode) {
    return new ServiceError("NETWORK_ERROR", service, `${what}: ${sysCode} (${message})`, undefined, {
      cause: sanitizeCause(error),
      retryable: true,
    });
  }
  const throttled = /SlowDown|Throttl|TooManyRequests|RequestLimitExceeded/.test(code);
  const retryable =
    throttled || (status !== undefined && status >= 500) || e.$fault === "server" || Boolean(e.$retryable);
  return new ServiceError(
    throttled ? "THROTTLED" : code,
    service,
    `${what} failed: ${code}: ${message}`,
    status,
    {
      cause: sanitizeCause(error),
      retryable,
    },
  );
}
