import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { ServiceError, ValidationError } from "@tributary/auth";
import { fakeSlackToken } from "@tributary/testing";
import { describe, expect, it } from "vitest";
import { useSlackTestEnv } from "../test/helpers.js";
import { slackUpload } from "./slack-upload.js";

const TOKEN = fakeSlackToken("upload");
const env = useSlackTestEnv({
  tokens: [TOKEN],
  channels: [
    { id: "C0GENERAL", name: "general" },
    { id: "C0OTHER", name: "other" },
    { id: "C0RANDOM", name: "random", isMember: false },
  ],
});
const base = () => ({ token: TOKEN, endpoint: env.slack.apiUrl });

describe("slackUpload", () => {
  it("runs the external upload flow: URL, bytes (without the token), completion into the channel", async () => {
    const result = await slackUpload({
      ...base(),
      channels: "C0GENERAL",
      body: "id,total\n1,42\n",
      filename: "totals.csv",
      title: "Totals",
      initialComment: "Nightly totals",
    });
    expect(result).toMatchObject({ title: "Totals", size: 14, channels: ["C0GENERAL"] });
    expect(env.slack.requests.map((r) => r.path)).toEqual([
      "/api/files.getUploadURLExternal",
      `/upload/v1/${result.fileId}`,
      "/api/files.completeUploadExternal",
    ]);
    expect(env.slack.requests[1]?.headers.authorization).toBeUndefined();
    const [file] = env.slack.received.files;
    expect(file).toMatchObject({
      id: result.fileId,
      filename: "totals.csv",
      length: 14,
      title: "Totals",
      channels: ["C0GENERAL"],
      initialComment: "Nightly totals",
      completed: true,
    });
    expect(file?.data?.toString()).toBe("id,total\n1,42\n");
  });

  it.each([
    {
      name: "a file path (name from the path)",
      make: async (dir: string) => ({ file: await fixture(dir) }),
      filename: "report.txt",
    },
    {
      name: "bytes",
      make: async () => ({ body: Buffer.from("report body"), filename: "b.txt" }),
      filename: "b.txt",
    },
    {
      name: "a stream",
      make: async () => ({
        body: Readable.from([Buffer.from("report "), Buffer.from("body")]),
        filename: "s.txt",
      }),
      filename: "s.txt",
    },
  ])("uploads $name to two channels", async ({ make, filename }) => {
    const result = await slackUpload({
      ...base(),
      channels: ["C0GENERAL", "C0OTHER"],
      ...(await make(env.home)),
    });
    expect(result.channels).toEqual(["C0GENERAL", "C0OTHER"]);
    expect(env.slack.received.files.map((f) => [f.filename, f.data?.toString(), f.channels])).toEqual([
      [filename, "report body", ["C0GENERAL", "C0OTHER"]],
    ]);
  });

  it("shares into a thread", async () => {
    await slackUpload({
      ...base(),
      channels: "C0GENERAL",
      body: "x",
      filename: "x.txt",
      threadTs: "1700000000.000001",
    });
    expect(env.slack.received.files[0]?.threadTs).toBe("1700000000.000001");
  });

  it.each([
    {
      name: "both file and body",
      options: { file: "/etc/hostname", body: "a", filename: "a" },
      option: "file/body",
    },
    { name: "neither file nor body", options: { filename: "a" }, option: "file/body" },
    { name: "bytes without a filename", options: { body: Buffer.from("a") }, option: "filename" },
    { name: "a missing file", options: { file: "/nonexistent/report.csv" }, option: "file" },
    { name: "empty body", options: { body: "", filename: "a" }, option: "body" },
    {
      name: "a channel name",
      options: { body: "a", filename: "a", channels: "#general" },
      option: "channels",
    },
    {
      name: "a thread without one channel",
      options: { body: "a", filename: "a", threadTs: "1.2", channels: ["C0GENERAL", "C0OTHER"] },
      option: "threadTs",
    },
  ])("$name is a ValidationError before any request", async ({ options, option }) => {
    const error = await slackUpload({ ...base(), channels: "C0GENERAL", ...options } as never).catch(
      (e) => e,
    );
    expect(ValidationError.isInstance(error)).toBe(true);
    expect(error.option).toBe(option);
    expect(env.slack.requests).toEqual([]);
  });

  it("a 429 on completion is retried without uploading the bytes again", async () => {
    env.slack.rateLimitNext(1, { retryAfterSeconds: 0, method: "files.completeUploadExternal" });
    await slackUpload({ ...base(), channels: "C0GENERAL", body: "once", filename: "once.txt" });
    expect(env.slack.requests.map((r) => [r.path.replace(/F[0-9A-F]+$/, "F…"), r.status])).toEqual([
      ["/api/files.getUploadURLExternal", 200],
      ["/upload/v1/F…", 200],
      ["/api/files.completeUploadExternal", 429],
      ["/api/files.completeUploadExternal", 200],
    ]);
  });

  it("a channel the app is not in fails with not_in_channel after the bytes were sent", async () => {
    const error = await slackUpload({
      ...base(),
      channels: "C0RANDOM",
      body: "x",
      filename: "x.txt",
    }).catch((e) => e);
    expect(ServiceError.isInstance(error)).toBe(true);
    expect([error.code, error.reason, error.retryable]).toEqual(["ACCESS_DENIED", "not_in_channel", false]);
  });

  it("a failing upload URL is a ServiceError that says which file", async () => {
    env.slack.failNext(1, 503, { match: (r) => r.path.startsWith("/upload/") });
    const error = await slackUpload({
      ...base(),
      channels: "C0GENERAL",
      body: "x",
      filename: "x.txt",
    }).catch((e) => e);
    expect(ServiceError.isInstance(error)).toBe(true);
    expect([error.code, error.reason, error.status, error.retryable]).toEqual([
      "SERVICE_UNAVAILABLE",
      "upload_failed",
      503,
      true,
    ]);
    expect(error.message).toContain("x.txt");
    expect(env.slack.received.files[0]?.completed).toBe(false);
  });
});

async function fixture(dir: string): Promise<string> {
  const path = join(dir, "report.txt");
  await writeFile(path, "report body");
  return path;
}
