import { ServiceError, ValidationError } from "@tributary/auth";
import { type Task, task } from "@tributary/flow";
import { checkClientOptions, clientOptionsOf, openGitHubCall } from "./github-call.js";
import type { GitHubClientOptions } from "./github-client.js";
import { checkBranch, checkOptionalString, checkPath, checkSha, parseRepo } from "./github-input.js";

/** The options of `githubReadFile`. */
export interface GitHubReadFileOptions extends GitHubClientOptions {
  /** The repository, `owner/name`. */
  repo: string;
  /** The file's path in the repository, such as `docs/README.md`. */
  path: string;
  /** A branch, tag or commit sha. Default: the default branch. */
  ref?: string;
  /** How `content` is returned: `"utf8"` text (default) or `"base64"` for binary files. */
  encoding?: "utf8" | "base64";
}

/** What `githubReadFile` resolves to. */
export interface GitHubReadFileResult {
  /** The path. */
  path: string;
  /** The blob sha: pass it to `githubWriteFile` to update exactly this version. */
  sha: string;
  /** The size in bytes. */
  size: number;
  /** The content, decoded as `encoding` asks. */
  content: string;
  /** How `content` is encoded. */
  encoding: "utf8" | "base64";
}

/**
 * Reads a file through the contents API (files up to 1 MB). A missing file is a `ServiceError` `NOT_FOUND`; a
 * directory is `NOT_A_FILE`.
 * @example
 * const { content, sha } = await githubReadFile({ repo: "acme/app", path: "VERSION" });
 */
export const githubReadFile: Task<[options: GitHubReadFileOptions], GitHubReadFileResult> = task(
  { name: "githubReadFile" },
  async (options: GitHubReadFileOptions): Promise<GitHubReadFileResult> => {
    const { owner, repo, fullName } = parseRepo(options?.repo);
    const path = checkPath(options.path);
    const ref = checkOptionalString("ref", options.ref);
    const encoding = options.encoding ?? "utf8";
    if (encoding !== "utf8" && encoding !== "base64")
      throw new ValidationError("encoding", 'must be "utf8" or "base64"');
    checkClientOptions(options);
    const call = await openGitHubCall(clientOptionsOf(options), { repo, permissions: { contents: "read" } });
    const what = `file ${path} in ${fullName}${ref ? ` at ${ref}` : ""}`;
    const data = await call.run(what, async (octokit, request) => {
      const response = await octokit.rest.repos.getContent({
        owner,
        repo,
        path,
        ...(ref !== undefined ? { ref } : {}),
        request,
      });
      return response.data;
    });
    if (Array.isArray(data) || data.type !== "file") {
      throw new ServiceError(
        "NOT_A_FILE",
        "GitHub",
        `${what} is a ${Array.isArray(data) ? "directory" : data.type}`,
      );
    }
    if (data.encoding !== "base64") {
      throw new ServiceError(
        "TOO_LARGE",
        "GitHub",
        `${what} is ${data.size} bytes; the contents API returns files up to 1 MB (use the git blobs API for larger ones)`,
      );
    }
    const bytes = Buffer.from(data.content ?? "", "base64");
    return {
      path: data.path,
      sha: data.sha,
      size: data.size,
      content: encoding === "base64" ? bytes.toString("base64") : bytes.toString("utf8"),
      encoding,
    };
  },
);

/** The options of `githubWriteFile`. */
export interface GitHubWriteFileOptions extends GitHubClientOptions {
  /** The repository, `owner/name`. */
  repo: string;
  /** The file's path in the repository. */
  path: string;
  /** The new content: text (written as UTF-8) or bytes. */
  content: string | Uint8Array;
  /** The commit message. Default `Create <path>` or `Update <path>`. */
  message?: string;
  /** The branch to commit to. Default: the default branch. */
  branch?: string;
  /**
   * The blob sha of the version being replaced (from `githubReadFile`): the write fails with `CONFLICT` if the file
   * changed since. Without it the current sha is looked up, so the write replaces whatever is there.
   */
  sha?: string;
}

/** What `githubWriteFile` resolves to. */
export interface GitHubWriteFileResult {
  /** The path. */
  path: string;
  /** The new blob sha. */
  sha: string;
  /** The commit made. */
  commitSha: string;
  /** Whether the file was created (rather than updated). */
  created: boolean;
}

/**
 * Creates or updates a file in one commit through the contents API. Give `sha` (from `githubReadFile`) to update only
 * the version you read: a file changed since is a `ServiceError` `CONFLICT`.
 * @example
 * const current = await githubReadFile({ repo: "acme/app", path: "VERSION" });
 * await githubWriteFile({ repo: "acme/app", path: "VERSION", content: "1.2.4\n", sha: current.sha, message: "Bump" });
 */
export const githubWriteFile: Task<[options: GitHubWriteFileOptions], GitHubWriteFileResult> = task(
  { name: "githubWriteFile" },
  async (options: GitHubWriteFileOptions): Promise<GitHubWriteFileResult> => {
    const { owner, repo, fullName } = parseRepo(options?.repo);
    const path = checkPath(options.path);
    if (typeof options.content !== "string" && !(options.content instanceof Uint8Array)) {
      throw new ValidationError("content", "must be a string or bytes (Uint8Array)");
    }
    const message = checkOptionalString("message", options.message);
    if (message !== undefined && message.trim() === "")
      throw new ValidationError("message", "must not be empty");
    const branch = options.branch === undefined ? undefined : checkBranch("branch", options.branch);
    let sha = checkSha("sha", options.sha);
    checkClientOptions(options);
    const call = await openGitHubCall(clientOptionsOf(options), { repo, permissions: { contents: "write" } });
    const what = `file ${path} in ${fullName}${branch ? ` on ${branch}` : ""}`;
    if (sha === undefined) {
      try {
        sha = await call.run(what, async (octokit, request) => {
          const { data } = await octokit.rest.repos.getContent({
            owner,
            repo,
            path,
            ...(branch !== undefined ? { ref: branch } : {}),
            request,
          });
          if (Array.isArray(data)) throw new ServiceError("NOT_A_FILE", "GitHub", `${what} is a directory`);
          return data.sha;
        });
      } catch (error) {
        if (!(ServiceError.isInstance(error) && error.code === "NOT_FOUND")) throw error;
      }
    }
    const content = Buffer.from(options.content).toString("base64");
    return call.run(what, async (octokit, request) => {
      const { data, status } = await octokit.rest.repos.createOrUpdateFileContents({
        owner,
        repo,
        path,
        message: message ?? `${sha ? "Update" : "Create"} ${path}`,
        content,
        ...(sha !== undefined ? { sha } : {}),
        ...(branch !== undefined ? { branch } : {}),
        request,
      });
      return {
        path,
        sha: data.content?.sha ?? "",
        commitSha: data.commit.sha ?? "",
        created: status === 201,
      };
    });
  },
);
