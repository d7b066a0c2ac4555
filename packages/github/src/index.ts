export {
  CredentialRejectedError,
  InvalidSecretError,
  MissingCredentialsError,
  ServiceError,
  TributaryError,
  ValidationError,
} from "@tributary/auth";
export {
  type GitHubCreateBranchOptions,
  type GitHubCreateBranchResult,
  type GitHubCreatePullRequestOptions,
  githubCreateBranch,
  githubCreatePullRequest,
  type GitHubPullRequest,
} from "./github-branches.js";
export {
  GITHUB_DEFAULT_ENDPOINT,
  GITHUB_ENDPOINT_ENV,
  DEFAULT_MAX_RATE_LIMIT_WAIT_MS,
  type GitHubClientOptions,
  type GitHubCredential,
  type GitHubOctokit,
  githubClient,
} from "./github-client.js";
export {
  type GitHubReadFileOptions,
  type GitHubReadFileResult,
  githubReadFile,
  type GitHubWriteFileOptions,
  type GitHubWriteFileResult,
  githubWriteFile,
} from "./github-contents.js";
export {
  type GitHubCreateIssueCommentOptions,
  type GitHubCreateIssueOptions,
  githubCreateIssue,
  githubCreateIssueComment,
  type GitHubIssue,
  type GitHubIssueComment,
} from "./github-issues.js";
export { type GitHubGetRepoOptions, type GitHubRepository, githubGetRepo } from "./github-repo.js";
export {
  type GitHubDispatchWorkflowOptions,
  type GitHubDispatchWorkflowResult,
  githubDispatchWorkflow,
} from "./github-workflows.js";
