import { localStore, MissingCredentialsError } from "@tributary/auth";
import { flow } from "@tributary/flow";
import { fakeSlackToken } from "@tributary/testing";
import { describe, expect, it } from "vitest";
import { useSlackTestEnv } from "../test/helpers.js";
import { slackMessage } from "./slack-message.js";
import { slackWebhook } from "./slack-webhook.js";

const KINDS = ["argument", "run", "env", "store", "default-chain"] as const;
type Kind = (typeof KINDS)[number];

const TOKENS: Record<Kind, string> = {
  argument: fakeSlackToken("argument"),
  run: fakeSlackToken("run"),
  env: fakeSlackToken("env"),
  store: fakeSlackToken("store"),
  "default-chain": fakeSlackToken("default-chain"),
};
const HOOKS: Record<Kind, string> = {
  argument: "T001/B001/argument",
  run: "T002/B002/run",
  env: "T003/B003/env",
  store: "T004/B004/store",
  "default-chain": "T005/B005/plain",
};

const env = useSlackTestEnv({
  tokens: [...Object.values(TOKENS), "xoxb-team-b"],
  webhooks: [...Object.values(HOOKS), "T009/B009/team-b"],
});

const DETAIL: Record<Kind, (name: string) => RegExp> = {
  argument: () => /^argument \((token|webhookUrl)\)$/,
  run: () => /^run \(run /,
  env: (name) => new RegExp(`^env \\(TRIBUTARY__CONTEXT__SECRETS__${name}\\)$`),
  store: () => /^store \(.*secrets\.json\)$/,
  "default-chain": (name) => new RegExp(`^default-chain \\(env ${name}\\)$`),
};

/**
 * Sets the secret in `winner` and every lower source (each with its own value), so the test proves both that the
 * source is read and that it wins over the ones below it. Returns the run secrets and the argument to use.
 */
async function arrange(name: string, values: Record<Kind, string>, winner: Kind) {
  const rank = KINDS.indexOf(winner);
  const at = (k: Kind) => KINDS.indexOf(k) >= rank;
  if (at("default-chain")) process.env[name] = values["default-chain"];
  if (at("store")) await localStore().set(name, values.store);
  if (at("env")) process.env[`TRIBUTARY__CONTEXT__SECRETS__${name}`] = values.env;
  return {
    secrets: at("run") ? { [name]: values.run } : {},
    argument: at("argument") ? values.argument : undefined,
  };
}

function provenance(name: string): string[] {
  return env.logs
    .filter((r) => r.message.startsWith(`${name} from `))
    .map((r) => r.message.slice(name.length + 6));
}

describe("SLACK_BOT_TOKEN from each source, end to end", () => {
  it.each(KINDS)("%s", async (kind) => {
    const { secrets, argument } = await arrange("SLACK_BOT_TOKEN", TOKENS, kind);
    const report = await flow({ name: "post" }, () =>
      slackMessage({
        channel: "C0GENERAL",
        text: `via ${kind}`,
        endpoint: env.slack.apiUrl,
        ...(argument ? { token: argument } : {}),
      }),
    ).run({ secrets });
    expect(report.state).toBe("completed");
    expect(env.slack.received.messages.map((m) => [m.token, m.text])).toEqual([
      [TOKENS[kind], `via ${kind}`],
    ]);
    if (kind !== "argument")
      expect(provenance("SLACK_BOT_TOKEN")).toEqual([expect.stringMatching(DETAIL[kind]("SLACK_BOT_TOKEN"))]);
  });

  it("reads a token named with secretName, ignoring SLACK_BOT_TOKEN", async () => {
    process.env.SLACK_BOT_TOKEN = TOKENS["default-chain"];
    await localStore().set("TEAM_B_TOKEN", "xoxb-team-b");
    await slackMessage({
      channel: "C0GENERAL",
      text: "b",
      endpoint: env.slack.apiUrl,
      secretName: "TEAM_B_TOKEN",
    });
    expect(env.slack.received.messages.map((m) => m.token)).toEqual(["xoxb-team-b"]);
  });

  it("a secretName found nowhere is MissingCredentialsError, with no fallback and no request", async () => {
    process.env.SLACK_BOT_TOKEN = TOKENS["default-chain"];
    const error = await slackMessage({
      channel: "C0GENERAL",
      text: "b",
      endpoint: env.slack.apiUrl,
      secretName: "TEAM_C_TOKEN",
    }).catch((e) => e);
    expect(MissingCredentialsError.isInstance(error)).toBe(true);
    expect(error.message).toContain("TEAM_C_TOKEN");
    expect(env.slack.requests).toEqual([]);
  });

  it("no token anywhere lists every source tried and how to set it", async () => {
    const error = await slackMessage({ channel: "C0GENERAL", text: "x", endpoint: env.slack.apiUrl }).catch(
      (e) => e,
    );
    expect(MissingCredentialsError.isInstance(error)).toBe(true);
    for (const where of [
      "token",
      "TRIBUTARY__CONTEXT__SECRETS__SLACK_BOT_TOKEN",
      "tributary secrets set",
      "export SLACK_BOT_TOKEN",
    ]) {
      expect(error.message).toContain(where);
    }
    expect(env.slack.requests).toEqual([]);
  });
});

describe("SLACK_WEBHOOK_URL from each source, end to end", () => {
  it.each(KINDS)("%s", async (kind) => {
    const urls = Object.fromEntries(KINDS.map((k) => [k, env.slack.webhookUrl(HOOKS[k])])) as Record<
      Kind,
      string
    >;
    const { secrets, argument } = await arrange("SLACK_WEBHOOK_URL", urls, kind);
    const report = await flow({ name: "notify" }, () =>
      slackWebhook({ text: `via ${kind}`, ...(argument ? { webhookUrl: argument } : {}) }),
    ).run({ secrets });
    expect(report.state).toBe("completed");
    expect(env.slack.received.webhooks).toEqual([{ path: HOOKS[kind], payload: { text: `via ${kind}` } }]);
    if (kind !== "argument") {
      expect(provenance("SLACK_WEBHOOK_URL")).toEqual([
        expect.stringMatching(DETAIL[kind]("SLACK_WEBHOOK_URL")),
      ]);
    }
    // The URL is the secret: it never appears in a log line.
    expect(JSON.stringify(env.logs)).not.toContain(HOOKS[kind]);
  });

  it("reads a webhook named with secretName from the run's secrets", async () => {
    process.env.SLACK_WEBHOOK_URL = env.slack.webhookUrl(HOOKS["default-chain"]);
    await flow({ name: "b" }, () => slackWebhook({ text: "b", secretName: "TEAM_B_WEBHOOK" })).run({
      secrets: { TEAM_B_WEBHOOK: env.slack.webhookUrl("T009/B009/team-b") },
    });
    expect(env.slack.received.webhooks.map((w) => w.path)).toEqual(["T009/B009/team-b"]);
  });
});
