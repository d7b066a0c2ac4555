import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { clientCache } from "@tributary/auth";
import { configureLogging, type LogRecord } from "@tributary/flow";
import {
  type GitHubStandIn,
  type GitHubStandInOptions,
  generateGitHubApp,
  generateGitHubToken,
  startGitHubStandIn,
} from "@tributary/testing";
import { afterEach, beforeAll, beforeEach } from "vitest";

const TOUCHED = ["TRIBUTARY_HOME", "GITHUB_TOKEN", "GH_TOKEN"];
const PREFIX = "TRIBUTARY__CONTEXT__SECRETS__GITHUB_";

/** What a test gets from `useGitHubTestEnv`; everything is fresh per test except the App's key pair. */
export interface GitHubTestEnv {
  github: GitHubStandIn;
  /** A token that can read and write every repository. */
  token: string;
  /** A read-only token. */
  reader: string;
  /** A token that sees no private repository. */
  outsider: string;
  /** An App known to the stand-in, with its private key. */
  app: ReturnType<typeof generateGitHubApp>;
  /** `GITHUB_APP_CREDENTIALS` for `app`. */
  appCredentials: { APP_ID: number; PRIVATE_KEY: string; INSTALLATION_ID: number };
  logs: LogRecord[];
  home: string;
}

/**
 * Per test: a fresh TRIBUTARY_HOME temp dir, no GitHub env vars, an empty client cache, captured logs, and a
 * fresh stand-in with `acme/public` (README.md, workflow ci.yml) and the private `acme/private`.
 */
export function useGitHubTestEnv(extra: Partial<GitHubStandInOptions> = {}): GitHubTestEnv {
  const env = { logs: [] as LogRecord[] } as GitHubTestEnv;
  const saved = new Map<string, string | undefined>();
  beforeAll(() => {
    env.app = generateGitHubApp();
    env.appCredentials = {
      APP_ID: env.app.id,
      PRIVATE_KEY: env.app.privateKey,
      INSTALLATION_ID: env.app.installationId,
    };
  });
  beforeEach(async () => {
    for (const name of [...TOUCHED, ...Object.keys(process.env).filter((k) => k.startsWith(PREFIX))]) {
      saved.set(name, process.env[name]);
      delete process.env[name];
    }
    env.home = await mkdtemp(join(tmpdir(), "tributary-github-"));
    process.env.TRIBUTARY_HOME = env.home;
    env.token = generateGitHubToken();
    env.reader = generateGitHubToken();
    env.outsider = generateGitHubToken("github_pat_");
    env.github = await startGitHubStandIn({
      tokens: [
        { token: env.token, login: "alice" },
        { token: env.reader, permission: "read" },
        { token: env.outsider, repos: [] },
      ],
      apps: [env.app],
      repos: [
        { fullName: "acme/public", files: { "README.md": "# Public\n" }, workflows: ["ci.yml"] },
        { fullName: "acme/private", private: true, files: { VERSION: "1.0.0\n" } },
      ],
      ...extra,
    });
    env.logs.length = 0;
    clientCache.clear();
    configureLogging({ level: "debug", sink: (_line, record) => env.logs.push(record) });
  });
  afterEach(async () => {
    await env.github.close();
    for (const [name, value] of saved) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    saved.clear();
    await rm(env.home, { recursive: true, force: true });
  });
  return env;
}

/** The `Authorization` headers the stand-in received, in order. */
export function authorizations(github: GitHubStandIn): (string | undefined)[] {
  return github.requests.map((r) => r.headers.authorization as string | undefined);
}
