import {
  CredentialRejectedError,
  mask,
  type SecretSource,
  ServiceError,
  sanitizeCause,
  TributaryError,
} from "@tributary/auth";
import { networkErrorCode, serviceErrorCode } from "@tributary/integration-kit";

// The SDKs' `ErrorCode` values, spelt out so that mapping an error does not load the SDKs.
const PLATFORM_ERROR = "slack_webapi_platform_error";
const HTTP_ERROR = "slack_webapi_http_error";
const WEBHOOK_HTTP_ERROR = "slack_webhook_http_error";

/** Slack error codes that mean the credential itself was refused: replace or reinstall it. */
export const CREDENTIAL_ERROR_CODES: ReadonlySet<string> = new Set([
  "invalid_auth",
  "not_authed",
  "token_revoked",
  "token_expired",
  "account_inactive",
  "missing_scope",
  "not_allowed_token_type",
  "no_permission",
  "team_access_not_granted",
  "ekm_access_denied",
  // Incoming webhooks (the URL is the credential).
  "invalid_token",
  "no_service",
  "no_team",
  "team_disabled",
]);

/** Slack error codes worth retrying: Slack's side failed, not the request. */
const TRANSIENT_CODES = new Set(["internal_error", "fatal_error", "service_unavailable", "request_timeout"]);

const HINTS: Record<string, string> = {
  not_in_channel: "invite the app to the channel (/invite @your-app), or add the chat:write.public scope",
  channel_not_found: "check the channel id or name; a private channel needs the app invited first",
  is_archived: "the channel is archived; unarchive it or post elsewhere",
  channel_is_archived: "the channel is archived; unarchive it or post elsewhere",
  invalid_blocks: "check `blocks` against Block Kit (https://app.slack.com/block-kit-builder)",
  invalid_blocks_format: "`blocks` must be an array of Block Kit blocks",
  no_text: "give `text` or `blocks`",
  msg_too_long: "shorten `text` (Slack truncates at 40 000 characters and refuses longer)",
  invalid_payload: "the message is not valid JSON for Slack",
  too_many_attachments: "send at most 100 attachments",
  invalid_arguments: "an argument is missing or malformed",
  file_not_found: "the file was not uploaded before completion",
  action_prohibited: "a workspace admin restricted posting to this channel",
  posting_to_general_channel_denied: "only admins may post to #general in this workspace",
};

const ACCESS_DENIED = new Set([
  "not_in_channel",
  "action_prohibited",
  "posting_to_general_channel_denied",
  "restricted_action",
  "restricted_action_read_only_channel",
  "restricted_action_thread_only_channel",
]);

/** The code of docs/conventions.md for one of Slack's error strings (which is kept as the error's `reason`). */
export function slackErrorCode(reason: string, status: number | undefined): string {
  if (reason.endsWith("_not_found")) return "NOT_FOUND";
  if (reason === "ratelimited" || reason === "rate_limited") return "THROTTLED";
  if (TRANSIENT_CODES.has(reason)) return "SERVICE_UNAVAILABLE";
  if (ACCESS_DENIED.has(reason)) return "ACCESS_DENIED";
  if (/^(invalid_|no_text$|msg_too_long$|too_many_|is_archived$|channel_is_archived$)/.test(reason))
    return "BAD_REQUEST";
  return status === undefined || status === 200 ? "REQUEST_FAILED" : serviceErrorCode(status);
}

function serviceError(
  reason: string,
  what: string,
  status: number | undefined,
  cause: unknown,
): ServiceError {
  const hint = HINTS[reason];
  return new ServiceError(
    slackErrorCode(reason, status),
    "Slack",
    mask(`${what} failed: ${reason}${hint ? ` — ${hint}` : ""}`),
    status,
    { retryable: TRANSIENT_CODES.has(reason), cause: sanitizeCause(cause), reason },
  );
}

/** Slack's plain-text webhook answers are codes such as `no_service`; anything else becomes `http_<status>`. */
function webhookCode(body: unknown, status: number): string {
  const text = typeof body === "string" ? body.trim() : "";
  return /^[a-z_]{2,64}$/.test(text) ? text : `http_${status}`;
}

/**
 * Maps an error from `@slack/web-api` or `@slack/webhook` onto Tributary's errors: a refused credential becomes
 * `CredentialRejectedError` naming its source, any other answer a `ServiceError` with Slack's code (retryable only
 * when Slack's side failed), and transport failures a retryable `ServiceError`. Tributary errors pass through.
 */
export function toSlackError(error: unknown, what: string, source: SecretSource): Error {
  if (TributaryError.isInstance(error)) return error;
  const e = error as {
    code?: unknown;
    data?: { error?: unknown; needed?: unknown };
    statusCode?: unknown;
    body?: unknown;
  };
  if (e?.code === PLATFORM_ERROR && typeof e.data?.error === "string") {
    const code = e.data.error;
    if (CREDENTIAL_ERROR_CODES.has(code)) {
      const needed = typeof e.data.needed === "string" ? ` (needs scope ${e.data.needed})` : "";
      return new CredentialRejectedError("Slack", source, `${what}: ${code}${needed}`, {
        cause: sanitizeCause(error),
        reason: code,
      });
    }
    return serviceError(code, what, 200, error);
  }
  if (e?.code === HTTP_ERROR || e?.code === WEBHOOK_HTTP_ERROR) {
    const status = typeof e.statusCode === "number" ? e.statusCode : 0;
    const code = e.code === WEBHOOK_HTTP_ERROR ? webhookCode(e.body, status) : `http_${status}`;
    if ((status === 403 || status === 404 || status === 401) && CREDENTIAL_ERROR_CODES.has(code)) {
      return new CredentialRejectedError("Slack", source, `${what}: ${code}`, {
        cause: sanitizeCause(error),
        reason: code,
      });
    }
    if (status >= 500) {
      return new ServiceError(
        "SERVICE_UNAVAILABLE",
        "Slack",
        mask(`${what} failed: HTTP ${status}`),
        status,
        {
          retryable: true,
          reason: code,
          cause: sanitizeCause(error),
        },
      );
    }
    return serviceError(code, what, status, error);
  }
  const message = error instanceof Error ? error.message : String(error);
  const network = networkErrorCode(error);
  return new ServiceError("NETWORK_ERROR", "Slack", mask(`${what} failed: ${message}`), undefined, {
    retryable: true,
    reason: network ?? "request_failed",
    cause: sanitizeCause(error),
  });
}
