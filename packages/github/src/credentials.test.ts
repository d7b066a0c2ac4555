import { localStore, MissingCredentialsError, withSecrets } from "@tributary/auth";
import { flow } from "@tributary/flow";
import { describe, expect, it } from "vitest";
import { authorizations, useGitHubTestEnv } from "../test/helpers.js";
import { githubGetRepo } from "./index.js";

const env = useGitHubTestEnv();
const E = "TRIBUTARY__CONTEXT__SECRETS__";

interface SourceCase {
  name: string;
  /** Puts the credential in place; returns the options to pass and how to run the call. */
  setup: () => Promise<{ options?: Record<string, unknown>; secrets?: Record<string, unknown> }>;
  /** The credential the stand-in should see: the token, or an installation token. */
  expect: "token" | "installation";
  /** What the flow logs as the source. */
  logged: RegExp;
}

const cases: SourceCase[] = [
  {
    name: "token argument",
    setup: async () => ({ options: { token: env.token } }),
    expect: "token",
    logged: /GITHUB_ACCESS_TOKEN from argument \(token\)/,
  },
  {
    name: "run secrets",
    setup: async () => ({ secrets: { GITHUB_ACCESS_TOKEN: env.token } }),
    expect: "token",
    logged: /GITHUB_ACCESS_TOKEN from run /,
  },
  {
    name: "env form",
    setup: async () => {
      process.env[`${E}GITHUB_ACCESS_TOKEN`] = env.token;
      return {};
    },
    expect: "token",
    logged: /GITHUB_ACCESS_TOKEN from env \(TRIBUTARY__CONTEXT__SECRETS__GITHUB_ACCESS_TOKEN\)/,
  },
  {
    name: "local store",
    setup: async () => {
      await localStore().set("GITHUB_ACCESS_TOKEN", env.token);
      return {};
    },
    expect: "token",
    logged: /GITHUB_ACCESS_TOKEN from store \(.*secrets\.json\)/,
  },
  {
    name: "named secret in the store (secretName)",
    setup: async () => {
      await localStore().set("ACME_BOT_TOKEN", env.token);
      return { options: { secretName: "ACME_BOT_TOKEN" } };
    },
    expect: "token",
    logged: /ACME_BOT_TOKEN from store/,
  },
  {
    name: "App credentials as run secrets",
    setup: async () => ({ secrets: { GITHUB_APP_CREDENTIALS: env.appCredentials } }),
    expect: "installation",
    logged: /GITHUB_APP_CREDENTIALS from run /,
  },
  {
    name: "App credentials in the nested env form",
    setup: async () => {
      process.env[`${E}GITHUB_APP_CREDENTIALS__APP_ID`] = String(env.app.id);
      process.env[`${E}GITHUB_APP_CREDENTIALS__PRIVATE_KEY`] = env.app.privateKey;
      process.env[`${E}GITHUB_APP_CREDENTIALS__INSTALLATION_ID`] = String(env.app.installationId);
      return {};
    },
    expect: "installation",
    logged:
      /GITHUB_APP_CREDENTIALS from env \(TRIBUTARY__CONTEXT__SECRETS__GITHUB_APP_CREDENTIALS__<FIELD>\)/,
  },
  {
    name: "App credentials argument",
    setup: async () => ({ options: { app: env.appCredentials } }),
    expect: "installation",
    logged: /GITHUB_APP_CREDENTIALS from argument \(app\)/,
  },
  {
    name: "env GITHUB_TOKEN",
    setup: async () => {
      process.env.GITHUB_TOKEN = env.token;
      return {};
    },
    expect: "token",
    logged: /GITHUB_ACCESS_TOKEN from default-chain \(env GITHUB_TOKEN\)/,
  },
  {
    name: "env GH_TOKEN",
    setup: async () => {
      process.env.GH_TOKEN = env.token;
      return {};
    },
    expect: "token",
    logged: /GITHUB_ACCESS_TOKEN from default-chain \(env GH_TOKEN\)/,
  },
];

describe("credential sources, end to end in a flow", () => {
  it.each(cases)("$name", async (c) => {
    const { options = {}, secrets } = await c.setup();
    const check = flow({ name: "check" }, async () =>
      githubGetRepo({ repo: "acme/private", endpoint: env.github.url, ...options }),
    );
    const report = await check.run(secrets ? { secrets } : {});
    expect(report.state, JSON.stringify(report.error)).toBe("completed");
    expect((report.result as { full_name: string }).full_name).toBe("acme/private");
    const seen = authorizations(env.github);
    if (c.expect === "token") {
      expect(seen).toEqual([`token ${env.token}`]);
    } else {
      expect(env.github.installationTokens).toHaveLength(1);
      expect(seen.at(-1)).toBe(`token ${env.github.installationTokens[0]?.token}`);
      expect(env.github.requests.map((r) => r.path)).toEqual([
        `/app/installations/${env.app.installationId}/access_tokens`,
        "/repos/acme/private",
      ]);
    }
    const lines = env.logs.map((l) => l.message).join("\n");
    expect(lines).toMatch(c.logged);
    expect(lines).not.toContain(env.token);
  });
});

describe("resolution order", () => {
  it("prefers the argument, then GITHUB_ACCESS_TOKEN over App credentials, then App credentials over GITHUB_TOKEN", async () => {
    process.env.GITHUB_TOKEN = env.outsider;
    process.env[`${E}GITHUB_ACCESS_TOKEN`] = env.reader;
    const base = { repo: "acme/public", endpoint: env.github.url };
    await withSecrets({ GITHUB_APP_CREDENTIALS: env.appCredentials }, async () => {
      await githubGetRepo({ ...base, token: env.token });
      await githubGetRepo(base);
      delete process.env[`${E}GITHUB_ACCESS_TOKEN`];
      await githubGetRepo(base);
    });
    await githubGetRepo(base);
    const [installation] = env.github.installationTokens;
    expect(authorizations(env.github).filter((a) => !a?.startsWith("bearer"))).toEqual([
      `token ${env.token}`,
      `token ${env.reader}`,
      `token ${installation?.token}`,
      `token ${env.outsider}`,
    ]);
  });

  it("never falls back when a named secret is missing, and sends nothing", async () => {
    process.env.GITHUB_TOKEN = env.token;
    const error = await githubGetRepo({
      repo: "acme/public",
      endpoint: env.github.url,
      secretName: "NOPE_TOKEN",
    }).catch((e) => e);
    expect(MissingCredentialsError.isInstance(error)).toBe(true);
    expect(error.message).toMatch(/NOPE_TOKEN/);
    expect(error.message).toMatch(/tributary secrets set NOPE_TOKEN/);
    expect(env.github.requests).toEqual([]);
  });

  it("goes anonymous with no credential anywhere, and public reads work", async () => {
    const info = await githubGetRepo({ repo: "acme/public", endpoint: env.github.url });
    expect(info.full_name).toBe("acme/public");
    expect(authorizations(env.github)).toEqual([undefined]);
  });
});
