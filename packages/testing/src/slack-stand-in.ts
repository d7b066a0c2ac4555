import { randomBytes } from "node:crypto";
import { type RequestMatcher, route, type StandIn, type StandInRequest, startStandIn } from "./stand-in.js";

/** A channel the Slack stand-in knows. */
export interface SlackStandInChannel {
  /** The channel id, such as `C0GENERAL`. */
  id: string;
  /** The channel name without `#`, such as `general`. */
  name: string;
  /** Whether the bot is a member; posting to a channel it is not in answers `not_in_channel`. Default true. */
  isMember?: boolean;
}

/** Rate limiting applied per method (or per webhook) and token, in fixed windows. */
export interface SlackStandInRateLimit {
  /** Requests answered per window; the next ones get 429 with `Retry-After`. `0` limits every request. */
  limit: number;
  /** The window in milliseconds. Default 60 000. */
  windowMs?: number;
  /** The `Retry-After` value sent, in seconds. Default 1. */
  retryAfterSeconds?: number;
}

/** The options of `startSlackStandIn`. */
export interface SlackStandInOptions {
  /** Tokens the Web API accepts (`Authorization: Bearer …` or a `token` field). Any other answers `invalid_auth`. */
  tokens?: readonly string[];
  /**
   * Incoming webhooks, as the part after `/services/` (`T000/B000/secret`). Post to `webhookUrl(path)`.
   * A known `T…/B…` with the wrong secret answers 403 `invalid_token`; anything else 404 `no_service`.
   */
  webhooks?: readonly string[];
  /** Channels. Default: `C0GENERAL` (#general, member) and `C0RANDOM` (#random, not a member). */
  channels?: readonly SlackStandInChannel[];
  /** Rate limiting, off by default. */
  rateLimit?: SlackStandInRateLimit;
}

/** A message posted with `chat.postMessage`. */
export interface SlackReceivedMessage {
  /** The channel id it went to. */
  channel: string;
  text?: string;
  blocks?: unknown[];
  threadTs?: string;
  /** The `ts` the stand-in gave it. */
  ts: string;
  /** The token that posted it. */
  token: string;
  /** Every argument as received (JSON-encoded fields decoded). */
  args: Record<string, unknown>;
}

/** A payload posted to an incoming webhook. */
export interface SlackReceivedWebhook {
  /** The part of the path after `/services/`. */
  path: string;
  /** The JSON payload. */
  payload: Record<string, unknown>;
}

/** A file uploaded through `files.getUploadURLExternal`, the upload URL and `files.completeUploadExternal`. */
export interface SlackReceivedFile {
  id: string;
  filename: string;
  /** The length declared to `files.getUploadURLExternal`. */
  length: number;
  /** The bytes sent to the upload URL (undefined until uploaded). */
  data?: Buffer;
  /** The content type the bytes were sent with. */
  contentType?: string;
  title?: string;
  /** Channels it was shared to on completion (empty until completed, or when completed privately). */
  channels: string[];
  initialComment?: string;
  threadTs?: string;
  completed: boolean;
  /** The token that asked for the upload URL. */
  token: string;
}

/** A Web API call the stand-in received (whatever its outcome). */
export interface SlackReceivedCall {
  /** The method, such as `chat.postMessage`. */
  method: string;
  /** The token sent, if any. */
  token?: string;
  /** The arguments (JSON-encoded fields decoded). */
  args: Record<string, unknown>;
  /** `ok` when it succeeded, otherwise the error code answered. */
  outcome: string;
}

/** What the Slack stand-in received, for asserting the exact messages. */
export interface SlackReceived {
  messages: SlackReceivedMessage[];
  webhooks: SlackReceivedWebhook[];
  files: SlackReceivedFile[];
  calls: SlackReceivedCall[];
}

/** A running Slack stand-in: a `StandIn` plus what it received and Slack-specific helpers. */
export interface SlackStandIn extends StandIn {
  /** The Web API base URL to give `WebClient` as `slackApiUrl` (ends with `/api/`). */
  readonly apiUrl: string;
  /** What was posted, in order. */
  readonly received: SlackReceived;
  /** The URL of an incoming webhook: `webhookUrl("T000/B000/secret")`. */
  webhookUrl(path: string): string;
  /** Answers the next `count` matching Web API or webhook requests with 429 and `Retry-After`. */
  rateLimitNext(count: number, options?: { retryAfterSeconds?: number; method?: string }): void;
  /** Adds a channel. */
  addChannel(channel: SlackStandInChannel): void;
}

type Answer = { status?: number; headers?: Record<string, string>; body: object | string };

const JSON_FIELDS = new Set(["blocks", "attachments", "files", "metadata"]);

async function readArgs(req: StandInRequest): Promise<Record<string, unknown>> {
  const type = String(req.headers["content-type"] ?? "")
    .split(";")[0]
    ?.trim();
  const raw = await req.body();
  if (type === "application/json") {
    const text = raw.toString("utf8");
    return text ? (JSON.parse(text) as Record<string, unknown>) : {};
  }
  if (type === "multipart/form-data") {
    const form = await new Response(raw, {
      headers: { "content-type": String(req.headers["content-type"]) },
    }).formData();
    const out: Record<string, unknown> = {};
    for (const [k, v] of form.entries())
      out[k] = typeof v === "string" ? v : Buffer.from(await v.arrayBuffer());
    return decodeJsonFields(out);
  }
  return decodeJsonFields(Object.fromEntries(new URLSearchParams(raw.toString("utf8"))));
}

function decodeJsonFields(args: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(args)) {
    if (JSON_FIELDS.has(k) && typeof v === "string") {
      try {
        out[k] = JSON.parse(v);
      } catch {
        out[k] = v;
      }
    } else out[k] = v;
  }
  return out;
}

function validBlocks(blocks: unknown): boolean {
  return (
    Array.isArray(blocks) &&
    blocks.length <= 50 &&
    blocks.every(
      (b) => b !== null && typeof b === "object" && typeof (b as { type?: unknown }).type === "string",
    )
  );
}

function isEmpty(value: unknown): boolean {
  return value === undefined || value === null || value === "";
}

/**
 * Starts a Slack stand-in on 127.0.0.1: the Web API methods `auth.test`, `conversations.list`, `chat.postMessage`,
 * `files.getUploadURLExternal` and `files.completeUploadExternal`, the upload URL, and incoming webhooks. It checks
 * tokens as Slack does (`{ ok: false, error: "invalid_auth" }` with status 200), answers webhooks with Slack's
 * plain-text codes (`ok`, `invalid_payload`, `no_text`, `no_service`, `invalid_token`), rate-limits with 429 and
 * `Retry-After`, and records what it received.
 * @example
 * const slack = await startSlackStandIn({ tokens: ["xoxb-test"], webhooks: ["T000/B000/secret"] });
 * const client = new WebClient("xoxb-test", { slackApiUrl: slack.apiUrl });
 * await client.chat.postMessage({ channel: "C0GENERAL", text: "hi" });
 * slack.received.messages[0]?.text; // "hi"
 * await slack.close();
 */
export async function startSlackStandIn(options: SlackStandInOptions = {}): Promise<SlackStandIn> {
  const tokens = new Set(options.tokens ?? []);
  const webhooks = new Set(options.webhooks ?? []);
  const channels = new Map<string, SlackStandInChannel>();
  for (const c of options.channels ?? [
    { id: "C0GENERAL", name: "general", isMember: true },
    { id: "C0RANDOM", name: "random", isMember: false },
  ]) {
    channels.set(c.id, c);
  }
  const received: SlackReceived = { messages: [], webhooks: [], files: [], calls: [] };
  const windows = new Map<string, { start: number; count: number }>();
  let clock = 1_700_000_000;
  const nextTs = () => `${++clock}.${String(received.calls.length).padStart(6, "0")}`;

  const limited = (key: string): Answer | undefined => {
    const limit = options.rateLimit;
    if (!limit) return undefined;
    const now = Date.now();
    const windowMs = limit.windowMs ?? 60_000;
    let w = windows.get(key);
    if (!w || now - w.start >= windowMs) {
      w = { start: now, count: 0 };
      windows.set(key, w);
    }
    w.count++;
    if (w.count <= limit.limit) return undefined;
    return {
      status: 429,
      headers: { "Retry-After": String(limit.retryAfterSeconds ?? 1) },
      body: { ok: false, error: "ratelimited" },
    };
  };

  const findChannel = (ref: unknown): SlackStandInChannel | undefined => {
    if (typeof ref !== "string") return undefined;
    const name = ref.replace(/^#/, "");
    return channels.get(ref) ?? [...channels.values()].find((c) => c.name === name);
  };

  const methods: Record<string, (args: Record<string, unknown>, token: string) => Answer> = {
    "auth.test": () => ({
      body: {
        ok: true,
        url: "https://stand-in.slack.com/",
        team: "Stand-in",
        user: "tributary",
        team_id: "T0STANDIN",
        user_id: "U0BOT",
        bot_id: "B0BOT",
      },
    }),
    "conversations.list": (args) => {
      const all = [...channels.values()];
      const limit = Math.min(Number(args.limit ?? 100) || 100, 1000);
      const start = Number(args.cursor ? Buffer.from(String(args.cursor), "base64url").toString() : 0) || 0;
      const page = all.slice(start, start + limit);
      const next = start + limit < all.length ? Buffer.from(String(start + limit)).toString("base64url") : "";
      return {
        body: {
          ok: true,
          channels: page.map((c) => ({
            id: c.id,
            name: c.name,
            is_channel: true,
            is_member: c.isMember !== false,
          })),
          response_metadata: { next_cursor: next },
        },
      };
    },
    "chat.postMessage": (args, token) => {
      const channel = findChannel(args.channel);
      if (isEmpty(args.channel)) return { body: { ok: false, error: "channel_not_found" } };
      if (!channel) return { body: { ok: false, error: "channel_not_found" } };
      if (channel.isMember === false) return { body: { ok: false, error: "not_in_channel" } };
      if (args.blocks !== undefined && !validBlocks(args.blocks)) {
        return { body: { ok: false, error: "invalid_blocks" } };
      }
      if (isEmpty(args.text) && args.blocks === undefined && args.attachments === undefined) {
        return { body: { ok: false, error: "no_text" } };
      }
      const ts = nextTs();
      const threadTs = typeof args.thread_ts === "string" ? args.thread_ts : undefined;
      received.messages.push({
        channel: channel.id,
        ...(typeof args.text === "string" ? { text: args.text } : {}),
        ...(Array.isArray(args.blocks) ? { blocks: args.blocks } : {}),
        ...(threadTs ? { threadTs } : {}),
        ts,
        token,
        args,
      });
      return {
        body: {
          ok: true,
          channel: channel.id,
          ts,
          message: {
            type: "message",
            text: args.text,
            ...(args.blocks ? { blocks: args.blocks } : {}),
            ...(threadTs ? { thread_ts: threadTs } : {}),
            bot_id: "B0BOT",
            ts,
          },
        },
      };
    },
    "files.getUploadURLExternal": (args, token) => {
      const length = Number(args.length);
      if (isEmpty(args.filename) || !Number.isInteger(length) || length < 1) {
        return { body: { ok: false, error: "invalid_arguments" } };
      }
      const id = `F${randomBytes(5).toString("hex").toUpperCase()}`;
      received.files.push({
        id,
        filename: String(args.filename),
        length,
        channels: [],
        completed: false,
        token,
      });
      return { body: { ok: true, upload_url: `${base}/upload/v1/${id}`, file_id: id } };
    },
    "files.completeUploadExternal": (args, token) => {
      const list = args.files;
      if (!Array.isArray(list) || list.length === 0)
        return { body: { ok: false, error: "invalid_arguments" } };
      const targets =
        typeof args.channel_id === "string"
          ? [args.channel_id]
          : typeof args.channels === "string"
            ? args.channels.split(",").filter(Boolean)
            : [];
      const found: SlackStandInChannel[] = [];
      for (const ref of targets) {
        const c = findChannel(ref);
        if (!c) return { body: { ok: false, error: "channel_not_found" } };
        if (c.isMember === false) return { body: { ok: false, error: "not_in_channel" } };
        found.push(c);
      }
      const files: SlackReceivedFile[] = [];
      for (const entry of list as { id?: unknown; title?: unknown }[]) {
        const file = received.files.find((f) => f.id === entry?.id && f.token === token);
        if (!file || file.data === undefined) return { body: { ok: false, error: "file_not_found" } };
        if (file.completed) return { body: { ok: false, error: "file_already_completed" } };
        files.push(file);
      }
      for (const [i, file] of files.entries()) {
        const entry = (list as { title?: unknown }[])[i];
        file.completed = true;
        file.channels = found.map((c) => c.id);
        if (typeof entry?.title === "string") file.title = entry.title;
        if (typeof args.initial_comment === "string") file.initialComment = args.initial_comment;
        if (typeof args.thread_ts === "string") file.threadTs = args.thread_ts;
      }
      return {
        body: {
          ok: true,
          files: files.map((f) => ({
            id: f.id,
            name: f.filename,
            title: f.title ?? f.filename,
            size: f.data?.length ?? 0,
            channels: f.channels,
            permalink: `${base}/files/${f.id}`,
          })),
        },
      };
    },
  };

  const tokenOf = (req: StandInRequest, args: Record<string, unknown>): string | undefined => {
    const header = req.headers.authorization;
    if (typeof header === "string") {
      const m = /^Bearer\s+(\S+)$/i.exec(header);
      return m?.[1];
    }
    return typeof args.token === "string" ? args.token : undefined;
  };

  const api = route("POST", "/api/:method", async (req) => {
    const method = req.params.method ?? "";
    let args: Record<string, unknown>;
    try {
      args = await readArgs(req);
    } catch {
      return { body: { ok: false, error: "invalid_form_data" } };
    }
    const token = tokenOf(req, args);
    const { token: _omit, ...recorded } = args;
    const answer = (a: Answer): Answer => {
      const outcome = typeof a.body === "object" && (a.body as { ok?: unknown }).ok === true ? "ok" : "";
      received.calls.push({
        method,
        ...(token !== undefined ? { token } : {}),
        args: recorded,
        outcome: outcome || String((a.body as { error?: unknown }).error ?? a.status ?? "error"),
      });
      return a;
    };
    const handler = methods[method];
    if (!handler) return answer({ status: 404, body: { ok: false, error: "unknown_method" } });
    if (token === undefined) return answer({ body: { ok: false, error: "not_authed" } });
    if (!tokens.has(token)) return answer({ body: { ok: false, error: "invalid_auth" } });
    const limit = limited(`${method}\u0000${token}`);
    if (limit) return answer(limit);
    return answer(handler(recorded, token));
  });

  const upload = route("POST", "/upload/v1/:id", async (req) => {
    const file = received.files.find((f) => f.id === req.params.id);
    const body = await req.body();
    if (!file || file.completed) return { status: 404, body: "file_not_found" };
    const type = String(req.headers["content-type"] ?? "application/octet-stream");
    let data = body;
    if (type.startsWith("multipart/form-data")) {
      const form = await new Response(body, { headers: { "content-type": type } }).formData();
      const part = [...form.values()].find((v) => typeof v !== "string");
      if (!part || typeof part === "string") return { status: 400, body: "no_file_data" };
      data = Buffer.from(await part.arrayBuffer());
    }
    file.data = data;
    file.contentType = type.split(";")[0];
    return { status: 200, headers: { "content-type": "text/plain" }, body: `OK - ${data.length}` };
  });

  const text = (status: number, body: string): Answer => ({
    status,
    headers: { "content-type": "text/html" },
    body,
  });
  const webhook = route("POST", "/services/*", async (req) => {
    const path = req.params.rest ?? "";
    const raw = await req.body();
    if (!webhooks.has(path)) {
      const prefix = path.split("/").slice(0, 2).join("/");
      const known = [...webhooks].some((w) => w.split("/").slice(0, 2).join("/") === prefix);
      return known ? text(403, "invalid_token") : text(404, "no_service");
    }
    const limit = limited(`webhook\u0000${path}`);
    if (limit) return { ...limit, body: "rate_limited" };
    let payload: unknown;
    try {
      payload = JSON.parse(raw.toString("utf8"));
    } catch {
      return text(400, "invalid_payload");
    }
    if (payload === null || typeof payload !== "object" || Array.isArray(payload)) {
      return text(400, "invalid_payload");
    }
    const p = payload as Record<string, unknown>;
    if (p.blocks !== undefined && !validBlocks(p.blocks)) return text(400, "invalid_blocks");
    if (isEmpty(p.text) && p.blocks === undefined && p.attachments === undefined) return text(400, "no_text");
    received.webhooks.push({ path, payload: p });
    return text(200, "ok");
  });

  const standIn = await startStandIn([api, upload, webhook], { name: "slack" });
  const base = standIn.url;
  const baseReset = standIn.reset;
  const isApiOrWebhook =
    (method?: string): RequestMatcher =>
    (r) =>
      method ? r.path === `/api/${method}` : r.path.startsWith("/api/") || r.path.startsWith("/services/");

  return Object.assign(standIn, {
    apiUrl: `${base}/api/`,
    received,
    webhookUrl: (path: string) => `${base}/services/${path}`,
    rateLimitNext: (count: number, o: { retryAfterSeconds?: number; method?: string } = {}) =>
      standIn.failNext(count, 429, {
        headers: { "Retry-After": String(o.retryAfterSeconds ?? 1) },
        body: { ok: false, error: "ratelimited" },
        match: isApiOrWebhook(o.method),
      }),
    addChannel: (channel: SlackStandInChannel) => {
      channels.set(channel.id, channel);
    },
    reset: () => {
      baseReset();
      received.messages.length = 0;
      received.webhooks.length = 0;
      received.files.length = 0;
      received.calls.length = 0;
      windows.clear();
    },
  });
}
