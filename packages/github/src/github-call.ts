import { taskContext } from "@tributary/flow";
import {
  checkEndpoint,
  checkMaxWait,
  connectGitHub,
  type GitHubClientOptions,
  type GitHubCredential,
  type GitHubOctokit,
  type GitHubScope,
} from "./github-client.js";
import { toGitHubError } from "./github-errors.js";

/** @internal Per-request options: the task's abort signal and the rate-limit budget read by the throttle handlers. */
export interface CallRequestOptions {
  signal?: AbortSignal;
  maxRateLimitWaitMs: number;
}

/** @internal One task's use of a GitHub client. */
export interface GitHubCall {
  readonly octokit: GitHubOctokit;
  readonly credential: GitHubCredential;
  /** Fresh request options for one Octokit call. */
  request(): CallRequestOptions;
  /** Runs one Octokit call, mapping its errors onto Tributary's. */
  run<T>(what: string, fn: (octokit: GitHubOctokit, request: CallRequestOptions) => Promise<T>): Promise<T>;
}

/** @internal Checks the client options (before any request), then resolves the credential and its client. */
export function checkClientOptions(options: GitHubClientOptions): number {
  checkEndpoint(options.endpoint);
  return checkMaxWait(options.maxRateLimitWaitMs);
}

/** @internal Opens a call: the cached client for the resolved credential, with the task's signal. */
export async function openGitHubCall(options: GitHubClientOptions, scope?: GitHubScope): Promise<GitHubCall> {
  const maxRateLimitWaitMs = checkClientOptions(options);
  const { octokit, credential } = await connectGitHub(options, scope);
  const signal = taskContext()?.signal;
  const request = (): CallRequestOptions => ({ ...(signal ? { signal } : {}), maxRateLimitWaitMs });
  return {
    octokit,
    credential,
    request,
    async run(what, fn) {
      try {
        return await fn(octokit, request());
      } catch (error) {
        throw toGitHubError(error, { what, credential, maxRateLimitWaitMs });
      }
    },
  };
}

/** @internal The client options out of a task's input, for `openGitHubCall`. */
export function clientOptionsOf(input: GitHubClientOptions): GitHubClientOptions {
  const { token, app, secretName, appSecretName, endpoint, maxRateLimitWaitMs, leastPrivilege } = input;
  return { token, app, secretName, appSecretName, endpoint, maxRateLimitWaitMs, leastPrivilege };
}
