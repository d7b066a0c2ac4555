export {
  type CreateBranchOptions,
  type CreateBranchResult,
  type CreatePullRequestOptions,
  createBranch,
  createPullRequest,
  type GitHubPullRequest,
} from "./github-branches.js";
export {
  DEFAULT_BASE_URL,
  DEFAULT_MAX_RATE_LIMIT_WAIT_MS,
  type GitHubClientOptions,
  type GitHubCredential,
  type GitHubOctokit,
  githubClient,
} from "./github-client.js";
export {
  type ReadFileOptions,
  type ReadFileResult,
  readFile,
  type WriteFileOptions,
  type WriteFileResult,
  writeFile,
} from "./github-contents.js";
export {
  type CreateIssueCommentOptions,
  type CreateIssueOptions,
  createIssue,
  createIssueComment,
  type GitHubIssue,
  type GitHubIssueComment,
} from "./github-issues.js";
export { type GetRepoInfoOptions, type GitHubRepository, getRepoInfo } from "./github-repo.js";
export {
  type GitHubStorageKind,
  type GitHubStorageOptions,
  githubStorage,
  githubStorageKind,
} from "./github-storage.js";
export {
  type DispatchWorkflowOptions,
  type DispatchWorkflowResult,
  dispatchWorkflow,
} from "./github-workflows.js";
