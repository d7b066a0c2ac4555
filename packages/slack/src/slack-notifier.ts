import { mask, maskValue, type Secret, ValidationError } from "@tributary/auth";
import type { FlowHook, RunReport, TaskRun } from "@tributary/flow";
import type { SlackBlock } from "./message-input.js";
import { checkRateLimitOptions, type RateLimitOptions } from "./slack-call.js";
import { checkEndpoint } from "./slack-client.js";
import { slackMessage } from "./slack-message.js";
import { slackWebhook } from "./slack-webhook.js";

/** When a notifier posts. */
export type SlackNotifyOn = "failure" | "success";

/** The options of `slackNotifier`. Give `channel` to post with a bot token, otherwise it posts to a webhook. */
export interface SlackNotifierOptions extends RateLimitOptions {
  /** Which outcomes post: `"failure"` (failed or cancelled runs) and/or `"success"`. Default `["failure"]`. */
  on?: readonly SlackNotifyOn[];
  /** Post with `chat.postMessage` to this channel (id or `#name`), with `SLACK_BOT_TOKEN`. */
  channel?: string;
  /** The bot token, when posting to `channel`. Default: the secret `SLACK_BOT_TOKEN`. */
  token?: string | Secret<string>;
  /** The webhook URL, when not posting to `channel`. Default: the secret `SLACK_WEBHOOK_URL`. */
  webhookUrl?: string | Secret<string>;
  /** Read the token (with `channel`) or the webhook URL (without) from this secret name. */
  secretName?: string;
  /** The Web API base URL (with `channel`), for a stand-in or a proxy. Default: `SLACK_API_URL`, else Slack's. */
  endpoint?: string;
  /** Text put before the summary, such as `<!here>` or `<@U0123>`. */
  mention?: string;
  /** The most failed tasks listed (default 10). */
  maxTasks?: number;
}

/** The longest error text put in a message; Slack's section blocks hold 3000 characters. */
const MAX_ERROR_CHARS = 1500;

function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** Masks first (a secret must be recognised before anything changes it), then cuts, then escapes for mrkdwn. */
function safe(text: string, max = MAX_ERROR_CHARS): string {
  const masked = mask(text);
  return escapeMrkdwn(masked.length > max ? `${masked.slice(0, max)}…` : masked);
}

function seconds(ms: number | undefined): string {
  if (ms === undefined) return "—";
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

function describeTask(t: TaskRun): string {
  const attempts = t.attempts === 1 ? "1 attempt" : `${t.attempts} attempts`;
  const error = t.error ? `: ${t.error.name}: ${t.error.message}` : "";
  return `• *${safe(t.name, 200)}* ${t.state} after ${attempts} in ${seconds(t.durationMs)}${safe(error).replace(/\n/g, " ")}`;
}

/** @internal Builds the message for a run report: every piece of text masked and escaped. */
export function notificationMessage(
  report: RunReport,
  options: { mention?: string; maxTasks?: number } = {},
): { text: string; blocks: SlackBlock[] } {
  const ok = report.state === "completed";
  const icon = ok ? ":white_check_mark:" : report.state === "cancelled" ? ":no_entry_sign:" : ":x:";
  const flowName = safe(report.flow, 200);
  const runId = safe(report.runId, 200);
  const summary = `${icon} Flow *${flowName}* ${report.state} in ${seconds(report.durationMs)} (run \`${runId}\`)`;
  const text = `${options.mention ? `${options.mention} ` : ""}${summary}`;
  const blocks: SlackBlock[] = [{ type: "section", text: { type: "mrkdwn", text } }];
  blocks.push({
    type: "section",
    fields: [
      { type: "mrkdwn", text: `*Flow*\n${flowName}` },
      { type: "mrkdwn", text: `*Run*\n\`${runId}\`` },
      { type: "mrkdwn", text: `*State*\n${report.state}` },
      { type: "mrkdwn", text: `*Duration*\n${seconds(report.durationMs)}` },
    ],
  });
  if (report.error) {
    const code = report.error.code ? ` (${safe(report.error.code, 100)})` : "";
    blocks.push({
      type: "section",
      text: {
        type: "mrkdwn",
        text: `*Error*${code}\n\`\`\`${safe(`${report.error.name}: ${report.error.message}`)}\`\`\``,
      },
    });
  }
  const failed = report.tasks.filter((t) => t.state === "failed" || t.state === "cancelled");
  if (failed.length > 0) {
    const max = options.maxTasks ?? 10;
    const lines = failed.slice(0, max).map(describeTask);
    if (failed.length > max) lines.push(`…and ${failed.length - max} more`);
    blocks.push({
      type: "section",
      text: {
        type: "mrkdwn",
        text: `*Failed tasks* (${failed.length} of ${report.tasks.length})\n${lines.join("\n")}`.slice(
          0,
          2900,
        ),
      },
    });
  } else if (report.tasks.length > 0) {
    blocks.push({
      type: "context",
      elements: [{ type: "mrkdwn", text: `${report.tasks.length} tasks, none failed` }],
    });
  }
  // Belt and braces: every string once more through the masker, after the message is assembled.
  return maskValue({ text, blocks }) as { text: string; blocks: SlackBlock[] };
}

/**
 * Makes a flow hook that posts a run's outcome to Slack: the flow name, run id, state, duration, the error and
 * each failed task with its attempts and duration. Every piece of text goes through the masker, so a secret that
 * appears in an error never reaches Slack. With `channel` it posts with `chat.postMessage` (`SLACK_BOT_TOKEN`),
 * otherwise to an incoming webhook (`SLACK_WEBHOOK_URL`); the hook runs in the run's secret scope, so the run's
 * secrets are found. Put it in `onFailure` and/or `onSuccess`; `on` says which outcomes it posts.
 * @example
 * const nightly = flow({ name: "nightly", onFailure: [slackNotifier({ channel: "#data-alerts", mention: "<!here>" })] }, body);
 */
export function slackNotifier(options: SlackNotifierOptions = {}): FlowHook {
  const on = new Set(options.on ?? ["failure"]);
  if (on.size === 0 || [...on].some((o) => o !== "failure" && o !== "success")) {
    throw new ValidationError("on", 'must list "failure" and/or "success"');
  }
  const limits = checkRateLimitOptions(options);
  if (
    options.channel !== undefined &&
    (typeof options.channel !== "string" || options.channel.trim() === "")
  ) {
    throw new ValidationError("channel", "give a channel id (C0123…) or name (#general)");
  }
  if (options.channel !== undefined && options.webhookUrl !== undefined) {
    throw new ValidationError(
      "channel",
      "give either `channel` (post with a bot token) or `webhookUrl`, not both",
    );
  }
  if (options.channel === undefined && (options.token !== undefined || options.endpoint !== undefined)) {
    throw new ValidationError(
      "token",
      "`token` and `endpoint` need `channel`; without it the notifier posts to a webhook",
    );
  }
  if (options.endpoint !== undefined) checkEndpoint(options.endpoint);
  const maxTasks = options.maxTasks ?? 10;
  if (!Number.isInteger(maxTasks) || maxTasks < 1)
    throw new ValidationError("maxTasks", "must be a positive whole number");

  return async (report: RunReport): Promise<void> => {
    const outcome: SlackNotifyOn = report.state === "completed" ? "success" : "failure";
    if (report.state === "running" || !on.has(outcome)) return;
    const message = notificationMessage(report, {
      ...(options.mention !== undefined ? { mention: options.mention } : {}),
      maxTasks,
    });
    if (options.channel !== undefined) {
      await slackMessage({
        ...limits,
        ...message,
        channel: options.channel,
        ...(options.token !== undefined ? { token: options.token } : {}),
        ...(options.secretName !== undefined ? { secretName: options.secretName } : {}),
        ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
      });
    } else {
      await slackWebhook({
        ...limits,
        ...message,
        ...(options.webhookUrl !== undefined ? { webhookUrl: options.webhookUrl } : {}),
        ...(options.secretName !== undefined ? { secretName: options.secretName } : {}),
      });
    }
  };
}
