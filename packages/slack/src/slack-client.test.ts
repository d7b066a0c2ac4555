import { ErrorCode } from "@slack/web-api";
import { clientCache, ValidationError } from "@tributary/auth";
import { fakeSlackToken } from "@tributary/testing";
import { describe, expect, it } from "vitest";
import { useSlackTestEnv } from "../test/helpers.js";
import { slackClient } from "./slack-client.js";
import { slackIdentity } from "./slack-identity.js";
import { slackMessage } from "./slack-message.js";
import { slackNotifier } from "./slack-notifier.js";

const TOKEN = fakeSlackToken("client");
const OTHER_TOKEN = fakeSlackToken("client-other");
const env = useSlackTestEnv({ tokens: [TOKEN, OTHER_TOKEN] });

describe("slackClient", () => {
  it("gives a WebClient with the resolved token, pointed at the endpoint", async () => {
    process.env.TRIBUTARY__CONTEXT__SECRETS__SLACK_BOT_TOKEN = TOKEN;
    const client = await slackClient({ endpoint: env.slack.apiUrl });
    expect(await client.auth.test()).toMatchObject({ ok: true, team: "Stand-in" });
    const names: string[] = [];
    for await (const page of client.paginate("conversations.list", { limit: 1 })) {
      names.push(
        ...((page as unknown as { channels?: { name: string }[] }).channels ?? []).map((c) => c.name),
      );
    }
    expect(names).toEqual(["general", "random"]);
    expect(env.slack.received.calls.map((c) => c.token)).toEqual([TOKEN, TOKEN, TOKEN]);
  });

  it("caches one client per token fingerprint and endpoint", async () => {
    const before = clientCache.stats();
    const a = await slackClient({ token: TOKEN, endpoint: env.slack.apiUrl });
    const b = await slackClient({ token: TOKEN, endpoint: env.slack.apiUrl.replace(/\/$/, "") });
    const c = await slackClient({ token: OTHER_TOKEN, endpoint: env.slack.apiUrl });
    expect(a).toBe(b);
    expect(c).not.toBe(a);
    expect(clientCache.stats().created - before.created).toBe(2);
  });

  it("rejects a rate-limited call at once instead of waiting inside the SDK", async () => {
    env.slack.rateLimitNext(1, { retryAfterSeconds: 1800 });
    const client = await slackClient({ token: TOKEN, endpoint: env.slack.apiUrl });
    const error = await client.auth.test().catch((e) => e);
    expect([error.code, error.retryAfter]).toEqual([ErrorCode.RateLimitedError, 1800]);
    expect(env.slack.requests).toHaveLength(1);
  });

  it.each([
    "not a url",
    "ftp://slack.com/api/",
    "https://slack.com/api/?x=1",
    "https://user:pw@slack.com/api/",
  ])("endpoint %s is a ValidationError", async (endpoint) => {
    const error = await slackClient({ token: TOKEN, endpoint }).catch((e) => e);
    expect(ValidationError.isInstance(error)).toBe(true);
    expect(error.option).toBe("endpoint");
  });
});

describe("SLACK_API_URL: the Web API base URL when no endpoint is given", () => {
  it.each([
    ["slackClient", async () => (await slackClient({ token: TOKEN })).auth.test()],
    ["slackIdentity", () => slackIdentity({ token: TOKEN })],
    ["slackMessage", () => slackMessage({ token: TOKEN, channel: "#general", text: "hi" })],
    [
      "slackNotifier",
      () =>
        slackNotifier({ token: TOKEN, channel: "#general" })({
          flow: "nightly",
          runId: "r1",
          state: "failed",
          start: new Date().toISOString(),
          durationMs: 1,
          tasks: [],
          hookErrors: [],
        }),
    ],
  ])("%s goes to the stand-in it names", async (_, call) => {
    process.env.SLACK_API_URL = env.slack.apiUrl;
    const before = env.slack.requests.length;
    await call();
    expect(env.slack.requests.length).toBeGreaterThan(before);
  });

  it("the endpoint option wins over it, and a bad value names the variable", async () => {
    process.env.SLACK_API_URL = "http://127.0.0.1:9/api/";
    const client = await slackClient({ token: TOKEN, endpoint: env.slack.apiUrl });
    expect(await client.auth.test()).toMatchObject({ ok: true });
    process.env.SLACK_API_URL = "ftp://slack.example/api/";
    const error = await slackClient({ token: TOKEN }).catch((e) => e);
    expect(ValidationError.isInstance(error)).toBe(true);
    expect(error.message).toContain("$SLACK_API_URL");
  });
});
