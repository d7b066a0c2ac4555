import { type Identity, registerIdentityProbe } from "@tributary/auth";
import { resolveSlackClient, type SlackClientOptions } from "./slack-client.js";
import { toSlackError } from "./slack-errors.js";

/**
 * Proves a Slack token with `auth.test` and returns the workspace (team), the user and, for a bot token, the bot.
 * @example
 * const who = await slackIdentity();
 * console.log(who.principal, who.account); // tributary (bot B0123) Acme
 */
export async function slackIdentity(options: SlackClientOptions = {}): Promise<Identity> {
  const { client, source } = await resolveSlackClient(options);
  try {
    const out = await client.auth.test();
    return {
      name: options.secretName ?? "SLACK_BOT_TOKEN",
      service: "Slack",
      principal: `${out.user ?? out.user_id ?? "unknown user"}${out.bot_id ? ` (bot ${out.bot_id})` : ""}`,
      account: out.team ?? out.team_id,
      source,
    };
  } catch (error) {
    throw toSlackError(error, "auth.test", source);
  }
}

registerIdentityProbe("SLACK_BOT_TOKEN", (options) =>
  slackIdentity({
    ...(options.secretName !== undefined ? { secretName: options.secretName } : {}),
    ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
  }),
);
