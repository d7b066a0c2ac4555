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
  type GitHubPullRequest,
  githubCreateBranch,
  githubCreatePullRequest,
} from "./github-branches.js";
export {
  DEFAULT_MAX_RATE_LIMIT_WAIT_MS,
  GITHUB_DEFAULT_ENDPOINT,
  GITHUB_ENDPOINT_ENV,
  type GitHubClientOptions,
  type GitHubCredential,
  type GitHubOctokit,
  type GitHubScope,
  githubClient,
} from "./github-client.js";
export {
  type GitHubReadFileOptions,
  type GitHubReadFileResult,
  type GitHubWriteFileOptions,
  type GitHubWriteFileResult,
  githubReadFile,
  githubWriteFile,
} from "./github-contents.js";
export { githubIdentity } from "./github-identity.js";
export {
  type GitHubCreateIssueCommentOptions,
  type GitHubCreateIssueOptions,
  type GitHubIssue,
  type GitHubIssueComment,
  githubCreateIssue,
  githubCreateIssueComment,
} from "./github-issues.js";
export { type GitHubGetRepoOptions, type GitHubRepository, githubGetRepo } from "./github-repo.js";
export {
  type GitHubStorageKind,
  type GitHubStorageOptions,
  githubStorage,
  githubStorageKind,
} from "./github-storage.js";
export {
  type GitHubDispatchWorkflowOptions,
  type GitHubDispatchWorkflowResult,
  githubDispatchWorkflow,
} from "./github-workflows.js";
