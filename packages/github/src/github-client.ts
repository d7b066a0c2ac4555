import type { Octokit } from "@octokit/rest";
import {
  clientCache,
  credentialFingerprint,
  describeProvenance,
  describeSource,
  findSecret,
  type GithubAppCredentials,
  MissingCredentialsError,
  mask,
  resolveSecret,
  type Secret,
  SecretNotAllowedError,
  type SecretSource,
  ValidationError,
} from "@tributary/auth";
import { logOncePerRun, taskContext } from "@tributary/flow";
import { pickEndpoint } from "@tributary/integration-kit";
import { refreshingAppAuth } from "./app-auth.js";
import { type ApproveWait, limitRequests } from "./github-limits.js";

let octokitClass: Promise<typeof Octokit> | undefined;
/**
 * @internal `@octokit/rest`'s Octokit, loaded on the first client so that importing `@tributary/github` costs less
 * than importing `@octokit/rest`. Rate limits and retries are `limitRequests`' hook, added to each client.
 */
function loadOctokit(): Promise<typeof Octokit> {
  octokitClass ??= import("@octokit/rest").then((rest) => rest.Octokit);
  return octokitClass;
}

let appAuthModule: Promise<typeof import("@octokit/auth-app")> | undefined;
/** A GitHub client made by `githubClient`: an `@octokit/rest` Octokit with retries and rate-limit handling. */
export type GitHubOctokit = Octokit;

/** GitHub's public API. */
export const GITHUB_DEFAULT_ENDPOINT = "https://api.github.com";
/** The default longest wait for rate limits per call: one minute. */
export const DEFAULT_MAX_RATE_LIMIT_WAIT_MS = 60_000;

/** The credential options every GitHub task and `githubClient` take. */
export interface GitHubClientOptions {
  /**
   * A personal access token, fine-grained token or installation token. Wins over every other source. Without
   * `token` and `app` the credential comes from the secret `GITHUB_ACCESS_TOKEN`, then `GITHUB_APP_CREDENTIALS`,
   * then env `GITHUB_TOKEN`, then `GH_TOKEN`; with none of them, calls are anonymous.
   */
  token?: string | Secret<string>;
  /** GitHub App credentials (`{ APP_ID, PRIVATE_KEY, INSTALLATION_ID }`): installation tokens are minted and refreshed before they expire. */
  app?: GithubAppCredentials | Secret<GithubAppCredentials>;
  /** Read the token from this secret name instead of `GITHUB_ACCESS_TOKEN`; an error when it is found nowhere (no fallback). */
  secretName?: string;
  /** Read App credentials from this secret name instead of `GITHUB_APP_CREDENTIALS`; an error when it is found nowhere. */
  appSecretName?: string;
  /**
   * The API root: `https://HOST/api/v3` for GitHub Enterprise Server, or a stand-in. Default: `GITHUB_API_URL`
   * (set in GitHub Actions), else `https://api.github.com`.
   */
  endpoint?: string;
  /**
   * The longest a call waits out GitHub rate limits in total (primary: until `x-ratelimit-reset`; secondary:
   * `retry-after`), in milliseconds. A limit that would take longer fails at once with a `ServiceError`
   * `THROTTLED` (retryable). Default 60000; 0 never waits.
   */
  maxRateLimitWaitMs?: number;
  /**
   * With a GitHub App, mint installation tokens restricted to the task's one repository and the permissions it
   * needs (`repositories`, `permissions` in the access-token request). A personal access token cannot be
   * restricted: the task says so once per run at `info` and runs with it.
   */
  leastPrivilege?: boolean;
}

/** What one GitHub task touches: a repository (its name) and the permissions it needs there. */
export interface GitHubScope {
  repo: string;
  permissions: Record<string, "read" | "write">;
}

/** Which credential a GitHub client uses and where it came from. `source` is safe to log; it never holds the value. */
export type GitHubCredential =
  | { kind: "token"; source: SecretSource }
  | { kind: "app"; source: SecretSource; appId: string; installationId: string }
  | { kind: "anonymous"; missing: MissingCredentialsError };

/** @internal A client with its credential, for the tasks' error messages. */
export interface GitHubConnection {
  readonly octokit: GitHubOctokit;
  readonly credential: GitHubCredential;
  readonly endpoint: string;
}

const forward = (message: string) => {
  taskContext()?.log.debug(mask(`GitHub SDK: ${message}`));
};
/**
 * The SDK's logger: everything it says goes to the calling task's logger at debug, masked. Its "errors" are
 * answers the tasks handle themselves (the 404 of `writeFile` looking for a file it will create) or report.
 */
const sdkLog = { debug: forward, info: forward, warn: forward, error: forward };

/** The environment variable GitHub Actions sets to the API root (GitHub Enterprise included): honoured by `githubClient`. */
export const GITHUB_ENDPOINT_ENV = "GITHUB_API_URL";

/** @internal The API root: the `endpoint` option, else `GITHUB_API_URL`, else `https://api.github.com`. */
export function checkEndpoint(endpoint: string | undefined): string {
  return pickEndpoint(endpoint, [GITHUB_ENDPOINT_ENV]).url ?? GITHUB_DEFAULT_ENDPOINT;
}

/** @internal Checks `maxRateLimitWaitMs`. */
export function checkMaxWait(value: number | undefined): number {
  if (value === undefined) return DEFAULT_MAX_RATE_LIMIT_WAIT_MS;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new ValidationError("maxRateLimitWaitMs", "must be a non-negative number of milliseconds");
  }
  return value;
}

/** Looks a fallback name up, skipping it when the task may not read it (least privilege). */
async function optional<T>(lookup: () => Promise<T | undefined>): Promise<T | undefined> {
  try {
    return await lookup();
  } catch (error) {
    if (SecretNotAllowedError.isInstance(error)) return undefined;
    throw error;
  }
}

type Found =
  | { kind: "token"; value: string; source: SecretSource }
  | { kind: "app"; value: GithubAppCredentials; source: SecretSource }
  | { kind: "anonymous"; missing: MissingCredentialsError };

/**
 * The resolution order: `token`/`app` → `secretName`/`appSecretName` (no fallback) → `GITHUB_ACCESS_TOKEN` →
 * `GITHUB_APP_CREDENTIALS` → env `GITHUB_TOKEN`, `GH_TOKEN` → anonymous.
 */
async function findCredential(options: GitHubClientOptions): Promise<Found> {
  if (options.token !== undefined) {
    const r = await findSecret("GITHUB_ACCESS_TOKEN", { value: options.token, argument: "token" });
    if (r) return { kind: "token", value: r.value, source: r.source };
  }
  if (options.app !== undefined) {
    const r = await findSecret("GITHUB_APP_CREDENTIALS", { value: options.app, argument: "app" });
    if (r) return { kind: "app", value: r.value, source: r.source };
  }
  if (options.secretName !== undefined) {
    const r = await resolveSecret("GITHUB_ACCESS_TOKEN", { secretName: options.secretName });
    return { kind: "token", value: r.value as string, source: r.source };
  }
  if (options.appSecretName !== undefined) {
    const r = await resolveSecret("GITHUB_APP_CREDENTIALS", { secretName: options.appSecretName });
    return { kind: "app", value: r.value as GithubAppCredentials, source: r.source };
  }
  const token = await optional(() => findSecret("GITHUB_ACCESS_TOKEN"));
  if (token) return { kind: "token", value: token.value, source: token.source };
  const app = await optional(() => findSecret("GITHUB_APP_CREDENTIALS"));
  if (app) return { kind: "app", value: app.value, source: app.source };
  try {
    const r = await resolveSecret("GITHUB_ACCESS_TOKEN");
    return { kind: "token", value: r.value as string, source: r.source };
  } catch (error) {
    if (MissingCredentialsError.isInstance(error)) return { kind: "anonymous", missing: error };
    if (SecretNotAllowedError.isInstance(error)) {
      return {
        kind: "anonymous",
        missing: new MissingCredentialsError("GITHUB_ACCESS_TOKEN", [], { cause: error }),
      };
    }
    throw error;
  }
}

interface LimitState {
  maxRateLimitWaitMs?: number;
  tributaryWaitedMs?: number;
}

function makeOctokit(
  TributaryOctokit: typeof Octokit,
  createAppAuth: typeof import("@octokit/auth-app").createAppAuth | undefined,
  found: Found,
  baseUrl: string,
  limitKey: string,
  defaultMaxWait: number,
  scope?: GitHubScope,
): GitHubOctokit {
  const allowWait: ApproveWait = (kind, retryAfterSeconds, options) => {
    const state = options.request as LimitState;
    const budget = state.maxRateLimitWaitMs ?? defaultMaxWait;
    const waited = state.tributaryWaitedMs ?? 0;
    const waitMs = retryAfterSeconds * 1000;
    if (waited + waitMs > budget) return false;
    state.tributaryWaitedMs = waited + waitMs;
    taskContext()?.log.warn(
      `GitHub ${kind} rate limit on ${options.method} ${options.url}: waiting ${retryAfterSeconds}s before retrying`,
    );
    return true;
  };
  const common = { baseUrl, userAgent: "tributary-github", log: sdkLog };
  let octokit: GitHubOctokit;
  if (found.kind === "token") octokit = new TributaryOctokit({ ...common, auth: found.value });
  else if (found.kind === "app") {
    octokit = new TributaryOctokit({
      ...common,
      authStrategy: refreshingAppAuth,
      auth: {
        appId: String(found.value.APP_ID),
        privateKey: found.value.PRIVATE_KEY,
        installationId: String(found.value.INSTALLATION_ID),
        createAppAuth,
        ...(scope ? { repositoryNames: [scope.repo], permissions: scope.permissions } : {}),
      },
    });
  } else octokit = new TributaryOctokit(common);
  limitRequests(octokit, limitKey, allowWait);
  return octokit;
}

/** @internal Resolves the credential and returns the cached client for it, with the credential's provenance. */
export async function connectGitHub(
  options: GitHubClientOptions = {},
  wanted?: GitHubScope,
): Promise<GitHubConnection> {
  const baseUrl = checkEndpoint(options.endpoint);
  const maxWait = checkMaxWait(options.maxRateLimitWaitMs);
  const found = await findCredential(options);
  const least = options.leastPrivilege ?? taskContext()?.leastPrivilege;
  const scope = least && wanted && found.kind === "app" ? wanted : undefined;
  if (least && wanted && found.kind === "token") {
    logOncePerRun(
      `unscoped:${describeSource(found.source)}`,
      `leastPrivilege: GITHUB_ACCESS_TOKEN from ${describeSource(found.source)} cannot be restricted (a personal access token); the task runs with the whole token`,
    );
  }
  const fingerprint = found.kind === "anonymous" ? "anonymous" : credentialFingerprint(found.value);
  let scopeKey = "";
  if (scope) {
    // A loop, not Object.entries: this runs on every call of a scoped task.
    scopeKey = `:scope=${scope.repo}`;
    for (const name in scope.permissions) scopeKey += `,${name}:${scope.permissions[name]}`;
  }
  const key = `github:${fingerprint}:${baseUrl}${maxWait === DEFAULT_MAX_RATE_LIMIT_WAIT_MS ? "" : `:wait=${maxWait}`}${scopeKey}`;
  const TributaryOctokit = await loadOctokit();
  if (found.kind === "app") appAuthModule ??= import("@octokit/auth-app");
  const createAppAuth = found.kind === "app" ? (await appAuthModule)?.createAppAuth : undefined;
  // Spacing is per credential and endpoint, whatever the wait budget or scope of the client.
  const limitKey = `github:${fingerprint}:${baseUrl}`;
  const octokit = clientCache.get(key, () =>
    makeOctokit(TributaryOctokit, createAppAuth, found, baseUrl, limitKey, maxWait, scope),
  );
  if (scope && found.kind === "app") {
    // A cached call in the same run checks one entry; the set behind logOncePerRun still holds across interleaved runs.
    const runId = taskContext()?.runId ?? "no-run";
    if (loggedRun.get(octokit) !== runId) {
      loggedRun.set(octokit, runId);
      logOncePerRun(
        `scoped:${key}`,
        () =>
          `${describeProvenance("GITHUB_APP_CREDENTIALS", found.source)}, scoped to ${scope.repo} with ${Object.entries(
            scope.permissions,
          )
            .map(([k, v]) => `${k}:${v}`)
            .join(", ")}`,
      );
    }
  }
  const credential: GitHubCredential =
    found.kind === "token"
      ? { kind: "token", source: found.source }
      : found.kind === "app"
        ? {
            kind: "app",
            source: found.source,
            appId: String(found.value.APP_ID),
            installationId: String(found.value.INSTALLATION_ID),
          }
        : { kind: "anonymous", missing: found.missing };
  return { octokit, credential, endpoint: baseUrl };
}

/**
 * Returns an Octokit (`@octokit/rest` with retries and rate-limit handling) for the credential found through
 * Tributary's resolution order: `token` or `app` → the secret `GITHUB_ACCESS_TOKEN` (or `secretName`) → the secret
 * `GITHUB_APP_CREDENTIALS` (installation tokens minted and refreshed before expiry) → env `GITHUB_TOKEN`, then
 * `GH_TOKEN` → anonymous (public data only). Clients are cached per credential fingerprint and endpoint, so
 * calls with the same credential share one client.
 * @example
 * const octokit = await githubClient({ endpoint: "https://github.example.com/api/v3" });
 * const { data } = await octokit.rest.repos.get({ owner: "acme", repo: "app" });
 */
export async function githubClient(options: GitHubClientOptions = {}): Promise<GitHubOctokit> {
  return (await connectGitHub(options)).octokit;
}

/** The run whose log last named a scoped client. */
const loggedRun = new WeakMap<object, string>();
