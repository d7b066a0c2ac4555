import { ServiceError } from "@tributary/auth";
import { flow, task } from "@tributary/flow";
import type { RecordedRequest } from "@tributary/testing";
import { describe, expect, it } from "vitest";
import { useGitHubTestEnv } from "../test/helpers.js";
import { rateLimitWait } from "./github-limits.js";
import { githubCreateBranch, githubCreateIssue, githubGetRepo } from "./index.js";

const env = useGitHubTestEnv();

/** Time between one request and the next, as the stand-in saw them arrive. Date.now() has 1 ms steps. */
const gaps = (requests: readonly RecordedRequest[]) =>
  requests.slice(1).map((r, i) => r.at - (requests[i] as RecordedRequest).at + 1);

describe("rate limits and retries", () => {
  it.each([
    {
      name: "a primary limit (403, x-ratelimit-remaining: 0) is waited out until a second past x-ratelimit-reset",
      limit: () => {
        env.github.exhaustRateLimit(env.token, 1000);
        return Math.ceil((Date.now() + 1000) / 1000) * 1000 + 1000;
      },
      statuses: [403, 200],
      log: /GitHub primary rate limit on GET \/repos\/\{owner\}\/\{repo\}: waiting \d+s/,
    },
    {
      name: "a 429 with Retry-After waits that long",
      limit: () => {
        env.github.failNext(1, 429, {
          headers: { "retry-after": "1" },
          body: { message: "Too Many Requests" },
        });
      },
      statuses: [429, 200],
      minGaps: [1000],
      log: /GitHub secondary rate limit .*waiting 1s/,
    },
    {
      name: "a secondary limit (403 with retry-after) waits for its retry-after",
      limit: () => env.github.secondaryRateLimitNext(1, { retryAfterSeconds: 1 }),
      statuses: [403, 200],
      minGaps: [1000],
      log: /GitHub secondary rate limit .*waiting 1s/,
    },
    {
      name: "5xx answers are retried twice, after 1 s and 4 s",
      limit: () => env.github.failNext(2, 503),
      statuses: [503, 503, 200],
      minGaps: [1000, 4000],
    },
  ])("$name", { timeout: 20_000 }, async ({ limit, statuses, minGaps, log }) => {
    const notBefore = limit();
    const info = await githubGetRepo({ repo: "acme/public", token: env.token, endpoint: env.github.url });
    expect(info.full_name).toBe("acme/public");
    const requests = env.github.requests;
    expect(requests.map((r) => r.status)).toEqual(statuses);
    if (notBefore) expect(requests[1]?.at).toBeGreaterThanOrEqual(notBefore);
    for (const [i, gap] of gaps(requests).entries()) expect(gap).toBeGreaterThanOrEqual(minGaps?.[i] ?? 0);
    if (log) expect(env.logs.map((l) => l.message).join("\n")).toMatch(log);
  });

  it.each([
    {
      kind: "primary",
      limit: () => env.github.exhaustRateLimit(env.token, 3_600_000),
      pattern: /resets at 20/,
      requests: 1,
    },
    {
      kind: "secondary",
      limit: () => env.github.secondaryRateLimitNext(1, { retryAfterSeconds: 120 }),
      pattern: /wait 120s/,
      requests: 1,
    },
    {
      kind: "429",
      limit: () =>
        env.github.failNext(1, 429, {
          headers: { "retry-after": "120" },
          body: { message: "Too Many Requests" },
        }),
      pattern: /^GitHub: secondary rate limit exceeded \(Too Many Requests\); GitHub asked to wait 120s/,
      requests: 1,
      status: 429,
    },
    {
      kind: "second secondary",
      // The budget is for the whole call: 1 s waited, the next second would pass 1.5 s.
      limit: () => env.github.secondaryRateLimitNext(2, { retryAfterSeconds: 1 }),
      pattern: /wait 1s/,
      requests: 2,
      maxRateLimitWaitMs: 1500,
    },
  ])(
    "fails with THROTTLED, without waiting, when the $kind limit outlasts maxRateLimitWaitMs",
    async ({ limit, pattern, requests, maxRateLimitWaitMs = 5_000, status = 403 }) => {
      limit();
      const error = await githubGetRepo({
        repo: "acme/public",
        token: env.token,
        endpoint: env.github.url,
        maxRateLimitWaitMs,
      }).catch((e) => e);
      expect(ServiceError.isInstance(error)).toBe(true);
      expect([error.code, error.status, error.retryable]).toEqual(["THROTTLED", status, true]);
      expect(error.message).toMatch(pattern);
      expect(error.message).toMatch(new RegExp(`maxRateLimitWaitMs \\(${maxRateLimitWaitMs} ms\\)`));
      expect(env.github.requests).toHaveLength(requests);
    },
  );

  it.each([
    {
      what: "writes",
      write: (i: number) =>
        githubCreateBranch({
          repo: "acme/public",
          branch: `b${i}`,
          token: env.token,
          endpoint: env.github.url,
        }),
      count: 3,
      gap: 1000,
    },
    {
      what: "writes that notify people (issues, comments, pull requests)",
      write: (i: number) =>
        githubCreateIssue({
          repo: "acme/public",
          title: `t${i}`,
          token: env.token,
          endpoint: env.github.url,
        }),
      count: 2,
      gap: 3000,
    },
  ])("$what made at once start $gap ms apart", { timeout: 20_000 }, async ({ write, count, gap }) => {
    await Promise.all(Array.from({ length: count }, (_, i) => write(i)));
    const writes = env.github.requests.filter((r) => r.method === "POST");
    expect(writes.map((r) => r.status)).toEqual(Array(count).fill(201));
    for (const g of gaps(writes)) expect(g).toBeGreaterThanOrEqual(gap);
  });
  it("a task's timeout ends a rate-limit wait at once: no second request is sent", {
    timeout: 20_000,
  }, async () => {
    env.github.secondaryRateLimitNext(1, { retryAfterSeconds: 60 });
    const read = task({ name: "read-repo", timeoutMs: 500 }, () =>
      githubGetRepo({ repo: "acme/public", token: env.token, endpoint: env.github.url }),
    );
    const run = flow({ name: "rate-limited" }, () => read());
    const report = await run.run();
    expect(report.state).toBe("failed");
    expect(report.error?.name).toBe("TaskTimeoutError");
    // GitHub asked for 60 s, longer than this test may take: the run ended with the task's timeout instead, and
    // the request was never sent again.
    expect(env.github.requests.map((r) => r.status)).toEqual([403]);
  });
});

describe("rateLimitWait", () => {
  const now = Date.UTC(2026, 0, 1);
  it.each([
    {
      what: "retry-after wins",
      error: { status: 429, response: { headers: { "retry-after": "7", "x-ratelimit-remaining": "3" } } },
      wait: { kind: "secondary", seconds: 7 },
    },
    {
      what: "x-ratelimit-remaining 0: a second past the reset",
      error: {
        status: 403,
        response: { headers: { "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(now / 1000 + 30) } },
      },
      wait: { kind: "primary", seconds: 31 },
    },
    {
      what: "a secondary limit without retry-after: a minute",
      error: { status: 403, message: "You have exceeded a secondary rate limit", response: { headers: {} } },
      wait: { kind: "secondary", seconds: 60 },
    },
    {
      what: "a GraphQL RATE_LIMITED answer",
      error: {
        response: {
          headers: { "x-ratelimit-reset": String(now / 1000 + 10) },
          data: { errors: [{ type: "RATE_LIMITED" }] },
        },
      },
      wait: { kind: "primary", seconds: 11 },
    },
    { what: "a 403 that is no limit", error: { status: 403, response: { headers: {} } }, wait: undefined },
    {
      what: "a 404 that used the last request of the window",
      error: {
        status: 404,
        response: { headers: { "x-ratelimit-remaining": "0", "x-ratelimit-reset": "1" } },
      },
      wait: undefined,
    },
    { what: "a 500", error: { status: 500, response: { headers: { "retry-after": "1" } } }, wait: undefined },
  ])("$what", ({ error, wait }) => {
    expect(rateLimitWait(error, now)).toEqual(wait);
  });
});
