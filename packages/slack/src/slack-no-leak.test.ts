import { flow } from "@tributary/flow";
import { failureOutputs, fakeSlackToken, findSecretTraces } from "@tributary/testing";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { useSlackTestEnv } from "../test/helpers.js";
import { slackMessage } from "./slack-message.js";
import { slackWebhook } from "./slack-webhook.js";

const env = useSlackTestEnv({ webhooks: ["T0HOOK/B0HOOK/known"] });

/** Runs `call` in a flow run given `secrets`, and returns every text its failure produced. */
const outputsOf = (secrets: Record<string, unknown>, call: () => Promise<unknown>) =>
  failureOutputs(
    (body, sink) => flow({ name: "no-leak", logger: { level: "debug", sink } }, body).run({ secrets }),
    call,
  );

const label = fc.stringMatching(/^[a-z0-9]{1,12}$/);

describe("no credential in any output when Slack rejects it with a body that echoes the request", () => {
  it("a bot token", async () => {
    await fc.assert(
      fc.asyncProperty(label, async (name) => {
        const token = fakeSlackToken(name);
        env.slack.failNext(1, 200, { echo: true, body: { ok: false, error: "invalid_auth" } });
        const outputs = await outputsOf({ SLACK_BOT_TOKEN: token }, () =>
          slackMessage({ endpoint: env.slack.apiUrl, channel: "#general", text: "x" }),
        );
        expect(outputs["inspect(error, { depth: Infinity })"]).toContain("invalid_auth");
        expect(findSecretTraces(outputs, { SLACK_BOT_TOKEN: token })).toEqual([]);
      }),
      { numRuns: 6 },
    );
  });

  it("a webhook URL", async () => {
    await fc.assert(
      fc.asyncProperty(label, async (name) => {
        const url = env.slack.webhookUrl(`T0${name}/B0${name}/${fakeSlackToken(name).slice(5)}`);
        env.slack.failNext(1, 403, { echo: true, body: "invalid_token {{echo}}" });
        const outputs = await outputsOf({ SLACK_WEBHOOK_URL: url }, () => slackWebhook({ text: "x" }));
        expect(outputs["inspect(error, { depth: Infinity })"]).toContain("403");
        expect(findSecretTraces(outputs, { SLACK_WEBHOOK_URL: url })).toEqual([]);
      }),
      { numRuns: 6 },
    );
  });
});
