import type { MessageAttachment } from "@slack/web-api";
import { task, taskContext } from "@tributary/flow";
import { checkMessage, checkOptionalString, type SlackBlock } from "./message-input.js";
import { checkRateLimitOptions, type RateLimitOptions, runSlackCall } from "./slack-call.js";
import { resolveWebhook, type WebhookCredentialOptions } from "./slack-client.js";

/** The options of `slackWebhook`. */
export interface SlackWebhookOptions extends WebhookCredentialOptions, RateLimitOptions {
  /** The message text (mrkdwn). Required unless `blocks` is given; with blocks it is the notification fallback. */
  text?: string;
  /** Block Kit blocks. */
  blocks?: SlackBlock[];
  /** Legacy attachments. */
  attachments?: MessageAttachment[];
  /** Reply in this thread (the parent message's `ts`). */
  threadTs?: string;
  /** Whether Slack unfurls links in the text. */
  unfurlLinks?: boolean;
}

/** What `slackWebhook` resolves to. */
export interface SlackWebhookResult {
  /** Slack's answer (`"ok"`). */
  response: string;
}

/**
 * Posts a message to a Slack incoming webhook (the `SlackTask` of the recipe). The URL comes from `webhookUrl`, or
 * the secret `SLACK_WEBHOOK_URL` (or `secretName`) through Tributary's resolution order, ending at the env var
 * `SLACK_WEBHOOK_URL`. A URL that is not an https `hooks.slack.com` webhook URL fails before any request. A 429
 * is retried after its `Retry-After` (`maxRateLimitRetries`); a revoked or unknown webhook is a
 * `CredentialRejectedError` that names where the URL came from.
 * @example
 * await slackWebhook({ text: "Nightly load finished :white_check_mark:" });
 */
export const slackWebhook = task(
  { name: "slackWebhook" },
  async (options: SlackWebhookOptions): Promise<SlackWebhookResult> => {
    const limits = checkRateLimitOptions(options ?? {});
    checkMessage(options.text, options.blocks);
    checkOptionalString("threadTs", options.threadTs);
    const { webhook, source } = await resolveWebhook(options);
    const context = taskContext();
    const result = await runSlackCall(
      () =>
        webhook.send({
          ...(options.text !== undefined ? { text: options.text } : {}),
          ...(options.blocks ? { blocks: options.blocks } : {}),
          ...(options.attachments ? { attachments: options.attachments } : {}),
          ...(options.threadTs ? { thread_ts: options.threadTs } : {}),
          ...(options.unfurlLinks !== undefined ? { unfurl_links: options.unfurlLinks } : {}),
        } as Parameters<typeof webhook.send>[0]),
      { ...limits, what: "the webhook post", source, signal: context?.signal, log: context?.log },
    );
    return { response: result.text };
  },
);
