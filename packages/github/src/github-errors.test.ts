import { inspect } from "node:util";
import {
  CredentialRejectedError,
  MissingCredentialsError,
  ServiceError,
  ValidationError,
} from "@tributary/auth";
import { generateGitHubApp } from "@tributary/testing";
import { describe, expect, it } from "vitest";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

import { useGitHubTestEnv } from "../test/helpers.js";
import {
  githubCreateBranch,
  githubCreateIssue,
  githubCreateIssueComment,
  githubCreatePullRequest,
  githubDispatchWorkflow,
  githubGetRepo,
  githubReadFile,
  githubWriteFile,
} from "./index.js";

const env = useGitHubTestEnv();

describe("bad input fails before any request", () => {
  const cases: { name: string; call: (endpoint: string) => Promise<unknown>; option: string }[] = [
    {
      name: "repo without owner",
      call: (endpoint) => githubGetRepo({ repo: "app", endpoint }),
      option: "repo",
    },
    {
      name: "repo with three parts",
      call: (endpoint) => githubGetRepo({ repo: "a/b/c", endpoint }),
      option: "repo",
    },
    {
      name: "repo as a URL",
      call: (endpoint) => githubGetRepo({ repo: "https://github.com/a/b", endpoint }),
      option: "repo",
    },
    { name: "repo ..", call: (endpoint) => githubGetRepo({ repo: "acme/..", endpoint }), option: "repo" },
    {
      name: "empty title",
      call: (endpoint) => githubCreateIssue({ repo: "acme/public", title: "  ", endpoint }),
      option: "title",
    },
    {
      name: "title too long",
      call: (endpoint) => githubCreateIssue({ repo: "acme/public", title: "x".repeat(300), endpoint }),
      option: "title",
    },
    {
      name: "issue number 0",
      call: (endpoint) =>
        githubCreateIssueComment({ repo: "acme/public", issueNumber: 0, body: "x", endpoint }),
      option: "issueNumber",
    },
    {
      name: "empty comment",
      call: (endpoint) =>
        githubCreateIssueComment({ repo: "acme/public", issueNumber: 1, body: "", endpoint }),
      option: "body",
    },
    ...["has space", "a..b", "-lead", "end/", "x.lock", "a:b", "a@{1}", ".hidden", "a//b", "tilde~1"].map(
      (branch) => ({
        name: `branch "${branch}"`,
        call: (endpoint: string) => githubCreateBranch({ repo: "acme/public", branch, endpoint }),
        option: "branch",
      }),
    ),
    {
      name: "bad head",
      call: (endpoint) =>
        githubCreatePullRequest({ repo: "acme/public", title: "t", head: "bad branch", endpoint }),
      option: "head",
    },
    {
      name: "absolute path",
      call: (endpoint) => githubReadFile({ repo: "acme/public", path: "/etc/passwd", endpoint }),
      option: "path",
    },
    {
      name: "path with ..",
      call: (endpoint) => githubReadFile({ repo: "acme/public", path: "a/../b", endpoint }),
      option: "path",
    },
    {
      name: "short sha",
      call: (endpoint) =>
        githubWriteFile({ repo: "acme/public", path: "a", content: "x", sha: "abc", endpoint }),
      option: "sha",
    },
    {
      name: "workflow not a file name",
      call: (endpoint) => githubDispatchWorkflow({ repo: "acme/public", workflow: "deploy", endpoint }),
      option: "workflow",
    },
    {
      name: "bad endpoint",
      call: () => githubGetRepo({ repo: "acme/public", endpoint: "ftp://x" }),
      option: "endpoint",
    },
    {
      name: "negative maxRateLimitWaitMs",
      call: (endpoint) => githubGetRepo({ repo: "acme/public", endpoint, maxRateLimitWaitMs: -1 }),
      option: "maxRateLimitWaitMs",
    },
  ];
  it.each(cases)("$name", async ({ call, option }) => {
    process.env.GITHUB_TOKEN = env.token;
    const error: any = await call(env.github.url).catch((e) => e);
    expect(ValidationError.isInstance(error), String(error)).toBe(true);
    expect(error.option).toBe(option);
    expect(env.github.requests).toEqual([]);
  });
});

describe("GitHub's refusals are typed errors naming the credential's source", () => {
  it("401 Bad credentials → CredentialRejectedError naming env GITHUB_TOKEN, without the token", async () => {
    const bad = `ghp_${"x".repeat(36)}`;
    process.env.GITHUB_TOKEN = bad;
    const error = await githubGetRepo({ repo: "acme/public", endpoint: env.github.url }).catch((e) => e);
    expect(CredentialRejectedError.isInstance(error)).toBe(true);
    expect(error.message).toBe(
      "GitHub rejected the credential from default-chain (env GITHUB_TOKEN): Bad credentials. Check or replace the value there.",
    );
    expect(error.retryable).toBe(false);
    expect(inspect(error, { depth: 10 })).not.toContain(bad);
  });

  it("404 on a private repository → NOT_FOUND saying the token cannot see it", async () => {
    process.env.TRIBUTARY__CONTEXT__SECRETS__GITHUB_ACCESS_TOKEN = env.outsider;
    const error = await githubGetRepo({ repo: "acme/private", endpoint: env.github.url }).catch((e) => e);
    expect(ServiceError.isInstance(error)).toBe(true);
    expect([error.code, error.status]).toEqual(["NOT_FOUND", 404]);
    expect(error.message).toBe(
      "GitHub: repository acme/private not found or the token from env (TRIBUTARY__CONTEXT__SECRETS__GITHUB_ACCESS_TOKEN) cannot see it",
    );
  });

  it("anonymous: a private repository says how to set a token; a write is MissingCredentialsError", async () => {
    const notFound = await githubGetRepo({ repo: "acme/private", endpoint: env.github.url }).catch((e) => e);
    expect(notFound.code).toBe("NOT_FOUND");
    expect(notFound.message).toMatch(/anonymous/);
    expect(notFound.message).toMatch(/GITHUB_TOKEN/);
    const write = await githubCreateIssue({
      repo: "acme/public",
      title: "Hi",
      endpoint: env.github.url,
    }).catch((e) => e);
    expect(MissingCredentialsError.isInstance(write)).toBe(true);
    expect(write.message).toMatch(/GitHub answered 401 \(Requires authentication\)/);
    for (const place of [
      "TRIBUTARY__CONTEXT__SECRETS__GITHUB_ACCESS_TOKEN",
      "tributary secrets set",
      "GH_TOKEN",
    ]) {
      expect(write.message).toContain(place);
    }
  });

  it("a read-only token writing → ACCESS_DENIED naming its source", async () => {
    const error = await githubCreateIssue({
      repo: "acme/public",
      title: "Hi",
      token: env.reader,
      endpoint: env.github.url,
    }).catch((e) => e);
    expect([error.code, error.status]).toEqual(["ACCESS_DENIED", 403]);
    expect(error.message).toMatch(/token from argument \(token\)/);
  });

  it("an App whose key GitHub does not know → CredentialRejectedError naming the source", async () => {
    const stranger = generateGitHubApp({ id: env.app.id, installationId: env.app.installationId });
    const app = {
      APP_ID: stranger.id,
      PRIVATE_KEY: stranger.privateKey,
      INSTALLATION_ID: stranger.installationId,
    };
    const error = await githubGetRepo({ repo: "acme/public", app, endpoint: env.github.url }).catch((e) => e);
    expect(CredentialRejectedError.isInstance(error)).toBe(true);
    expect(error.message).toMatch(/from argument \(app\).*JWT was refused/);
    expect(error.message).not.toContain("PRIVATE KEY");
  });

  it("an App installation that does not exist → CredentialRejectedError", async () => {
    const app = { ...env.appCredentials, INSTALLATION_ID: env.app.installationId + 1 };
    const error = await githubGetRepo({ repo: "acme/public", app, endpoint: env.github.url }).catch((e) => e);
    expect(CredentialRejectedError.isInstance(error)).toBe(true);
    expect(error.message).toMatch(/installation \d+ of App \d+ was not found/);
  });

  it("a server error is retried by the client, then succeeds", async () => {
    env.github.failNext(1, 502);
    const info = await githubGetRepo({ repo: "acme/public", token: env.token, endpoint: env.github.url });
    expect(info.name).toBe("public");
    expect(env.github.requests.map((r) => r.status)).toEqual([502, 200]);
  });

  it("conflicts and existing branches are typed", async () => {
    const common = { repo: "acme/public", token: env.token, endpoint: env.github.url };
    const stale = await githubWriteFile({
      ...common,
      path: "README.md",
      content: "x",
      sha: "0".repeat(40),
    }).catch((e) => e);
    expect([stale.code, stale.status]).toEqual(["CONFLICT", 409]);
    const exists = await githubCreateBranch({ ...common, branch: "main" }).catch((e) => e);
    expect([exists.code, exists.reason, exists.message]).toEqual([
      "CONFLICT",
      "Reference already exists",
      "GitHub: branch main already exists in acme/public",
    ]);
    const missing = await githubReadFile({ ...common, path: "nope.txt" }).catch((e) => e);
    expect(missing.message).toMatch(/file nope\.txt in acme\/public not found/);
  });
});

describe("a revoked installation token", () => {
  it("is replaced once when GitHub answers 401, and the call succeeds", { timeout: 30_000 }, async () => {
    const call = () =>
      githubGetRepo({ repo: "acme/public", app: env.appCredentials, endpoint: env.github.url });
    await call();
    const first = env.github.installationTokens[0];
    env.github.revokeToken(first?.token ?? "");
    // Past @octokit/auth-app's own 5-second window of retrying a fresh token's 401 (replication lag).
    await sleep(5100);
    const info = await call();
    expect(info.full_name).toBe("acme/public");
    expect(env.github.installationTokens).toHaveLength(2);
    expect(env.github.requests.filter((r) => r.path === "/repos/acme/public").map((r) => r.status)).toEqual([
      200, 401, 200,
    ]);
  });
});
