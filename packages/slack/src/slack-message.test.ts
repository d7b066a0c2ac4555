import { CredentialRejectedError, ServiceError, TributaryError, ValidationError } from "@tributary/auth";
import { flow, TaskTimeoutError, task } from "@tributary/flow";
import { fakeSlackToken } from "@tributary/testing";
import { describe, expect, it } from "vitest";
import { useSlackTestEnv } from "../test/helpers.js";
import { slackMessage } from "./slack-message.js";

const TOKEN = fakeSlackToken("message");
const env = useSlackTestEnv({ tokens: [TOKEN] });
const base = () => ({ token: TOKEN, endpoint: env.slack.apiUrl });

describe("slackMessage", () => {
  it("posts the exact text and blocks with chat.postMessage, then replies in the thread", async () => {
    const blocks = [{ type: "section", text: { type: "mrkdwn", text: "*Load* done" } }];
    const first = await slackMessage({ ...base(), channel: "#general", text: "Load done", blocks });
    const reply = await slackMessage({
      ...base(),
      channel: first.channel,
      text: "details",
      threadTs: first.ts,
    });
    expect(first.channel).toBe("C0GENERAL");
    expect(
      env.slack.received.messages.map(({ channel, text, blocks, threadTs }) => ({
        channel,
        text,
        blocks,
        threadTs,
      })),
    ).toEqual([
      { channel: "C0GENERAL", text: "Load done", blocks, threadTs: undefined },
      { channel: "C0GENERAL", text: "details", blocks: undefined, threadTs: first.ts },
    ]);
    expect(reply.ts).not.toBe(first.ts);
  });

  it.each([
    { name: "no channel", options: { text: "x" }, option: "channel" },
    { name: "no text nor blocks", options: { channel: "C0GENERAL" }, option: "text" },
    { name: "blocks not an array", options: { channel: "C0GENERAL", blocks: "x" }, option: "blocks" },
    {
      name: "a block without type",
      options: { channel: "C0GENERAL", blocks: [{ text: "x" }] },
      option: "blocks",
    },
    {
      name: "a bad endpoint",
      options: { channel: "C0GENERAL", text: "x", endpoint: "ftp://x" },
      option: "endpoint",
    },
    {
      name: "negative maxRateLimitRetries",
      options: { channel: "C0GENERAL", text: "x", maxRateLimitRetries: -1 },
      option: "maxRateLimitRetries",
    },
    {
      name: "a malformed token",
      options: { channel: "C0GENERAL", text: "x", token: "not-a-token" },
      option: "SLACK_BOT_TOKEN",
    },
  ])("$name is a typed error before any request", async ({ options, option }) => {
    const error = await slackMessage({ ...base(), ...(options as object) } as never).catch((e) => e);
    expect(TributaryError.isInstance(error)).toBe(true);
    expect(error.retryable).toBe(false);
    if (ValidationError.isInstance(error)) expect(error.option).toBe(option);
    else expect(error.message).toContain(option);
    expect(env.slack.requests).toEqual([]);
  });

  it.each([{ name: "a token Slack does not know", token: "xoxb-revoked", code: "invalid_auth" }])(
    "$name is a CredentialRejectedError naming the source, never retried",
    async ({ token, code }) => {
      const withRetries = task({ name: "post", retries: 3, retryDelayMs: 0 }, () =>
        slackMessage({ channel: "C0GENERAL", text: "x", token, endpoint: env.slack.apiUrl }),
      );
      const error = await withRetries().catch((e) => e);
      expect(CredentialRejectedError.isInstance(error)).toBe(true);
      expect([error.code, error.reason]).toEqual(["CREDENTIAL_REJECTED", code]);
      expect(error.message).toContain(code);
      expect(error.message).toContain("argument (token)");
      expect(error.message).not.toContain(token);
      expect(env.slack.requests).toHaveLength(1);
    },
  );

  it.each([
    { name: "not_in_channel", channel: "C0RANDOM", fault: undefined, hint: "/invite", code: "ACCESS_DENIED" },
    {
      name: "channel_not_found",
      channel: "C0MISSING",
      fault: undefined,
      hint: "channel id",
      code: "NOT_FOUND",
    },
    {
      name: "invalid_blocks",
      channel: "C0GENERAL",
      fault: "invalid_blocks",
      hint: "Block Kit",
      code: "BAD_REQUEST",
    },
    {
      name: "token_revoked",
      channel: "C0GENERAL",
      fault: "token_revoked",
      hint: undefined,
      code: "CREDENTIAL_REJECTED",
    },
    {
      name: "missing_scope",
      channel: "C0GENERAL",
      fault: "missing_scope",
      hint: undefined,
      code: "CREDENTIAL_REJECTED",
    },
  ])(
    "Slack's $name is a typed $code error with Slack's reason, not retried",
    async ({ name, channel, fault, hint, code }) => {
      if (fault) env.slack.failNext(1, 200, { body: { ok: false, error: fault, needed: "chat:write" } });
      const post = task({ name: "post", retries: 2, retryDelayMs: 0 }, () =>
        slackMessage({ ...base(), channel, text: "x" }),
      );
      const error = await post().catch((e) => e);
      const credential = name === "token_revoked" || name === "missing_scope";
      expect(credential ? CredentialRejectedError.isInstance(error) : ServiceError.isInstance(error)).toBe(
        true,
      );
      expect([error.code, error.reason]).toEqual([code, name]);
      expect(error.retryable).toBe(false);
      expect(error.message).toContain(name);
      if (hint) expect(error.message).toContain(hint);
      if (name === "missing_scope") expect(error.message).toContain("chat:write");
      expect(env.slack.requests).toHaveLength(1);
    },
  );

  it("a 429 is retried after Retry-After, then succeeds", async () => {
    env.slack.rateLimitNext(2, { retryAfterSeconds: 0, method: "chat.postMessage" });
    const result = await flow({ name: "limited" }, () =>
      slackMessage({ ...base(), channel: "C0GENERAL", text: "late" }),
    ).run();
    expect(result.state).toBe("completed");
    expect(env.slack.requests.map((r) => r.status)).toEqual([429, 429, 200]);
    expect(env.slack.received.messages.map((m) => m.text)).toEqual(["late"]);
    expect(env.logs.filter((l) => l.message.includes("rate-limited")).map((l) => l.level)).toEqual([
      "warn",
      "warn",
    ]);
  });

  it("a permanent 429 ends after maxRateLimitRetries with a retryable ServiceError", async () => {
    env.slack.rateLimitNext(100, { retryAfterSeconds: 1 });
    const error = await slackMessage({
      ...base(),
      channel: "C0GENERAL",
      text: "x",
      maxRateLimitRetries: 2,
    }).catch((e) => e);
    expect(ServiceError.isInstance(error)).toBe(true);
    expect([error.code, error.reason, error.status, error.retryable]).toEqual([
      "THROTTLED",
      "ratelimited",
      429,
      true,
    ]);
    expect(error.message).toContain("maxRateLimitRetries");
    expect(env.slack.requests).toHaveLength(3);
  });

  it("a Retry-After longer than maxRetryAfterSeconds fails at once instead of waiting", async () => {
    env.slack.rateLimitNext(1, { retryAfterSeconds: 1800 });
    const error = await slackMessage({ ...base(), channel: "C0GENERAL", text: "x" }).catch((e) => e);
    expect([error.code, error.retryable]).toEqual(["THROTTLED", true]);
    expect(error.message).toContain("1800 s");
    expect(env.slack.requests).toHaveLength(1);
  });

  it("the stand-in's own rate limit (a 429 per window) is honoured the same way", async () => {
    const post = () => slackMessage({ ...base(), channel: "C0GENERAL", text: "x", maxRateLimitRetries: 0 });
    env.slack.rateLimitNext(1, { retryAfterSeconds: 0 });
    expect((await post().catch((e) => e)).code).toBe("THROTTLED");
    await post();
    expect(env.slack.requests.map((r) => r.status)).toEqual([429, 200]);
  });

  it("a 500 is retried a couple of times by the SDK, then is a retryable ServiceError", async () => {
    env.slack.failNext(10, 500, { body: "boom" });
    const error = await slackMessage({ ...base(), channel: "C0GENERAL", text: "x" }).catch((e) => e);
    expect(ServiceError.isInstance(error)).toBe(true);
    expect([error.status, error.retryable]).toEqual([500, true]);
    expect(env.slack.requests).toHaveLength(3);
  });

  it("a task timeout ends a hanging call with TaskTimeoutError", async () => {
    env.slack.delayNext(1, 5_000);
    const post = task({ name: "post", timeoutMs: 200 }, () =>
      slackMessage({ ...base(), channel: "C0GENERAL", text: "x" }),
    );
    const error = await post().catch((e) => e);
    expect(TaskTimeoutError.isInstance(error)).toBe(true);
    expect(env.slack.received.messages).toEqual([]);
  });

  it("reuses one client per token and endpoint", async () => {
    const { clientCache } = await import("@tributary/auth");
    const before = clientCache.stats().created;
    for (let i = 0; i < 5; i++) await slackMessage({ ...base(), channel: "C0GENERAL", text: `n${i}` });
    expect(clientCache.stats().created - before).toBe(1);
  });
});
