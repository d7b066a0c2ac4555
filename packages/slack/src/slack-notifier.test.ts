import { registerSecretValue, type ValidationError } from "@tributary/auth";
import { flow, task } from "@tributary/flow";
import { fakeSlackToken } from "@tributary/testing";
import { describe, expect, it } from "vitest";
import { useSlackTestEnv } from "../test/helpers.js";
import { notificationMessage, slackNotifier } from "./slack-notifier.js";

const TOKEN = fakeSlackToken("notifier");
const HOOK = "T0NOTE/B0NOTE/notifier-hook-secret";
const DB_PASSWORD = "hunter2-db-password-0451";
const env = useSlackTestEnv({ tokens: [TOKEN], webhooks: [HOOK] });

const load = task({ name: "load", retries: 1, retryDelayMs: 0 }, async () => {
  throw new Error(`connect failed for postgres://etl:${DB_PASSWORD}@db.internal/warehouse`);
});
const extract = task({ name: "extract" }, async () => 42);

function failingFlow(onFailure: ReturnType<typeof slackNotifier>) {
  return flow({ name: "nightly", secrets: ["DB_PASSWORD"], onFailure: [onFailure] }, async () => {
    await extract();
    await load();
  });
}

describe("slackNotifier", () => {
  it("posts one message for a failing flow, with no secret in it (webhook from the run's secrets)", async () => {
    const report = await failingFlow(slackNotifier()).run({
      runId: "run-0001",
      secrets: { DB_PASSWORD, SLACK_WEBHOOK_URL: env.slack.webhookUrl(HOOK) },
    });
    expect(report.state).toBe("failed");
    expect(report.hookErrors).toEqual([]);
    expect(env.slack.received.webhooks).toHaveLength(1);
    const posted = JSON.stringify(env.slack.received.webhooks[0]?.payload);
    expect(posted).not.toContain(DB_PASSWORD);
    expect(posted).toContain("[redacted]");
    const text = String(env.slack.received.webhooks[0]?.payload.text);
    expect(text).toContain("Flow *nightly* failed");
    expect(text).toContain("run `run-0001`");
    expect(posted).toContain("*load* failed after 2 attempts");
    expect(posted).toContain("connect failed for postgres://etl:[redacted]@db.internal/warehouse");
    expect(posted).not.toContain("*extract*");
  });

  it("masks a secret that the run never resolved but that was registered, and one split across escaping", async () => {
    const secret = "tok<en>&value-9876";
    registerSecretValue(secret);
    const boom = task({ name: "boom" }, async () => {
      throw new Error(`bad ${secret}`);
    });
    await flow(
      { name: "escape", onFailure: [slackNotifier({ webhookUrl: env.slack.webhookUrl(HOOK) })] },
      () => boom(),
    ).run();
    const posted = JSON.stringify(env.slack.received.webhooks[0]?.payload);
    expect(posted).not.toContain("value-9876");
    expect(posted).toContain("bad [redacted]");
  });

  it("masks the report itself: a hook handed an unmasked report still sends no secret", () => {
    const secret = "tok<en>&value-9876";
    registerSecretValue(secret);
    const message = notificationMessage({
      flow: `flow ${secret}`,
      runId: "r1",
      state: "failed",
      start: new Date(0).toISOString(),
      durationMs: 1500,
      error: { name: "Error", message: `bad ${secret}` },
      tasks: [
        {
          id: 1,
          name: "t",
          state: "failed",
          attempts: 3,
          durationMs: 20,
          error: { name: "Error", message: secret },
        },
      ],
      hookErrors: [],
    });
    const posted = JSON.stringify(message);
    expect(posted).not.toContain("value-9876");
    expect(posted).not.toContain("&amp;value");
    expect(message.text).toBe(":x: Flow *flow [redacted]* failed in 1.5 s (run `r1`)");
    expect(posted).toContain("bad [redacted]");
    expect(posted).toContain("• *t* failed after 3 attempts in 20 ms: Error: [redacted]");
  });

  it("posts with chat.postMessage to a channel with the bot token, with a mention", async () => {
    process.env.SLACK_BOT_TOKEN = TOKEN;
    const notifier = slackNotifier({ channel: "#general", mention: "<!here>", endpoint: env.slack.apiUrl });
    await failingFlow(notifier).run({ secrets: { DB_PASSWORD } });
    expect(env.slack.received.messages).toHaveLength(1);
    const [message] = env.slack.received.messages;
    expect(message?.channel).toBe("C0GENERAL");
    expect(message?.text).toMatch(/^<!here> :x: Flow \*nightly\* failed/);
    expect(JSON.stringify(message?.args)).not.toContain(DB_PASSWORD);
    expect(
      env.logs.some((l) => l.message === "SLACK_BOT_TOKEN from default-chain (env SLACK_BOT_TOKEN)"),
    ).toBe(true);
  });

  it.each([
    { on: undefined, state: "completed", posts: 0 },
    { on: ["success"] as const, state: "completed", posts: 1 },
    { on: ["success"] as const, state: "failed", posts: 0 },
    { on: ["failure", "success"] as const, state: "failed", posts: 1 },
  ])("with on=$on a $state run posts $posts message(s)", async ({ on, state, posts }) => {
    const hook = slackNotifier({ webhookUrl: env.slack.webhookUrl(HOOK), ...(on ? { on } : {}) });
    const body = state === "completed" ? () => extract() : () => load();
    const report = await flow({ name: "f", onSuccess: [hook], onFailure: [hook] }, body).run();
    expect(report.state).toBe(state);
    expect(env.slack.received.webhooks).toHaveLength(posts);
    if (posts && state === "completed") {
      expect(String(env.slack.received.webhooks[0]?.payload.text)).toContain(
        ":white_check_mark: Flow *f* completed",
      );
    }
  });

  it("a notifier whose webhook is refused is recorded as a hook error, and the run keeps its own error", async () => {
    const hook = slackNotifier({ webhookUrl: env.slack.webhookUrl("T0NOTE/B0NOTE/wrong") });
    const report = await failingFlow(hook).run({ secrets: { DB_PASSWORD } });
    expect(report.error?.message).toContain("connect failed");
    expect(report.hookErrors).toEqual([
      { hook: "onFailure[0]", error: expect.objectContaining({ name: "CredentialRejectedError" }) },
    ]);
  });

  it.each([
    { options: { on: [] }, option: "on" },
    { options: { on: ["always"] }, option: "on" },
    { options: { channel: "" }, option: "channel" },
    { options: { channel: "#x", webhookUrl: "https://hooks.slack.com/services/T/B/x" }, option: "channel" },
    { options: { token: "xoxb-x" }, option: "token" },
    { options: { maxTasks: 0 }, option: "maxTasks" },
  ])("bad options $options are a ValidationError when the hook is made", ({ options, option }) => {
    expect(() => slackNotifier(options as never)).toThrowError(
      expect.objectContaining({ name: "ValidationError", option }) as unknown as ValidationError,
    );
  });
});
