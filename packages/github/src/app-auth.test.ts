import { describe, expect, it } from "vitest";
import { useGitHubTestEnv } from "../test/helpers.js";
import { githubGetRepo } from "./index.js";

const env = useGitHubTestEnv({ tokenTtlMs: 1500 });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("GitHub App installation tokens", () => {
  it("mints one token, reuses it while it lives, and mints a new one before it expires", async () => {
    const call = () =>
      githubGetRepo({ repo: "acme/private", app: env.appCredentials, endpoint: env.github.url });
    await call();
    await call();
    expect(env.github.installationTokens).toHaveLength(1);
    const first = env.github.installationTokens[0];
    // Past the first token's expiry: the stand-in answers 401 to it from now on.
    await sleep(Math.max(0, (first?.expiresAt.getTime() ?? 0) - Date.now()) + 50);
    const info = await call();
    expect(info.full_name).toBe("acme/private");
    expect(env.github.installationTokens).toHaveLength(2);
    const second = env.github.installationTokens[1];
    expect(second?.token).not.toBe(first?.token);
    const repoCalls = env.github.requests.filter((r) => r.path === "/repos/acme/private");
    expect(repoCalls.map((r) => [r.headers.authorization, r.status])).toEqual([
      [`token ${first?.token}`, 200],
      [`token ${first?.token}`, 200],
      [`token ${second?.token}`, 200],
    ]);
    expect(env.github.requests.filter((r) => r.path.endsWith("/access_tokens")).map((r) => r.status)).toEqual(
      [201, 201],
    );
  });

  it("concurrent calls share one token exchange", async () => {
    await Promise.all(
      Array.from({ length: 20 }, () =>
        githubGetRepo({ repo: "acme/public", app: env.appCredentials, endpoint: env.github.url }),
      ),
    );
    expect(env.github.installationTokens).toHaveLength(1);
  });
});
