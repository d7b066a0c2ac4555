import type { RestEndpointMethodTypes } from "@octokit/rest";
import { type Task, task } from "@tributary/flow";
import { checkClientOptions, clientOptionsOf, openGitHubCall } from "./github-call.js";
import type { GitHubClientOptions } from "./github-client.js";
import { parseRepo } from "./github-input.js";

/** A repository as GitHub describes it (`GET /repos/{owner}/{repo}`). */
export type GitHubRepository = RestEndpointMethodTypes["repos"]["get"]["response"]["data"];

/** The options of `githubGetRepo`. */
export interface GitHubGetRepoOptions extends GitHubClientOptions {
  /** The repository, `owner/name`. */
  repo: string;
}

/**
 * Reads a repository's metadata: default branch, visibility, counts, URLs. Public repositories can be read
 * without a credential; a private one the credential cannot see is a `ServiceError` `NOT_FOUND` naming the
 * credential's source.
 * @example
 * const info = await githubGetRepo({ repo: "acme/app" });
 * info.default_branch; // "main"
 */
export const githubGetRepo: Task<[options: GitHubGetRepoOptions], GitHubRepository> = task(
  { name: "githubGetRepo" },
  async (options: GitHubGetRepoOptions): Promise<GitHubRepository> => {
    const { owner, repo, fullName } = parseRepo(options?.repo);
    checkClientOptions(options);
    const call = await openGitHubCall(clientOptionsOf(options), { repo, permissions: { metadata: "read" } });
    return call.run(`repository ${fullName}`, async (octokit, request) => {
      const { data } = await octokit.rest.repos.get({ owner, repo, request });
      return data;
    });
  },
);
