import { afterEach, describe, expect, it } from "vitest";
import { fakeSlackToken, type SlackStandIn, startSlackStandIn } from "./index.js";

const TOKEN = fakeSlackToken("stand-in-good");
const HOOK = "T000/B000/hooksecret";

let slack: SlackStandIn | undefined;
afterEach(async () => {
  await slack?.close();
  slack = undefined;
});

async function call(
  method: string,
  args: Record<string, unknown>,
  token: string | null = TOKEN,
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const form = new URLSearchParams();
  for (const [k, v] of Object.entries(args)) form.set(k, typeof v === "string" ? v : JSON.stringify(v));
  const res = await fetch(`${slack?.apiUrl}${method}`, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: form.toString(),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, headers: res.headers };
}

async function hook(path: string, body: string): Promise<[number, string]> {
  const res = await fetch(slack?.webhookUrl(path) ?? "", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
  });
  return [res.status, await res.text()];
}

describe("startSlackStandIn", () => {
  it.each([
    { name: "a good bearer token", token: TOKEN, expected: { ok: true } },
    { name: "a wrong token", token: "xoxb-wrong", expected: { ok: false, error: "invalid_auth" } },
    { name: "no token", token: null, expected: { ok: false, error: "not_authed" } },
  ])("auth.test with $name answers 200 and $expected", async ({ token, expected }) => {
    slack = await startSlackStandIn({ tokens: [TOKEN] });
    const res = await call("auth.test", {}, token);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject(expected);
  });

  it("accepts the token in the form body as Slack does", async () => {
    slack = await startSlackStandIn({ tokens: [TOKEN] });
    const res = await call("auth.test", { token: TOKEN }, null);
    expect(res.body.ok).toBe(true);
    expect(slack.received.calls[0]).toEqual({ method: "auth.test", token: TOKEN, args: {}, outcome: "ok" });
  });

  it.each([
    { args: { channel: "C0GENERAL", text: "hello" }, expected: { ok: true, channel: "C0GENERAL" } },
    { args: { channel: "#general", text: "by name" }, expected: { ok: true, channel: "C0GENERAL" } },
    { args: { channel: "C0RANDOM", text: "x" }, expected: { ok: false, error: "not_in_channel" } },
    { args: { channel: "C0NOPE", text: "x" }, expected: { ok: false, error: "channel_not_found" } },
    { args: { channel: "C0GENERAL" }, expected: { ok: false, error: "no_text" } },
    {
      args: { channel: "C0GENERAL", blocks: [{ text: "x" }] },
      expected: { ok: false, error: "invalid_blocks" },
    },
  ])("chat.postMessage $args answers $expected", async ({ args, expected }) => {
    slack = await startSlackStandIn({ tokens: [TOKEN] });
    const res = await call("chat.postMessage", args);
    expect(res.body).toMatchObject(expected);
    expect(slack.received.messages).toHaveLength(expected.ok ? 1 : 0);
  });

  it("records the exact message posted, blocks decoded, with its thread", async () => {
    slack = await startSlackStandIn({ tokens: [TOKEN] });
    const blocks = [{ type: "section", text: { type: "mrkdwn", text: "*hi*" } }];
    const res = await call("chat.postMessage", {
      channel: "C0GENERAL",
      text: "hi",
      blocks,
      thread_ts: "1.2",
    });
    expect(slack.received.messages).toEqual([
      expect.objectContaining({ channel: "C0GENERAL", text: "hi", blocks, threadTs: "1.2", token: TOKEN }),
    ]);
    expect(res.body.ts).toBe(slack.received.messages[0]?.ts);
  });

  it("pages conversations.list with a cursor", async () => {
    slack = await startSlackStandIn({ tokens: [TOKEN] });
    slack.addChannel({ id: "C0THIRD", name: "third" });
    const first = await call("conversations.list", { limit: "2" });
    const cursor = (first.body.response_metadata as { next_cursor: string }).next_cursor;
    const second = await call("conversations.list", { limit: "2", cursor });
    const names = [
      ...(first.body.channels as { name: string }[]),
      ...(second.body.channels as { name: string }[]),
    ];
    expect(names.map((c) => c.name)).toEqual(["general", "random", "third"]);
    expect((second.body.response_metadata as { next_cursor: string }).next_cursor).toBe("");
  });

  it("runs the external upload flow: URL, bytes, completion into channels", async () => {
    slack = await startSlackStandIn({ tokens: [TOKEN] });
    const got = await call("files.getUploadURLExternal", { filename: "a.txt", length: "5" });
    expect(got.body).toMatchObject({ ok: true, file_id: expect.stringMatching(/^F/) });
    const up = await fetch(String(got.body.upload_url), { method: "POST", body: "hello" });
    expect([up.status, await up.text()]).toEqual([200, "OK - 5"]);
    const done = await call("files.completeUploadExternal", {
      files: [{ id: got.body.file_id, title: "A" }],
      channels: "C0GENERAL",
      initial_comment: "here",
    });
    expect(done.body).toMatchObject({ ok: true, files: [{ id: got.body.file_id, title: "A", size: 5 }] });
    expect(slack.received.files[0]).toMatchObject({
      filename: "a.txt",
      title: "A",
      channels: ["C0GENERAL"],
      initialComment: "here",
      completed: true,
    });
    expect(slack.received.files[0]?.data?.toString()).toBe("hello");
    const again = await call("files.completeUploadExternal", { files: [{ id: got.body.file_id }] });
    expect(again.body.error).toBe("file_already_completed");
  });

  it("refuses to complete a file whose bytes never arrived", async () => {
    slack = await startSlackStandIn({ tokens: [TOKEN] });
    const got = await call("files.getUploadURLExternal", { filename: "a.txt", length: "5" });
    const done = await call("files.completeUploadExternal", { files: [{ id: got.body.file_id }] });
    expect(done.body).toEqual({ ok: false, error: "file_not_found" });
  });

  it.each([
    { name: "a good webhook", path: HOOK, body: '{"text":"hi"}', expected: [200, "ok"] },
    {
      name: "a wrong secret",
      path: "T000/B000/wrong",
      body: '{"text":"hi"}',
      expected: [403, "invalid_token"],
    },
    { name: "an unknown webhook", path: "T999/B999/x", body: '{"text":"hi"}', expected: [404, "no_service"] },
    { name: "bad JSON", path: HOOK, body: "{text", expected: [400, "invalid_payload"] },
    { name: "no text", path: HOOK, body: "{}", expected: [400, "no_text"] },
  ])("webhooks answer $name with $expected", async ({ path, body, expected }) => {
    slack = await startSlackStandIn({ webhooks: [HOOK] });
    expect(await hook(path, body)).toEqual(expected);
    expect(slack.received.webhooks).toHaveLength(expected[0] === 200 ? 1 : 0);
  });

  it("rate-limits with Retry-After past the configured limit", async () => {
    slack = await startSlackStandIn({ tokens: [TOKEN], rateLimit: { limit: 1, retryAfterSeconds: 7 } });
    expect((await call("auth.test", {})).status).toBe(200);
    const limited = await call("auth.test", {});
    expect([limited.status, limited.headers.get("retry-after"), limited.body.error]).toEqual([
      429,
      "7",
      "ratelimited",
    ]);
    expect((await call("conversations.list", {})).status).toBe(200);
  });

  it("rateLimitNext limits only the method named, then recovers", async () => {
    slack = await startSlackStandIn({ tokens: [TOKEN], webhooks: [HOOK] });
    slack.rateLimitNext(1, { method: "chat.postMessage", retryAfterSeconds: 2 });
    expect((await call("auth.test", {})).status).toBe(200);
    const limited = await call("chat.postMessage", { channel: "C0GENERAL", text: "x" });
    expect([limited.status, limited.headers.get("retry-after")]).toEqual([429, "2"]);
    expect((await call("chat.postMessage", { channel: "C0GENERAL", text: "x" })).status).toBe(200);
    slack.rateLimitNext(1);
    expect((await hook(HOOK, '{"text":"x"}'))[0]).toBe(429);
  });

  it("reset forgets what was received", async () => {
    slack = await startSlackStandIn({ webhooks: [HOOK] });
    await hook(HOOK, '{"text":"x"}');
    slack.reset();
    expect([slack.received.webhooks.length, slack.requests.length]).toEqual([0, 0]);
  });
});
