import { ServiceError, ValidationError } from "@tributary/auth";
import {
  checkDeploymentFile,
  checkDeploymentName,
  checkStorageSecrets,
  type DeploymentFile,
  type FlowStorage,
  normalizePrefix,
  type StorageCallOptions,
  type StorageKind,
} from "@tributary/flow";
import { checkMaxWait, connectGitHub, type GitHubClientOptions } from "./github-client.js";
import { toGitHubError } from "./github-errors.js";
import { checkBranch, parseRepo } from "./github-input.js";

/**
 * The names a storage declares unless told: none with an explicit `token` or `app`; else `secretName` and
 * `appSecretName` when given; else `GITHUB_ACCESS_TOKEN`.
 */
function defaultSecrets(connection: GitHubClientOptions): readonly string[] {
  if (connection.token !== undefined || connection.app !== undefined) return Object.freeze([]);
  const named = [connection.secretName, connection.appSecretName].filter((n): n is string => n !== undefined);
  return Object.freeze(named.length > 0 ? named : ["GITHUB_ACCESS_TOKEN"]);
}

/** The options of `githubStorage`: a folder in a repository at a ref, the secrets to declare, the client's options. */
export interface GitHubStorageOptions extends GitHubClientOptions {
  /** The repository, `owner/name`. */
  repo: string;
  /** The folder in the repository, such as `flows/`; each deployment is `<path><flow>/`. Default: the root. */
  path?: string;
  /** The branch deployments are committed to and read from. Default: the repository's default branch. */
  ref?: string;
  /**
   * Secret names declared for every run and resolved before the pull. Default: `secretName` and `appSecretName`
   * when given, else `GITHUB_ACCESS_TOKEN`; none when `token` or `app` is given. For a GitHub App, configure the
   * kind with `appSecretName: "GITHUB_APP_CREDENTIALS"`.
   */
  secrets?: readonly string[];
}

/**
 * A folder of a GitHub repository as flow storage: the deployment `nightly` is `<path>nightly/manifest.json`
 * and `<path>nightly/flow.mjs` at `ref`, at the address `github://owner/repo/<path>nightly@ref`. Deploying
 * commits each file through the contents API; running reads them raw (files up to 100 MB). The credential comes
 * from `githubClient`'s order (`GITHUB_ACCESS_TOKEN`, `GITHUB_APP_CREDENTIALS` …) in the run's secret scope.
 * @example
 * const nightly = flow(
 *   { name: "nightly", storage: githubStorage({ repo: "acme/flows", path: "prod/", ref: "main" }) },
 *   async ({ log }) => log.info("hello"),
 * );
 */
export function githubStorage(options: GitHubStorageOptions): FlowStorage {
  if (!options || typeof options !== "object")
    throw new ValidationError("options", "give { repo, path?, ref? }");
  const { repo: rawRepo, path: rawPath, ref: rawRef, secrets: rawSecrets, ...connection } = options;
  const { owner, repo, fullName } = parseRepo(rawRepo);
  const folder = normalizePrefix(rawPath, "path");
  const ref = rawRef === undefined ? undefined : checkBranch("ref", rawRef);
  const maxRateLimitWaitMs = checkMaxWait(connection.maxRateLimitWaitMs);
  const secrets = checkStorageSecrets(rawSecrets, defaultSecrets(connection));
  const at = ref === undefined ? "" : `@${ref}`;
  const filePath = (name: string, file: string) =>
    `${folder}${checkDeploymentName(name)}/${checkDeploymentFile(file)}`;
  const request = (call: StorageCallOptions) => ({
    maxRateLimitWaitMs,
    ...(call.signal ? { signal: call.signal } : {}),
  });
  const describe = (path: string) => `${path} in ${fullName}${ref ? ` at ${ref}` : ""}`;
  return Object.freeze({
    kind: "github",
    secrets,
    describe: () => `github://${fullName}/${folder}${at}`,
    address: (name: string) => `github://${fullName}/${folder}${checkDeploymentName(name)}${at}`,
    async save(name: string, files: readonly DeploymentFile[], call: StorageCallOptions = {}): Promise<void> {
      const paths = files.map((f) => filePath(name, f.name));
      const { octokit, credential } = await connectGitHub(connection);
      for (const [i, file] of files.entries()) {
        const path = paths[i] as string;
        const what = describe(path);
        try {
          let sha: string | undefined;
          try {
            const { data } = await octokit.rest.repos.getContent({
              owner,
              repo,
              path,
              ...(ref ? { ref } : {}),
              request: request(call),
            });
            if (!Array.isArray(data)) sha = data.sha;
          } catch (error) {
            if ((error as { status?: unknown }).status !== 404) throw error;
          }
          await octokit.rest.repos.createOrUpdateFileContents({
            owner,
            repo,
            path,
            message: `Deploy ${checkDeploymentName(name)}: ${file.name}`,
            content: Buffer.from(file.bytes).toString("base64"),
            ...(sha ? { sha } : {}),
            ...(ref ? { branch: ref } : {}),
            request: request(call),
          });
        } catch (error) {
          throw toGitHubError(error, { what, credential, maxRateLimitWaitMs });
        }
      }
    },
    async load(name: string, file: string, call: StorageCallOptions = {}): Promise<Uint8Array> {
      const path = filePath(name, file);
      const { octokit, credential } = await connectGitHub(connection);
      let data: unknown;
      try {
        ({ data } = await octokit.rest.repos.getContent({
          owner,
          repo,
          path,
          ...(ref ? { ref } : {}),
          mediaType: { format: "raw" },
          request: request(call),
        }));
      } catch (error) {
        throw toGitHubError(error, { what: describe(path), credential, maxRateLimitWaitMs });
      }
      if (typeof data === "string") return Buffer.from(data, "utf8");
      if (data instanceof ArrayBuffer) return new Uint8Array(data);
      if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      throw new ServiceError("BAD_RESPONSE", "GitHub", `${describe(path)}: the raw content was not returned`);
    },
  });
}

/** The `github://` storage kind, with client options applied to every storage it builds. */
export interface GitHubStorageKind extends StorageKind {
  /** A kind whose storages use these client options (an `endpoint` for GitHub Enterprise, a `secretName` …). */
  configure(options: GitHubClientOptions): GitHubStorageKind;
}

function githubKind(connection: GitHubClientOptions): GitHubStorageKind {
  const split = (location: string) => {
    const hash = location.lastIndexOf("@");
    const path = hash === -1 ? location : location.slice(0, hash);
    const ref = hash === -1 ? undefined : location.slice(hash + 1);
    if (ref === "") throw new ValidationError("address", "a github:// address ends with @ref or no @ at all");
    return { path, ref };
  };
  return Object.freeze({
    scheme: "github",
    secrets: defaultSecrets(connection),
    fromLocation(location: string): FlowStorage {
      const { path, ref } = split(location);
      const [owner = "", name = "", ...rest] = path.split("/");
      if (owner === "" || name === "") {
        throw new ValidationError(
          "address",
          "a github:// address starts with the repository: github://owner/repo/path@ref",
        );
      }
      return githubStorage({
        ...connection,
        repo: `${owner}/${name}`,
        path: rest.join("/"),
        ...(ref !== undefined ? { ref } : {}),
      });
    },
    splitLocation(location: string): { storage: string; name: string } {
      const { path, ref } = split(location);
      const trimmed = path.replace(/\/+$/, "");
      const cut = trimmed.lastIndexOf("/");
      return {
        storage: `${trimmed.slice(0, cut + 1)}${ref !== undefined ? `@${ref}` : ""}`,
        name: trimmed.slice(cut + 1),
      };
    },
    configure: (options: GitHubClientOptions) => githubKind({ ...connection, ...options }),
  });
}

/**
 * The `github://` kind for `runDeployment` and the CLI: `github://acme/flows/prod/nightly@main` is the deployment
 * `nightly` in `githubStorage({ repo: "acme/flows", path: "prod/", ref: "main" })`, declaring `GITHUB_ACCESS_TOKEN`.
 * @example
 * await runDeployment("github://acme/flows/prod/nightly@main", { kinds: [githubStorageKind] });
 */
export const githubStorageKind: GitHubStorageKind = githubKind({});
