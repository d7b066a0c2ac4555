import type { ChatPostMessageArguments } from "@slack/web-api";
import { ValidationError } from "@tributary/auth";
import { task, taskContext } from "@tributary/flow";
import { checkMessage, checkOptionalString, type SlackBlock } from "./message-input.js";
import { checkRateLimitOptions, type RateLimitOptions, runSlackCall } from "./slack-call.js";
import { resolveSlackClient, type SlackClientOptions } from "./slack-client.js";

/** The options of `slackMessage`. */
export interface SlackMessageOptions extends SlackClientOptions, RateLimitOptions {
  /** The channel id (`C0123…`) or name (`#general`). The app must be in it (`not_in_channel` otherwise). */
  channel: string;
  /** The message text (mrkdwn). Required unless `blocks` is given; with blocks it is the notification fallback. */
  text?: string;
  /** Block Kit blocks. */
  blocks?: SlackBlock[];
  /** Reply in this thread (the parent message's `ts`). */
  threadTs?: string;
  /** With `threadTs`, also show the reply in the channel. */
  replyBroadcast?: boolean;
  /** Whether Slack unfurls links in the text. */
  unfurlLinks?: boolean;
}

/** What `slackMessage` resolves to. */
export interface SlackMessageResult {
  /** The channel id the message went to. */
  channel: string;
  /** The message's `ts`, its id (pass it as `threadTs` to reply). */
  ts: string;
}

/**
 * Posts a message with `chat.postMessage`. The token comes from `token`, or the secret `SLACK_BOT_TOKEN` (or
 * `secretName`) through Tributary's resolution order, ending at the env var `SLACK_BOT_TOKEN`. `invalid_auth`,
 * `token_revoked` … are a `CredentialRejectedError` naming the token's source; `not_in_channel`,
 * `channel_not_found`, `invalid_blocks` … a `ServiceError` with Slack's code; none is retried. A 429 is retried
 * after its `Retry-After`, up to `maxRateLimitRetries` times.
 * @example
 * const { ts } = await slackMessage({ channel: "#data", text: "Load started" });
 * await slackMessage({ channel: "#data", text: "Load finished", threadTs: ts });
 */
export const slackMessage = task(
  { name: "slackMessage" },
  async (options: SlackMessageOptions): Promise<SlackMessageResult> => {
    const limits = checkRateLimitOptions(options ?? {});
    if (typeof options.channel !== "string" || options.channel.trim() === "") {
      throw new ValidationError("channel", "give a channel id (C0123…) or name (#general)");
    }
    checkMessage(options.text, options.blocks);
    checkOptionalString("threadTs", options.threadTs);
    const { client, source } = await resolveSlackClient(options);
    const context = taskContext();
    const args = {
      channel: options.channel,
      ...(options.text !== undefined ? { text: options.text } : {}),
      ...(options.blocks ? { blocks: options.blocks } : {}),
      ...(options.threadTs ? { thread_ts: options.threadTs } : {}),
      ...(options.replyBroadcast !== undefined ? { reply_broadcast: options.replyBroadcast } : {}),
      ...(options.unfurlLinks !== undefined ? { unfurl_links: options.unfurlLinks } : {}),
    } as ChatPostMessageArguments;
    const result = await runSlackCall(() => client.chat.postMessage(args), {
      ...limits,
      what: "chat.postMessage",
      source,
      signal: context?.signal,
      log: context?.log,
    });
    return { channel: result.channel ?? options.channel, ts: result.ts ?? "" };
  },
);
