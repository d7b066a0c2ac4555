import { basename } from "node:path";
import type { Readable } from "node:stream";
import type { FilesCompleteUploadExternalArguments } from "@slack/web-api";
import { ServiceError, ValidationError } from "@tributary/auth";
import { task, taskContext } from "@tributary/flow";
import { openUploadSource, serviceErrorCode } from "@tributary/integration-kit";
import { scopedFetch } from "./call-scope.js";
import { checkOptionalString } from "./message-input.js";
import { checkRateLimitOptions, type RateLimitOptions, runSlackCall } from "./slack-call.js";
import { resolveSlackClient, type SlackClientOptions } from "./slack-client.js";

/** The largest file Slack accepts (1 GB). */
export const SLACK_MAX_FILE_BYTES = 1024 ** 3;

/** The options of `slackUpload`. Give exactly one of `file` (a path) and `body` (text, bytes or a stream). */
export interface SlackUploadOptions extends SlackClientOptions, RateLimitOptions {
  /** Channel ids to share the file in (at most 100). Omitted: the file is uploaded privately, visible to the app only. */
  channels?: string | readonly string[];
  /** A path to a file. Read whole before the upload: Slack needs the length first. */
  file?: string;
  /** The file's contents: text (sent as UTF-8), bytes, or a stream of them. */
  body?: string | Uint8Array | Readable;
  /** The file name shown in Slack. Default: the base name of `file`; required with `body`. */
  filename?: string;
  /** The file's title. Default: the file name. */
  title?: string;
  /** A message posted with the file. */
  initialComment?: string;
  /** Share the file as a reply in this thread (needs exactly one channel). */
  threadTs?: string;
  /** A description of an image for screen readers. */
  altText?: string;
  /** The syntax of a snippet, such as `python`. */
  snippetType?: string;
}

/** What `slackUpload` resolves to. */
export interface SlackUploadResult {
  /** The file's id. */
  fileId: string;
  /** The file's title. */
  title: string;
  /** Its size in bytes. */
  size: number;
  /** The channels it was shared in. */
  channels: string[];
  /** Its permalink, when Slack gave one. */
  permalink?: string;
}

function checkChannels(channels: SlackUploadOptions["channels"]): string[] {
  if (channels === undefined) return [];
  const list = typeof channels === "string" ? [channels] : channels;
  if (
    !Array.isArray(list) ||
    list.length > 100 ||
    list.some((c) => typeof c !== "string" || !/^[A-Z0-9]+$/i.test(c))
  ) {
    throw new ValidationError(
      "channels",
      "must be a channel id (C0123…) or an array of at most 100 ids; names such as #general are not accepted here",
    );
  }
  return [...list];
}

async function readAll(body: Buffer | Readable, option: string): Promise<Buffer> {
  if (Buffer.isBuffer(body)) return body;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
    size += buf.length;
    if (size > SLACK_MAX_FILE_BYTES) {
      body.destroy();
      throw new ValidationError(option, "is larger than Slack's 1 GB limit");
    }
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}

function checkUploadUrl(value: unknown): string {
  try {
    const url = new URL(String(value));
    const loopback = url.hostname === "127.0.0.1" || url.hostname === "localhost" || url.hostname === "[::1]";
    if (url.protocol === "https:" || (url.protocol === "http:" && loopback)) return url.href;
  } catch {
    // reported below
  }
  throw new ServiceError(
    "BAD_RESPONSE",
    "Slack",
    "files.getUploadURLExternal answered no usable https upload URL",
    200,
    { reason: "invalid_upload_url" },
  );
}

/**
 * Uploads a file with Slack's external-upload flow: `files.getUploadURLExternal`, the bytes to the URL it gives,
 * then `files.completeUploadExternal` to share it in `channels`. The token comes from `token`, or the secret
 * `SLACK_BOT_TOKEN` (or `secretName`), ending at the env var `SLACK_BOT_TOKEN`; the token is never sent to the
 * upload URL. Each step retries a 429 after its `Retry-After`, up to `maxRateLimitRetries` times.
 * @example
 * await slackUpload({ channels: "C0123ABCD", file: "./report.csv", title: "Nightly report" });
 * await slackUpload({ channels: ["C0123ABCD"], body: "id,total\n1,42\n", filename: "totals.csv" });
 */
export const slackUpload = task(
  { name: "slackUpload" },
  async (options: SlackUploadOptions): Promise<SlackUploadResult> => {
    const limits = checkRateLimitOptions(options ?? {});
    const channels = checkChannels(options.channels);
    for (const key of ["title", "initialComment", "threadTs", "altText", "snippetType"] as const) {
      checkOptionalString(key, options[key]);
    }
    if (options.threadTs !== undefined && channels.length !== 1) {
      throw new ValidationError("threadTs", "a threaded upload needs exactly one channel in `channels`");
    }
    const filename =
      options.filename ?? (typeof options.file === "string" ? basename(options.file) : undefined);
    const opened = await openUploadSource({
      ...(options.file !== undefined ? { file: options.file } : {}),
      ...(options.body !== undefined ? { body: options.body } : {}),
    });
    const given = options.file !== undefined ? "file" : "body";
    if (typeof filename !== "string" || filename.trim() === "") {
      (opened.body as Readable).destroy?.();
      throw new ValidationError("filename", "give a file name (it is required with `body`)");
    }
    if (opened.size !== undefined && opened.size > SLACK_MAX_FILE_BYTES) {
      (opened.body as Readable).destroy?.();
      throw new ValidationError(given, "is larger than Slack's 1 GB limit");
    }
    const data = await readAll(opened.body, given);
    if (data.length === 0) throw new ValidationError(given, "is empty; Slack does not accept empty files");

    const { client, source } = await resolveSlackClient(options);
    const context = taskContext();
    const call = { ...limits, source, signal: context?.signal, log: context?.log };

    const target = await runSlackCall(
      () =>
        client.files.getUploadURLExternal({
          filename,
          length: data.length,
          ...(options.altText ? { alt_text: options.altText } : {}),
          ...(options.snippetType ? { snippet_type: options.snippetType } : {}),
        }),
      { ...call, what: "files.getUploadURLExternal" },
    );
    const fileId = target.file_id;
    if (!fileId)
      throw new ServiceError("BAD_RESPONSE", "Slack", "files.getUploadURLExternal answered no file_id", 200, {
        reason: "invalid_response",
      });
    const uploadUrl = checkUploadUrl(target.upload_url);

    await runSlackCall(
      async () => {
        const response = await scopedFetch(uploadUrl, {
          method: "POST",
          headers: { "content-type": "application/octet-stream" },
          body: data,
        });
        await response.arrayBuffer().catch(() => undefined);
        if (response.status !== 200) {
          throw new ServiceError(
            serviceErrorCode(response.status),
            "Slack",
            `the upload of ${filename} answered HTTP ${response.status}`,
            response.status,
            { retryable: response.status >= 500, reason: "upload_failed" },
          );
        }
      },
      { ...call, what: `the upload of ${filename}` },
    );

    const title = options.title ?? filename;
    const done = await runSlackCall(
      () =>
        client.files.completeUploadExternal({
          files: [{ id: fileId, title }],
          ...(channels.length === 1 ? { channel_id: channels[0] } : {}),
          ...(channels.length > 1 ? { channels: channels.join(",") } : {}),
          ...(options.initialComment ? { initial_comment: options.initialComment } : {}),
          ...(options.threadTs ? { thread_ts: options.threadTs } : {}),
        } as FilesCompleteUploadExternalArguments),
      { ...call, what: "files.completeUploadExternal" },
    );
    const file = done.files?.[0] as { title?: string; permalink?: string } | undefined;
    return {
      fileId,
      title: file?.title ?? title,
      size: data.length,
      channels,
      ...(file?.permalink ? { permalink: file.permalink } : {}),
    };
  },
);
