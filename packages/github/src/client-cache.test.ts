import { clientCache, withSecrets } from "@tributary/auth";
import { describe, expect, it } from "vitest";
import { useGitHubTestEnv } from "../test/helpers.js";
import { githubGetRepo } from "./index.js";

const env = useGitHubTestEnv();

async function thousand(call: () => Promise<unknown>): Promise<void> {
  for (let batch = 0; batch < 10; batch++) await Promise.all(Array.from({ length: 100 }, call));
}

describe("one client per credential", () => {
  // Generous timeouts: 1,000 real HTTP round trips on a shared, loaded machine.
  it("1,000 calls with one token make one client", { timeout: 120_000 }, async () => {
    const before = clientCache.stats();
    await thousand(() => githubGetRepo({ repo: "acme/public", token: env.token, endpoint: env.github.url }));
    const after = clientCache.stats();
    expect(after.created - before.created).toBe(1);
    expect(after.hits - before.hits).toBe(999);
    expect(env.github.requests.filter((r) => r.status === 200)).toHaveLength(1000);
  });

  it("200 concurrent calls with App credentials from run secrets make one client and one token exchange", async () => {
    const before = clientCache.stats();
    await withSecrets({ GITHUB_APP_CREDENTIALS: env.appCredentials }, () =>
      Promise.all(
        Array.from({ length: 200 }, () => githubGetRepo({ repo: "acme/private", endpoint: env.github.url })),
      ),
    );
    expect(clientCache.stats().created - before.created).toBe(1);
    expect(env.github.installationTokens).toHaveLength(1);
    expect(
      env.github.requests.filter((r) => r.path === "/repos/acme/private" && r.status === 200),
    ).toHaveLength(200);
  });

  it("different credentials or endpoints make different clients", async () => {
    const before = clientCache.stats();
    await githubGetRepo({ repo: "acme/public", token: env.token, endpoint: env.github.url });
    await githubGetRepo({ repo: "acme/public", token: env.reader, endpoint: env.github.url });
    await githubGetRepo({ repo: "acme/public", token: env.token, endpoint: `${env.github.url}/` });
    await githubGetRepo({ repo: "acme/public", endpoint: env.github.url });
    expect(clientCache.stats().created - before.created).toBe(3);
  });
});
