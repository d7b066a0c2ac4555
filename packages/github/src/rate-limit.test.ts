import { ServiceError } from "@tributary/auth";
import { describe, expect, it } from "vitest";
import { useGitHubTestEnv } from "../test/helpers.js";
import { githubGetRepo } from "./index.js";

const env = useGitHubTestEnv();

describe("rate limits", () => {
  it("waits out a primary rate limit until x-ratelimit-reset, then retries", async () => {
    env.github.exhaustRateLimit(env.token, 1000);
    const info = await githubGetRepo({ repo: "acme/public", token: env.token, endpoint: env.github.url });
    expect(info.full_name).toBe("acme/public");
    expect(env.github.requests.map((r) => r.status)).toEqual([403, 200]);
    expect(env.logs.map((l) => l.message).join("\n")).toMatch(/GitHub primary rate limit .*waiting \d+s/);
  });

  it("waits out a secondary rate limit for its retry-after, then retries", async () => {
    env.github.secondaryRateLimitNext(1, { retryAfterSeconds: 1 });
    const info = await githubGetRepo({ repo: "acme/public", token: env.token, endpoint: env.github.url });
    expect(info.full_name).toBe("acme/public");
    expect(env.github.requests.map((r) => r.status)).toEqual([403, 200]);
    expect(env.logs.map((l) => l.message).join("\n")).toMatch(/GitHub secondary rate limit .*waiting 1s/);
  });

  it.each([
    {
      kind: "primary",
      limit: () => env.github.exhaustRateLimit(env.token, 3_600_000),
      pattern: /resets at 20/,
    },
    {
      kind: "secondary",
      limit: () => env.github.secondaryRateLimitNext(1, { retryAfterSeconds: 120 }),
      pattern: /wait 120s/,
    },
  ])(
    "fails at once with THROTTLED when the $kind limit outlasts maxRateLimitWaitMs",
    async ({ limit, pattern }) => {
      limit();
      const error = await githubGetRepo({
        repo: "acme/public",
        token: env.token,
        endpoint: env.github.url,
        maxRateLimitWaitMs: 5_000,
      }).catch((e) => e);
      expect(ServiceError.isInstance(error)).toBe(true);
      expect([error.code, error.status, error.retryable]).toEqual(["THROTTLED", 403, true]);
      expect(error.message).toMatch(pattern);
      expect(error.message).toMatch(/maxRateLimitWaitMs \(5000 ms\)/);
      expect(env.github.requests).toHaveLength(1);
    },
  );
});
