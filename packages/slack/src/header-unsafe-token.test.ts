import { writeFileSync } from "node:fs";
import { InvalidSecretError, localStore } from "@tributary/auth";
import { fakeSlackToken } from "@tributary/testing";
import { describe, expect, it } from "vitest";
import { useSlackTestEnv } from "../test/helpers.js";
import { slackMessage } from "./slack-message.js";

const TOKEN = fakeSlackToken("header");
const env = useSlackTestEnv({ tokens: [TOKEN] });

// Characters an HTTP header cannot carry: refused as invalid before any request, marked not
// retryable: never retried as a network error.
const BAD = [
  ["a line break", "\r\n"],
  ["a control character", "\u007f"],
  ["a non-Latin-1 character", "\u20ac"],
] as const;
const SOURCES = ["argument", "env", "store", "SLACK_BOT_TOKEN"] as const;

describe("a Slack token holding a character HTTP headers cannot carry", () => {
  it.each(BAD.flatMap(([what, ch]) => SOURCES.map((via) => ({ what, ch, via }))))(
    "$what, from $via",
    async ({ ch, via }) => {
      const token = `${TOKEN.slice(0, 10)}${ch}${TOKEN.slice(10)}`;
      if (via === "env") process.env.TRIBUTARY__CONTEXT__SECRETS__SLACK_BOT_TOKEN = token;
      // Written as a hand-edited store would be: `localStore().set` itself refuses such a value.
      if (via === "store") {
        writeFileSync(
          localStore().path,
          JSON.stringify({ version: 1, secrets: { SLACK_BOT_TOKEN: token } }),
          {
            mode: 0o600,
          },
        );
      }
      if (via === "SLACK_BOT_TOKEN") process.env.SLACK_BOT_TOKEN = token;
      const error = await slackMessage({
        channel: "C0GENERAL",
        text: "x",
        endpoint: env.slack.apiUrl,
        ...(via === "argument" ? { token } : {}),
      }).catch((e) => e);
      expect(InvalidSecretError.isInstance(error), String(error)).toBe(true);
      expect(error.retryable).toBe(false);
      expect(error.message).toMatch(/SLACK_BOT_TOKEN .*at position 11, which an HTTP header cannot carry/);
      expect(error.message).not.toContain(TOKEN.slice(10));
      expect(env.slack.requests).toEqual([]);
    },
  );
});
