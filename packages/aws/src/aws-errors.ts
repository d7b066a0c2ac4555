import {
  CredentialRejectedError,
  describeSource,
  mask,
  type SecretSource,
  ServiceError,
  sanitizeCause,
  TributaryError,
} from "@tributary/auth";
import { isRetryableStatus, networkErrorCode, serviceErrorCode } from "@tributary/integration-kit";

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

/** STS codes for a refused web-identity token; their message says why. */
const IDENTITY_TOKEN_ERROR_CODES: ReadonlySet<string> = new Set([
  "InvalidIdentityTokenException",
  "IDPRejectedClaimException",
  "IDPCommunicationErrorException",
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
  if (IDENTITY_TOKEN_ERROR_CODES.has(code)) {
    // The identity provider's reason (audience, expiry, signature) is what the user needs to fix the token.
    return new CredentialRejectedError(service, source, `${code}: ${message}`, { cause: error });
  }
  if (CREDENTIAL_ERROR_CODES.has(code)) {
    return new CredentialRejectedError(service, source, code, { cause: sanitizeCause(error), reason: code });
  }
  const bare403 = code === "Unknown" || code === "Forbidden" || code === "403";
  if (status === 403 && (bare403 || unreadable(e))) {
    // A HEAD answer has no body; moto answers Lambda, Step Functions and SSM refusals in XML the SDK cannot read.
    return new CredentialRejectedError(
      service,
      source,
      `403 Forbidden on ${what} (${bare403 ? "a HEAD answer carries no error code" : "an answer the AWS SDK could not read"}: the key is wrong or lacks permission)`,
      { cause: sanitizeCause(error), reason: "Forbidden" },
    );
  }
  if (code === "AccessDenied" || code === "AccessDeniedException") {
    return new ServiceError(
      "ACCESS_DENIED",
      service,
      `access denied to ${what} for the credential from ${describeSource(source)}: grant it the permission, or use another credential`,
      status ?? 403,
      { cause: sanitizeCause(error), reason: code },
    );
  }
  if (code === "NoSuchBucket") {
    return new ServiceError("NOT_FOUND", service, `${what}: the bucket does not exist`, status ?? 404, {
      cause: sanitizeCause(error),
      reason: code,
    });
  }
  if (code === "NoSuchKey" || code === "NotFound" || code === "ResourceNotFoundException") {
    return new ServiceError("NOT_FOUND", service, `${what}: not found`, status ?? 404, {
      cause: sanitizeCause(error),
      reason: code,
    });
  }
  const sysCode = networkErrorCode(error);
  if (sysCode && !unreadable(e)) {
    return new ServiceError("NETWORK_ERROR", service, `${what}: ${sysCode} (${message})`, undefined, {
      cause: sanitizeCause(error),
      retryable: true,
      reason: sysCode,
    });
  }
  if (unreadable(e)) {
    // The SDK could not parse the answer (HTML from a proxy, an empty body): its HTTP status is the best word left.
    const byStatus = status === undefined ? "BAD_RESPONSE" : serviceErrorCode(status);
    return new ServiceError(
      byStatus === "REQUEST_FAILED" ? "BAD_RESPONSE" : byStatus,
      service,
      `${what} failed: HTTP ${status ?? "?"} with an answer the AWS SDK could not read`,
      status,
      {
        cause: sanitizeCause(error),
        retryable: isRetryableStatus(status),
        reason: `HTTP ${status ?? "?"}, unreadable answer`,
      },
    );
  }
  const throttled = /SlowDown|Throttl|TooManyRequests|RequestLimitExceeded/.test(code);
  const retryable = throttled || isRetryableStatus(status) || e.$fault === "server" || Boolean(e.$retryable);
  return new ServiceError(
    throttled ? "THROTTLED" : serviceErrorCode(status ?? 400),
    service,
    `${what} failed: ${code}: ${message}`,
    status,
    { cause: sanitizeCause(error), retryable, reason: code },
  );
}

/** @internal True when the SDK failed to parse the service's answer rather than being told an error code. */
export function unreadable(e: SdkErrorShape): boolean {
  return (
    e.name === "SyntaxError" ||
    /Deserialization error|char '.' is not expected|Unexpected token/i.test(e.message ?? "")
  );
}
