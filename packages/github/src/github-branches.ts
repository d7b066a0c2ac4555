import type { RestEndpointMethodTypes } from "@octokit/rest";
import { ServiceError, ValidationError } from "@tributary/auth";
import { type Task, task } from "@tributary/flow";
import { checkClientOptions, clientOptionsOf, type GitHubCall, openGitHubCall } from "./github-call.js";
import type { GitHubClientOptions } from "./github-client.js";
import { checkBranch, checkOptionalString, checkText, parseRepo } from "./github-input.js";

/** A pull request as GitHub returns it. */
export type GitHubPullRequest = RestEndpointMethodTypes["pulls"]["create"]["response"]["data"];

/** @internal The repository's default branch. */
export async function defaultBranch(call: GitHubCall, owner: string, repo: string): Promise<string> {
  return call.run(`repository ${owner}/${repo}`, async (octokit, request) => {
    const { data } = await octokit.rest.repos.get({ owner, repo, request });
    return data.default_branch;
  });
}

/** The options of `githubCreateBranch`. */
export interface GitHubCreateBranchOptions extends GitHubClientOptions {
  /** The repository, `owner/name`. */
  repo: string;
  /** The new branch's name (`feature/x`; `refs/heads/` may be left out). */
  branch: string;
  /** Where it starts: a branch name or a 40-character commit sha. Default: the repository's default branch. */
  from?: string;
}

/** What `githubCreateBranch` resolves to. */
export interface GitHubCreateBranchResult {
  /** The branch name. */
  branch: string;
  /** The full ref, `refs/heads/<branch>`. */
  ref: string;
  /** The commit it points at. */
  sha: string;
}

/**
 * Creates a branch from another branch, a commit, or the default branch. A branch that already exists is a
 * `ServiceError` `CONFLICT`.
 * @example
 * const { sha } = await githubCreateBranch({ repo: "acme/app", branch: "bot/update-deps" });
 */
export const githubCreateBranch: Task<[options: GitHubCreateBranchOptions], GitHubCreateBranchResult> = task(
  { name: "githubCreateBranch" },
  async (options: GitHubCreateBranchOptions): Promise<GitHubCreateBranchResult> => {
    const { owner, repo, fullName } = parseRepo(options?.repo);
    const branch = checkBranch("branch", options.branch);
    const from = checkOptionalString("from", options.from);
    const fromSha = from !== undefined && /^[0-9a-f]{40}$/i.test(from) ? from : undefined;
    if (from !== undefined && !fromSha) checkBranch("from", from);
    checkClientOptions(options);
    const call = await openGitHubCall(clientOptionsOf(options), { repo, permissions: { contents: "write" } });
    let sha = fromSha;
    if (!sha) {
      const base = from ?? (await defaultBranch(call, owner, repo));
      sha = await call.run(`branch ${base} in ${fullName}`, async (octokit, request) => {
        const { data } = await octokit.rest.git.getRef({ owner, repo, ref: `heads/${base}`, request });
        return data.object.sha;
      });
    }
    const ref = `refs/heads/${branch}`;
    try {
      await call.run(`repository ${fullName}`, async (octokit, request) => {
        await octokit.rest.git.createRef({ owner, repo, ref, sha, request });
      });
    } catch (error) {
      if (ServiceError.isInstance(error) && error.status === 422 && /already exists/i.test(error.message)) {
        throw new ServiceError("CONFLICT", "GitHub", `branch ${branch} already exists in ${fullName}`, 422, {
          cause: error,
          reason: error.reason,
        });
      }
      throw error;
    }
    return { branch, ref, sha };
  },
);

/** The options of `githubCreatePullRequest`. */
export interface GitHubCreatePullRequestOptions extends GitHubClientOptions {
  /** The repository, `owner/name`. */
  repo: string;
  /** The title; must not be empty. */
  title: string;
  /** The branch with the changes (`branch`, or `user:branch` for a fork). */
  head: string;
  /** The branch to merge into. Default: the repository's default branch. */
  base?: string;
  /** The description (Markdown). */
  body?: string;
  /** Open it as a draft. */
  draft?: boolean;
}

/**
 * Opens a pull request from `head` into `base` (default: the default branch).
 * @example
 * await githubCreateBranch({ repo: "acme/app", branch: "bot/update" });
 * await githubWriteFile({ repo: "acme/app", branch: "bot/update", path: "VERSION", content: "1.2.3\n" });
 * const pr = await githubCreatePullRequest({ repo: "acme/app", head: "bot/update", title: "Bump version" });
 */
export const githubCreatePullRequest: Task<[options: GitHubCreatePullRequestOptions], GitHubPullRequest> =
  task(
    { name: "githubCreatePullRequest" },
    async (options: GitHubCreatePullRequestOptions): Promise<GitHubPullRequest> => {
      const { owner, repo, fullName } = parseRepo(options?.repo);
      const title = checkText("title", options.title, 256);
      if (typeof options.head !== "string") throw new ValidationError("head", "must be a branch name");
      const colon = options.head.indexOf(":");
      checkBranch("head", colon === -1 ? options.head : options.head.slice(colon + 1));
      const base = options.base === undefined ? undefined : checkBranch("base", options.base);
      const body = checkOptionalString("body", options.body);
      if (options.draft !== undefined && typeof options.draft !== "boolean") {
        throw new ValidationError("draft", "must be true or false");
      }
      checkClientOptions(options);
      const call = await openGitHubCall(clientOptionsOf(options), {
        repo,
        permissions: { pull_requests: "write" },
      });
      const into = base ?? (await defaultBranch(call, owner, repo));
      return call.run(`repository ${fullName}`, async (octokit, request) => {
        const { data } = await octokit.rest.pulls.create({
          owner,
          repo,
          title,
          head: options.head,
          base: into,
          ...(body !== undefined ? { body } : {}),
          ...(options.draft !== undefined ? { draft: options.draft } : {}),
          request,
        });
        return data;
      });
    },
  );
