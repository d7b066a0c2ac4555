export {
  CredentialRejectedError,
  InvalidSecretError,
  MissingCredentialsError,
  ServiceError,
  TributaryError,
  ValidationError,
} from "@tributary/auth";
export type { SlackBlock } from "./message-input.js";
export type { RateLimitOptions } from "./slack-call.js";
export {
  DEFAULT_SLACK_ENDPOINT,
  SLACK_ENDPOINT_ENV,
  SLACK_REQUEST_TIMEOUT_MS,
  SLACK_RETRY_CONFIG,
  type SlackClientOptions,
  slackClient,
} from "./slack-client.js";
export { CREDENTIAL_ERROR_CODES, slackErrorCode, toSlackError } from "./slack-errors.js";
export { slackIdentity } from "./slack-identity.js";
export { type SlackMessageOptions, type SlackMessageResult, slackMessage } from "./slack-message.js";
export { type SlackNotifierOptions, type SlackNotifyOn, slackNotifier } from "./slack-notifier.js";
export {
  SLACK_MAX_FILE_BYTES,
  type SlackUploadOptions,
  type SlackUploadResult,
  slackUpload,
} from "./slack-upload.js";
export { type SlackWebhookOptions, type SlackWebhookResult, slackWebhook } from "./slack-webhook.js";
