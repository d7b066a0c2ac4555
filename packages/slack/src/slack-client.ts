import type { RetryOptions, WebClient } from "@slack/web-api";
import type { IncomingWebhook } from "@slack/webhook";
import {
  clientCache,
  credentialFingerprint,
  InvalidSecretError,
  resolveSecret,
  type Secret,
  type SecretSource,
  ValidationError,
} from "@tributary/auth";
import { pickEndpoint } from "@tributary/integration-kit";
import { scopedFetch, sdkLogger } from "./call-scope.js";

/** The Web API base URL used when no `endpoint` is given. */
export const DEFAULT_SLACK_ENDPOINT = "https://slack.com/api/";

/**
 * The SDK retry policy for server errors and dropped connections: two quick retries. Slack's own default retries
 * for about thirty minutes; task retries (`task({ retries })`) are the place for longer patience.
 */
export const SLACK_RETRY_CONFIG: RetryOptions = Object.freeze({
  retries: 2,
  factor: 2,
  minTimeout: 200,
  maxTimeout: 1000,
  randomize: true,
});

/** How long one HTTP request to Slack may take, in milliseconds. */
export const SLACK_REQUEST_TIMEOUT_MS = 30_000;

/** The options of `slackClient`. */
export interface SlackClientOptions {
  /** A bot or user token (`xoxb-…`, `xoxp-…`). Always wins over secrets. */
  token?: string | Secret<string>;
  /** Read the token from this secret name instead of `SLACK_BOT_TOKEN` (no env fallback then). */
  secretName?: string;
  /** The Web API base URL, for a stand-in or a proxy. Default: `SLACK_API_URL`, else `https://slack.com/api/`. */
  endpoint?: string;
}

/**
 * The environment variable read for the Web API base URL when no `endpoint` is given. Slack has no convention of
 * its own; the name is that of the SDK's option (`slackApiUrl`), as `GITHUB_API_URL` is GitHub's.
 */
export const SLACK_ENDPOINT_ENV = "SLACK_API_URL";

/**
 * @internal The Web API base URL with a trailing slash: the `endpoint` option, else `SLACK_API_URL`, else Slack's
 * own. Checked before any network call.
 */
export function checkEndpoint(endpoint: string | undefined): string {
  const url = pickEndpoint(endpoint, [SLACK_ENDPOINT_ENV]).url;
  return url === undefined ? DEFAULT_SLACK_ENDPOINT : `${url}/`;
}

function checkSecretName(secretName: string | undefined): void {
  if (secretName !== undefined && (typeof secretName !== "string" || secretName === "")) {
    throw new ValidationError("secretName", "must be a non-empty secret name");
  }
}

// The SDKs load with the first client: importing @tributary/slack stays cheaper than importing @slack/web-api.
let webApi: Promise<typeof import("@slack/web-api")> | undefined;
let webhookModule: Promise<typeof import("@slack/webhook")> | undefined;

/** @internal Resolves the token and returns the cached client with the token's source. */
export async function resolveSlackClient(
  options: SlackClientOptions = {},
): Promise<{ client: WebClient; source: SecretSource }> {
  const endpoint = checkEndpoint(options.endpoint);
  checkSecretName(options.secretName);
  const { value: token, source } = await resolveSecret("SLACK_BOT_TOKEN", {
    value: options.token,
    argument: "token",
    secretName: options.secretName,
  });
  webApi ??= import("@slack/web-api");
  const { WebClient } = await webApi;
  const client = clientCache.get(
    `slack:${credentialFingerprint(token)}:${endpoint}`,
    () =>
      new WebClient(token as string, {
        slackApiUrl: endpoint,
        retryConfig: SLACK_RETRY_CONFIG,
        rejectRateLimitedCalls: true,
        timeout: SLACK_REQUEST_TIMEOUT_MS,
        allowAbsoluteUrls: false,
        fetch: scopedFetch,
        logger: sdkLogger,
      }),
  );
  return { client, source };
}

/**
 * A `WebClient` for the Slack Web API, with the token resolved through Tributary's order (the `token` argument,
 * then `SLACK_BOT_TOKEN` — or `secretName` — in the run's secrets, `TRIBUTARY__CONTEXT__SECRETS__*`, the local
 * store and declared backends, then the env var `SLACK_BOT_TOKEN`). Clients are cached per token fingerprint and
 * endpoint. Rate-limited calls are rejected at once (no half-hour waits); Tributary's tasks retry them.
 * @example
 * const client = await slackClient();
 * const { channels } = await client.conversations.list({ limit: 100 });
 */
export async function slackClient(options: SlackClientOptions = {}): Promise<WebClient> {
  return (await resolveSlackClient(options)).client;
}

const WEBHOOK_HOSTS = new Set(["hooks.slack.com", "hooks.slack-gov.com"]);
const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);
const WEBHOOK_PATH = /^\/(services|triggers|workflows)\/[^/]+\/.+/;

/** @internal Checks a webhook URL's shape before any request; the message never holds the URL. */
export function checkWebhookUrl(url: string, name: string, source: SecretSource): void {
  const parsed = new URL(url);
  const loopback = LOOPBACK.has(parsed.hostname);
  let problem: string | undefined;
  if (!loopback && parsed.protocol !== "https:") problem = "must be an https URL";
  else if (!loopback && !WEBHOOK_HOSTS.has(parsed.hostname)) {
    problem = `must be on hooks.slack.com (got host ${parsed.hostname})`;
  } else if (!WEBHOOK_PATH.test(parsed.pathname)) {
    problem = "must have a webhook path such as /services/T…/B…/…";
  } else if (parsed.username || parsed.password) problem = "must not carry a user name or password";
  if (problem) {
    throw new InvalidSecretError(name, source, [
      {
        field: "",
        message: `${problem}: a Slack incoming-webhook URL looks like https://hooks.slack.com/services/T…/B…/…`,
      },
    ]);
  }
}

/** @internal The options that choose a webhook URL. */
export interface WebhookCredentialOptions {
  /** The incoming-webhook URL. Always wins over secrets. */
  webhookUrl?: string | Secret<string>;
  /** Read the URL from this secret name instead of `SLACK_WEBHOOK_URL` (no env fallback then). */
  secretName?: string;
}

/** @internal Resolves the webhook URL, checks its shape, and returns the cached webhook client with its source. */
export async function resolveWebhook(
  options: WebhookCredentialOptions,
): Promise<{ webhook: IncomingWebhook; source: SecretSource }> {
  checkSecretName(options.secretName);
  const { value: url, source } = await resolveSecret("SLACK_WEBHOOK_URL", {
    value: options.webhookUrl,
    argument: "webhookUrl",
    secretName: options.secretName,
  });
  checkWebhookUrl(url as string, options.secretName ?? "SLACK_WEBHOOK_URL", source);
  webhookModule ??= import("@slack/webhook");
  const { IncomingWebhook } = await webhookModule;
  const webhook = clientCache.get(
    `slack-webhook:${credentialFingerprint(url)}`,
    () =>
      new IncomingWebhook(url as string, {
        fetch: scopedFetch,
        timeout: SLACK_REQUEST_TIMEOUT_MS,
        retryConfig: SLACK_RETRY_CONFIG,
      }),
  );
  return { webhook, source };
}
