import { afterEach, describe, expect, it } from "vitest";
import { checkParamsHoldNoSecret, checkQueuedRun, type QueuedRun } from "./queued-run.js";
import { describeRedisUrl, redisUrl } from "./redis-url.js";
import { runEnvironment } from "./run-environment.js";

const run = (over: Partial<QueuedRun>): QueuedRun => ({
  address: "s3://b/p/f",
  params: {},
  runId: "r-1",
  secrets: [],
  ...over,
});

describe("checkQueuedRun", () => {
  it.each([
    ["an empty address", { address: "" }, "address"],
    ["a Date in params", { params: { at: new Date() } }, "params.at"],
    ["NaN in params", { params: { n: Number.NaN } }, "params.n"],
    ["a function deep in params", { params: { a: [{ f: () => 1 }] } }, "params.a[0].f"],
    ["a run id with a percent sign", { runId: "a%3Ab" }, "runId"],
    ["a run id of digits only", { runId: "42" }, "runId"],
    ["a lower-case secret name", { secrets: ["token"] }, "secrets"],
  ])("refuses %s, naming %s", (_, over, where) => {
    expect(() => checkQueuedRun(run(over))).toThrow(
      expect.objectContaining({ code: "INVALID_INPUT", message: expect.stringContaining(where) }),
    );
  });

  it("accepts plain JSON params", () => {
    expect(() =>
      checkQueuedRun(run({ params: { day: "2026-11-25", n: 1, ok: true, list: [null, { a: 1 }] } })),
    ).not.toThrow();
  });
});

describe("checkParamsHoldNoSecret", () => {
  afterEach(() => {
    delete process.env.TRIBUTARY__CONTEXT__SECRETS__PARAMS_TEST;
  });
  it.each([
    ["a value", (v: string) => ({ token: v }), "params.token"],
    ["inside a longer string", (v: string) => ({ url: `https://x/?k=${v}` }), "params.url"],
    ["in an array", (v: string) => ({ list: ["a", v] }), "params.list[1]"],
    ["as a key", (v: string) => ({ headers: { [v]: 1 } }), "a key of params.headers"],
  ])("refuses a secret of this process's environment as %s", async (_, make, where) => {
    const value = `params-secret-${Math.random().toString(36).slice(2)}`;
    process.env.TRIBUTARY__CONTEXT__SECRETS__PARAMS_TEST = value;
    const error = await checkParamsHoldNoSecret(make(value)).catch((e: Error) => e);
    expect(error).toMatchObject({ code: "SECRET_IN_PARAMS" });
    expect((error as Error).message).toContain(where);
    expect((error as Error).message).not.toContain(value);
  });
});

describe("runEnvironment", () => {
  it("keeps only the allow-list and the given secrets, objects as JSON", () => {
    const env = runEnvironment(
      { TOKEN: "t-value", CREDS: { KEY: "k" }, UNSET: undefined },
      {
        PATH: "/bin",
        HOME: "/h",
        LC_TIME: "C",
        LANG: "C.UTF-8",
        NODE_OPTIONS: "--inspect",
        AWS_SECRET_ACCESS_KEY: "x",
        TRIBUTARY__CONTEXT__SECRETS__OTHER: "o",
      },
    );
    expect(env).toEqual({
      PATH: "/bin",
      HOME: "/h",
      LC_TIME: "C",
      LANG: "C.UTF-8",
      TRIBUTARY__CONTEXT__SECRETS__TOKEN: "t-value",
      TRIBUTARY__CONTEXT__SECRETS__CREDS: '{"KEY":"k"}',
    });
  });
});

describe("redisUrl", () => {
  it.each([
    ["redis://:pw-123456@host:6379/2", "redis://[redacted]@host:6379/2"],
    ["rediss://user:pw-123456@host:6380", "rediss://[redacted]@host:6380"],
    ["redis://127.0.0.1:6379", "redis://127.0.0.1:6379"],
  ])("describes %s without its password", (url, shown) => {
    expect(redisUrl(url)).toBe(url);
    expect(describeRedisUrl(url)).toBe(shown);
  });

  it.each([
    ["http://host:6379", "must start with redis://"],
    ["not a url", "is not a URL"],
  ])("refuses %s", (url, message) => {
    expect(() => redisUrl(url)).toThrow(message);
  });

  it("says how to give one when none is given", () => {
    const saved = process.env.TRIBUTARY_REDIS_URL;
    delete process.env.TRIBUTARY_REDIS_URL;
    try {
      expect(() => redisUrl()).toThrow(/--redis.*TRIBUTARY_REDIS_URL/);
    } finally {
      if (saved !== undefined) process.env.TRIBUTARY_REDIS_URL = saved;
    }
  });
});
