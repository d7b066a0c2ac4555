import type { RestEndpointMethodTypes } from "@octokit/rest";
import { type Task, task } from "@tributary/flow";
import { checkClientOptions, clientOptionsOf, openGitHubCall } from "./github-call.js";
import type { GitHubClientOptions } from "./github-client.js";
import { checkNumber, checkOptionalString, checkStringList, checkText, parseRepo } from "./github-input.js";

/** An issue as GitHub returns it. */
export type GitHubIssue = RestEndpointMethodTypes["issues"]["create"]["response"]["data"];
/** An issue comment as GitHub returns it. */
export type GitHubIssueComment = RestEndpointMethodTypes["issues"]["createComment"]["response"]["data"];

/** The options of `githubCreateIssue`. */
export interface GitHubCreateIssueOptions extends GitHubClientOptions {
  /** The repository, `owner/name`. */
  repo: string;
  /** The title; must not be empty (at most 256 characters). */
  title: string;
  /** The body (Markdown). */
  body?: string;
  /** Label names. */
  labels?: string[];
  /** Logins to assign. */
  assignees?: string[];
}

/**
 * Opens an issue. Needs a credential that can write issues; an anonymous call fails with
 * `MissingCredentialsError` saying how to set a token.
 * @example
 * const issue = await githubCreateIssue({ repo: "acme/app", title: "Nightly load failed", labels: ["ops"] });
 * issue.html_url;
 */
export const githubCreateIssue: Task<[options: GitHubCreateIssueOptions], GitHubIssue> = task(
  { name: "githubCreateIssue" },
  async (options: GitHubCreateIssueOptions): Promise<GitHubIssue> => {
    const { owner, repo, fullName } = parseRepo(options?.repo);
    const title = checkText("title", options.title, 256);
    const body = checkOptionalString("body", options.body);
    const labels = checkStringList("labels", options.labels);
    const assignees = checkStringList("assignees", options.assignees);
    checkClientOptions(options);
    const call = await openGitHubCall(clientOptionsOf(options), { repo, permissions: { issues: "write" } });
    return call.run(`repository ${fullName}`, async (octokit, request) => {
      const { data } = await octokit.rest.issues.create({
        owner,
        repo,
        title,
        ...(body !== undefined ? { body } : {}),
        ...(labels ? { labels } : {}),
        ...(assignees ? { assignees } : {}),
        request,
      });
      return data;
    });
  },
);

/** The options of `githubCreateIssueComment`. */
export interface GitHubCreateIssueCommentOptions extends GitHubClientOptions {
  /** The repository, `owner/name`. */
  repo: string;
  /** The issue or pull request number. */
  issueNumber: number;
  /** The comment (Markdown); must not be empty. */
  body: string;
}

/**
 * Comments on an issue or pull request.
 * @example
 * await githubCreateIssueComment({ repo: "acme/app", issueNumber: 42, body: "Fixed in #43" });
 */
export const githubCreateIssueComment: Task<[options: GitHubCreateIssueCommentOptions], GitHubIssueComment> =
  task(
    { name: "githubCreateIssueComment" },
    async (options: GitHubCreateIssueCommentOptions): Promise<GitHubIssueComment> => {
      const { owner, repo, fullName } = parseRepo(options?.repo);
      const issueNumber = checkNumber("issueNumber", options.issueNumber);
      const body = checkText("body", options.body);
      checkClientOptions(options);
      const call = await openGitHubCall(clientOptionsOf(options), { repo, permissions: { issues: "write" } });
      return call.run(`issue #${issueNumber} in ${fullName}`, async (octokit, request) => {
        const { data } = await octokit.rest.issues.createComment({
          owner,
          repo,
          issue_number: issueNumber,
          body,
          request,
        });
        return data;
      });
    },
  );
