import { CredentialRejectedError, InvalidSecretError, ServiceError, TributaryError } from "@tributary/auth";
import { task } from "@tributary/flow";
import { describe, expect, it } from "vitest";
import { useSlackTestEnv } from "../test/helpers.js";
import { slackWebhook } from "./slack-webhook.js";

const HOOK = "T0HOOK/B0HOOK/webhook-secret-1234";
const env = useSlackTestEnv({ webhooks: [HOOK] });

describe("slackWebhook", () => {
  it("posts the exact payload and answers ok", async () => {
    const blocks = [{ type: "section", text: { type: "mrkdwn", text: "*done*" } }];
    const result = await slackWebhook({
      webhookUrl: env.slack.webhookUrl(HOOK),
      text: "done",
      blocks,
      threadTs: "1.2",
    });
    expect(result).toEqual({ response: "ok" });
    expect(env.slack.received.webhooks).toEqual([
      { path: HOOK, payload: { text: "done", blocks, thread_ts: "1.2" } },
    ]);
  });

  it.each([
    { name: "plain http to a real host", url: "http://hooks.slack.com/services/T0/B0/x", field: "https" },
    { name: "another host", url: "https://hooks.example.com/services/T0/B0/x", field: "hooks.slack.com" },
    {
      name: "a look-alike host",
      url: "https://hooks.slack.com.evil.example/services/T0/B0/x",
      field: "hooks.slack.com",
    },
    { name: "no webhook path", url: "https://hooks.slack.com/api/chat.postMessage", field: "/services/" },
    { name: "not a URL", url: "hooks.slack.com/services/T0/B0/x", field: "https" },
  ])("$name is a clear error before any request", async ({ url, field }) => {
    const error = await slackWebhook({ webhookUrl: url, text: "x" }).catch((e) => e);
    expect(InvalidSecretError.isInstance(error)).toBe(true);
    expect(error.message).toContain(field);
    expect(error.message).toContain("argument (webhookUrl)");
    expect(error.message).not.toContain("/T0/B0/x");
    expect(env.slack.requests).toEqual([]);
  });

  it("a bad URL from the environment names the env var", async () => {
    process.env.SLACK_WEBHOOK_URL = "https://example.com/services/T0/B0/x";
    const error = await slackWebhook({ text: "x" }).catch((e) => e);
    expect(InvalidSecretError.isInstance(error)).toBe(true);
    expect(error.message).toContain("env SLACK_WEBHOOK_URL");
  });

  it("a message without text or blocks is a ValidationError before any request", async () => {
    const error = await slackWebhook({ webhookUrl: env.slack.webhookUrl(HOOK) }).catch((e) => e);
    expect([error.name, error.option]).toEqual(["ValidationError", "text"]);
    expect(env.slack.requests).toEqual([]);
  });

  it.each([
    { name: "a wrong secret in the URL", path: "T0HOOK/B0HOOK/wrong", code: "invalid_token" },
    { name: "an unknown webhook", path: "T0GONE/B0GONE/whatever", code: "no_service" },
  ])("$name is a CredentialRejectedError naming the source, never retried", async ({ path, code }) => {
    const url = env.slack.webhookUrl(path);
    const post = task({ name: "notify", retries: 3, retryDelayMs: 0 }, () => slackWebhook({ text: "x" }));
    process.env.TRIBUTARY__CONTEXT__SECRETS__SLACK_WEBHOOK_URL = url;
    const error = await post().catch((e) => e);
    expect(CredentialRejectedError.isInstance(error)).toBe(true);
    expect(error.reason).toBe(code);
    expect(error.message).toContain(code);
    expect(error.message).toContain("env (TRIBUTARY__CONTEXT__SECRETS__SLACK_WEBHOOK_URL)");
    expect(error.message).not.toContain(path);
    expect(env.slack.requests).toHaveLength(1);
  });

  it.each([
    {
      status: 400,
      body: "invalid_payload",
      retryable: false,
      code: "BAD_REQUEST",
      reason: "invalid_payload",
    },
    {
      status: 404,
      body: "channel_not_found",
      retryable: false,
      code: "NOT_FOUND",
      reason: "channel_not_found",
    },
    {
      status: 410,
      body: "channel_is_archived",
      retryable: false,
      code: "BAD_REQUEST",
      reason: "channel_is_archived",
    },
    {
      status: 500,
      body: "<html>oops</html>",
      retryable: true,
      code: "SERVICE_UNAVAILABLE",
      reason: "http_500",
    },
  ])(
    "HTTP $status $body is a $code ServiceError (retryable: $retryable)",
    async ({ status, body, retryable, code, reason }) => {
      env.slack.failNext(10, status, { body });
      const error = await slackWebhook({ webhookUrl: env.slack.webhookUrl(HOOK), text: "x" }).catch((e) => e);
      expect(ServiceError.isInstance(error)).toBe(true);
      expect([error.status, error.retryable]).toEqual([status, retryable]);
      expect([error.code, error.reason]).toEqual([code, reason]);
      expect(error.message).not.toContain(HOOK);
      expect(env.slack.requests).toHaveLength(retryable ? 3 : 1);
    },
  );

  it("a 429 honours Retry-After (which the webhook SDK drops) and then succeeds", async () => {
    env.slack.rateLimitNext(1, { retryAfterSeconds: 1 });
    await slackWebhook({ webhookUrl: env.slack.webhookUrl(HOOK), text: "after the wait" });
    expect(env.slack.requests.map((r) => r.status)).toEqual([429, 200]);
    expect(env.slack.received.webhooks.map((w) => w.payload.text)).toEqual(["after the wait"]);
  });

  it("a permanent 429 ends after maxRateLimitRetries", async () => {
    env.slack.rateLimitNext(100, { retryAfterSeconds: 0 });
    const error = await slackWebhook({
      webhookUrl: env.slack.webhookUrl(HOOK),
      text: "x",
      maxRateLimitRetries: 3,
    }).catch((e) => e);
    expect(TributaryError.isInstance(error)).toBe(true);
    expect([error.code, error.reason, error.retryable]).toEqual(["THROTTLED", "ratelimited", true]);
    expect(env.slack.requests).toHaveLength(4);
  });
});
