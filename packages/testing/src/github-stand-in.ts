import {
  createHash,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
  verify,
} from "node:crypto";
import type { components } from "@octokit/openapi-types";
import {
  type RequestMatcher,
  route,
  type StandIn,
  type StandInReply,
  type StandInRequest,
  startStandIn,
} from "./stand-in.js";

type Schemas = components["schemas"];

/** A token the GitHub stand-in accepts. */
export interface GitHubStandInToken {
  /** The token value, such as one made by `generateGitHubToken()`. */
  token: string;
  /** The user it belongs to. Default `"octocat"`. */
  login?: string;
  /** The private repositories (`owner/name`) it can see. Default: all of them. */
  repos?: readonly string[];
  /** `"read"` refuses writes with 403. Default `"write"`. */
  permission?: "read" | "write";
}

/** A GitHub App the stand-in knows: installation tokens are issued only for JWTs signed with its private key. */
export interface GitHubStandInApp {
  /** The App ID (the JWT's `iss`). */
  id: number | string;
  /** The App's public key (PEM or a `KeyObject`), checking the RS256 signature of its JWTs. */
  publicKey: string | KeyObject;
  /** The installation of this App that tokens may be minted for. */
  installationId: number | string;
  /** The private repositories (`owner/name`) its installation tokens can see. Default: all of them. */
  repos?: readonly string[];
}

/** A repository to create when the stand-in starts. */
export interface GitHubStandInRepoSeed {
  /** `owner/name`. */
  fullName: string;
  /** Private repositories answer 404 to callers who cannot see them, as GitHub does. Default `false`. */
  private?: boolean;
  /** Default `"main"`. */
  defaultBranch?: string;
  /** The description. */
  description?: string;
  /** Files on the default branch: path → text. */
  files?: Record<string, string>;
  /** Workflow file names under `.github/workflows` that accept `workflow_dispatch`, such as `"ci.yml"`. */
  workflows?: readonly string[];
}

/** The options of `startGitHubStandIn`. */
export interface GitHubStandInOptions {
  /** Accepted tokens (`Authorization: token …` or `Bearer …`). */
  tokens?: ReadonlyArray<string | GitHubStandInToken>;
  /** GitHub Apps whose installations may mint tokens at `POST /app/installations/:id/access_tokens`. */
  apps?: readonly GitHubStandInApp[];
  /** How long minted installation tokens live. Default one hour, as on GitHub. */
  tokenTtlMs?: number;
  /** Repositories to create. */
  repos?: readonly GitHubStandInRepoSeed[];
  /** Primary rate limits: requests per window per credential. Defaults 5,000 (authenticated) and 60 (anonymous) per hour. */
  rateLimit?: { limit?: number; anonymousLimit?: number; windowMs?: number };
}

/** An issue or pull request as the stand-in keeps it. */
export interface GitHubStandInIssue {
  readonly number: number;
  readonly title: string;
  readonly body: string | null;
  readonly labels: readonly string[];
  readonly assignees: readonly string[];
  /** Who created it. */
  readonly user: string;
  /** For pull requests: the head and base branches. */
  readonly pull?: { head: string; base: string; draft: boolean };
}

/** A comment on an issue or pull request. */
export interface GitHubStandInComment {
  readonly id: number;
  readonly issueNumber: number;
  readonly body: string;
  readonly user: string;
}

/** A repository held by the stand-in: its state is live, read it in assertions or change it to set a scene. */
export interface GitHubStandInRepo {
  readonly id: number;
  readonly owner: string;
  readonly name: string;
  readonly fullName: string;
  private: boolean;
  defaultBranch: string;
  description: string | null;
  /** Branch name → head commit sha. */
  readonly branches: Map<string, string>;
  /** Issues and pull requests, in creation order. */
  readonly issues: GitHubStandInIssue[];
  /** Comments, in creation order. */
  readonly comments: GitHubStandInComment[];
  /** Workflow file names that accept `workflow_dispatch`. */
  readonly workflows: string[];
  /** Every workflow dispatch received. */
  readonly dispatches: { workflow: string; ref: string; inputs: Record<string, unknown> }[];
  /** A file's text on a branch (default branch when omitted), or `undefined`. */
  file(path: string, branch?: string): string | undefined;
  /** Writes a file on a branch (default branch when omitted) as a new commit. */
  setFile(path: string, content: string | Uint8Array, branch?: string): void;
}

/** An installation token the stand-in minted. */
export interface GitHubStandInInstallationToken {
  readonly appId: string;
  readonly installationId: string;
  readonly token: string;
  readonly expiresAt: Date;
  /** The repository names the token was restricted to (`repositories` in the request), if any. */
  readonly repositories?: readonly string[];
  /** The permissions the token was restricted to (`permissions` in the request), if any. */
  readonly permissions?: Readonly<Record<string, "read" | "write">>;
}

/** A running GitHub REST stand-in. */
export interface GitHubStandIn extends StandIn {
  /** The repository `owner/name`, or `undefined`. */
  repo(fullName: string): GitHubStandInRepo | undefined;
  /** Adds a repository. */
  addRepo(seed: GitHubStandInRepoSeed): GitHubStandInRepo;
  /** Accepts another token. */
  addToken(token: string | GitHubStandInToken): void;
  /** Stops accepting a token (personal or installation): it answers 401 Bad credentials from now on. */
  revokeToken(token: string): void;
  /** Every installation token minted, in order. */
  readonly installationTokens: readonly GitHubStandInInstallationToken[];
  /** Uses up the primary rate limit of a credential (`"anonymous"` for calls without one) until `resetInMs` from now. */
  exhaustRateLimit(credential: string, resetInMs: number): void;
  /** Answers the next `count` matching requests with GitHub's secondary rate limit (403 with `retry-after`). */
  secondaryRateLimitNext(
    count: number,
    options?: { retryAfterSeconds?: number; match?: RequestMatcher },
  ): void;
}

const DOCS = "https://docs.github.com/rest";
const BASE62 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

function randomBase62(length: number): string {
  const bytes = randomBytes(length);
  let out = "";
  for (const b of bytes) out += BASE62[b % 62];
  return out;
}

/**
 * Makes a fresh, random token in GitHub's format (`ghp_` + 36 characters by default) for a test.
 * @example
 * const token = generateGitHubToken();
 * const github = await startGitHubStandIn({ tokens: [token] });
 */
export function generateGitHubToken(prefix = "ghp_"): string {
  return prefix + randomBase62(36);
}

/**
 * Makes a GitHub App for a test: a fresh RSA key pair (PKCS#8 PEM), an App ID and an installation ID.
 * Pass `privateKey` to your code as `GITHUB_APP_CREDENTIALS` and the app itself to `startGitHubStandIn({ apps })`.
 * @example
 * const app = generateGitHubApp();
 * const github = await startGitHubStandIn({ apps: [app] });
 * const credentials = { APP_ID: app.id, PRIVATE_KEY: app.privateKey, INSTALLATION_ID: app.installationId };
 */
export function generateGitHubApp(options: { id?: number; installationId?: number } = {}): {
  id: number;
  installationId: number;
  privateKey: string;
  publicKey: string;
} {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", {
    modulusLength: 2048,
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  });
  return {
    id: options.id ?? 100_000 + (randomBytes(2).readUInt16BE() % 900_000),
    installationId: options.installationId ?? 1_000_000 + randomBytes(3).readUIntBE(0, 3),
    privateKey,
    publicKey,
  };
}

function gitSha(kind: string, content: Buffer): string {
  return createHash("sha1").update(`${kind} ${content.length}\u0000`).update(content).digest("hex");
}

/** Whether a check returned its error reply rather than what it checked. */
function isReply(value: object): value is StandInReply {
  return "status" in value && "body" in value;
}

function error(status: number, message: string, headers: Record<string, string> = {}): StandInReply {
  return { status, headers, body: { message, documentation_url: DOCS, status: String(status) } };
}

interface Identity {
  kind: "token" | "installation" | "anonymous";
  key: string;
  login: string;
  canSee: (fullName: string) => boolean;
  canWrite: boolean;
  /** For a restricted installation token: whether it may do `write` (or read) on what `path` is about. */
  allows?: (path: string, write: boolean) => boolean;
}

/** The permission a repository route needs, as GitHub names them in installation tokens. */
function permissionFor(path: string): string {
  if (/^\/repos\/[^/]+\/[^/]+\/issues/.test(path)) return "issues";
  if (/^\/repos\/[^/]+\/[^/]+\/pulls/.test(path)) return "pull_requests";
  if (/^\/repos\/[^/]+\/[^/]+\/(contents|git)\//.test(path)) return "contents";
  if (/^\/repos\/[^/]+\/[^/]+\/actions\//.test(path)) return "actions";
  return "metadata";
}

interface RepoState extends GitHubStandInRepo {
  files: Map<string, Map<string, { content: Buffer; sha: string }>>;
  created: string;
}

/**
 * Starts a GitHub REST API stand-in on a real socket: repositories, issues, comments, branches, pull requests,
 * file contents and workflow dispatches, with GitHub's auth checks (`token`/`Bearer`, 401 `Bad credentials`,
 * 404 for private repositories a caller cannot see), primary and secondary rate limits, and the GitHub App flow
 * (`POST /app/installations/:id/access_tokens` takes only an RS256 JWT signed with the App's key and mints
 * expiring `ghs_` tokens). Responses are typed with GitHub's own schemas (`@octokit/openapi-types`).
 * @example
 * const token = generateGitHubToken();
 * const github = await startGitHubStandIn({ tokens: [token], repos: [{ fullName: "acme/app" }] });
 * const octokit = new Octokit({ auth: token, baseUrl: github.url });
 * await octokit.rest.issues.create({ owner: "acme", repo: "app", title: "Hi" });
 * github.repo("acme/app")?.issues; // [{ number: 1, title: "Hi", … }]
 * await github.close();
 */
export async function startGitHubStandIn(options: GitHubStandInOptions = {}): Promise<GitHubStandIn> {
  const tokens = new Map<string, GitHubStandInToken>();
  const addToken = (t: string | GitHubStandInToken) => {
    const entry = typeof t === "string" ? { token: t } : t;
    tokens.set(entry.token, entry);
  };
  for (const t of options.tokens ?? []) addToken(t);
  const apps = (options.apps ?? []).map((app) => ({
    ...app,
    id: String(app.id),
    installationId: String(app.installationId),
    key: typeof app.publicKey === "string" ? createPublicKey(app.publicKey) : app.publicKey,
  }));
  const tokenTtlMs = options.tokenTtlMs ?? 3_600_000;
  const installationTokens: GitHubStandInInstallationToken[] = [];
  const revoked = new Set<string>();
  const repos = new Map<string, RepoState>();
  const limits = {
    limit: options.rateLimit?.limit ?? 5000,
    anonymousLimit: options.rateLimit?.anonymousLimit ?? 60,
    windowMs: options.rateLimit?.windowMs ?? 3_600_000,
  };
  const usage = new Map<string, { used: number; resetAt: number }>();
  let nextId = 1;
  let base = "";

  const addRepo = (seed: GitHubStandInRepoSeed): GitHubStandInRepo => {
    const [owner, name, extra] = seed.fullName.split("/");
    if (!owner || !name || extra !== undefined) throw new TypeError(`Not owner/name: ${seed.fullName}`);
    const defaultBranch = seed.defaultBranch ?? "main";
    const files = new Map<string, Map<string, { content: Buffer; sha: string }>>();
    const branches = new Map<string, string>();
    const commit = () => randomBytes(20).toString("hex");
    const repo: RepoState = {
      id: nextId++,
      owner,
      name,
      fullName: `${owner}/${name}`,
      private: seed.private ?? false,
      defaultBranch,
      description: seed.description ?? null,
      branches,
      issues: [],
      comments: [],
      workflows: [...(seed.workflows ?? [])],
      dispatches: [],
      files,
      created: new Date().toISOString(),
      file: (path, branch) =>
        files
          .get(branch ?? repo.defaultBranch)
          ?.get(path)
          ?.content.toString("utf8"),
      setFile: (path, content, branch) => {
        const b = branch ?? repo.defaultBranch;
        const buf = Buffer.from(content);
        const tree = files.get(b) ?? new Map<string, { content: Buffer; sha: string }>();
        files.set(b, tree);
        tree.set(path, { content: buf, sha: gitSha("blob", buf) });
        branches.set(b, commit());
      },
    };
    branches.set(defaultBranch, commit());
    files.set(defaultBranch, new Map());
    for (const [path, text] of Object.entries(seed.files ?? {})) repo.setFile(path, text);
    repos.set(repo.fullName.toLowerCase(), repo);
    return repo;
  };
  for (const seed of options.repos ?? []) addRepo(seed);

  const user = (login: string): Schemas["simple-user"] => {
    const u = `${base}/users/${login}`;
    return {
      login,
      id: [...login].reduce((n, c) => n * 31 + c.charCodeAt(0), 7) % 1_000_000,
      node_id: Buffer.from(`User:${login}`).toString("base64"),
      avatar_url: `${base}/avatars/${login}`,
      gravatar_id: "",
      url: u,
      html_url: `${base}/${login}`,
      followers_url: `${u}/followers`,
      following_url: `${u}/following{/other_user}`,
      gists_url: `${u}/gists{/gist_id}`,
      starred_url: `${u}/starred{/owner}{/repo}`,
      subscriptions_url: `${u}/subscriptions`,
      organizations_url: `${u}/orgs`,
      repos_url: `${u}/repos`,
      events_url: `${u}/events{/privacy}`,
      received_events_url: `${u}/received_events`,
      type: "User",
      site_admin: false,
    };
  };

  const repository = (r: RepoState, who: Identity): Schemas["repository"] => {
    const u = `${base}/repos/${r.fullName}`;
    const html = `${base}/${r.fullName}`;
    const openIssues = r.issues.length;
    return {
      id: r.id,
      node_id: Buffer.from(`Repository:${r.id}`).toString("base64"),
      name: r.name,
      full_name: r.fullName,
      owner: user(r.owner),
      private: r.private,
      visibility: r.private ? "private" : "public",
      html_url: html,
      description: r.description,
      fork: false,
      url: u,
      archive_url: `${u}/{archive_format}{/ref}`,
      assignees_url: `${u}/assignees{/user}`,
      blobs_url: `${u}/git/blobs{/sha}`,
      branches_url: `${u}/branches{/branch}`,
      collaborators_url: `${u}/collaborators{/collaborator}`,
      comments_url: `${u}/comments{/number}`,
      commits_url: `${u}/commits{/sha}`,
      compare_url: `${u}/compare/{base}...{head}`,
      contents_url: `${u}/contents/{+path}`,
      contributors_url: `${u}/contributors`,
      deployments_url: `${u}/deployments`,
      downloads_url: `${u}/downloads`,
      events_url: `${u}/events`,
      forks_url: `${u}/forks`,
      git_commits_url: `${u}/git/commits{/sha}`,
      git_refs_url: `${u}/git/refs{/sha}`,
      git_tags_url: `${u}/git/tags{/sha}`,
      git_url: `git://127.0.0.1/${r.fullName}.git`,
      issue_comment_url: `${u}/issues/comments{/number}`,
      issue_events_url: `${u}/issues/events{/number}`,
      issues_url: `${u}/issues{/number}`,
      keys_url: `${u}/keys{/key_id}`,
      labels_url: `${u}/labels{/name}`,
      languages_url: `${u}/languages`,
      merges_url: `${u}/merges`,
      milestones_url: `${u}/milestones{/number}`,
      notifications_url: `${u}/notifications{?since,all,participating}`,
      pulls_url: `${u}/pulls{/number}`,
      releases_url: `${u}/releases{/id}`,
      ssh_url: `git@127.0.0.1:${r.fullName}.git`,
      stargazers_url: `${u}/stargazers`,
      statuses_url: `${u}/statuses/{sha}`,
      subscribers_url: `${u}/subscribers`,
      subscription_url: `${u}/subscription`,
      tags_url: `${u}/tags`,
      teams_url: `${u}/teams`,
      trees_url: `${u}/git/trees{/sha}`,
      clone_url: `${html}.git`,
      mirror_url: null,
      hooks_url: `${u}/hooks`,
      svn_url: html,
      homepage: null,
      language: null,
      forks_count: 0,
      forks: 0,
      stargazers_count: 0,
      watchers_count: 0,
      watchers: 0,
      size: 0,
      default_branch: r.defaultBranch,
      open_issues_count: openIssues,
      open_issues: openIssues,
      has_issues: true,
      has_projects: true,
      has_wiki: true,
      has_pages: false,
      has_downloads: true,
      archived: false,
      disabled: false,
      pushed_at: r.created,
      created_at: r.created,
      updated_at: r.created,
      license: null,
      permissions: {
        admin: false,
        push: who.canWrite && who.kind !== "anonymous",
        pull: true,
      },
    };
  };

  const fullRepository = (r: RepoState, who: Identity): Schemas["full-repository"] => {
    const { pushed_at, created_at, updated_at, ...rest } = repository(r, who);
    return {
      ...rest,
      pushed_at: pushed_at ?? r.created,
      created_at: created_at ?? r.created,
      updated_at: updated_at ?? r.created,
      has_discussions: false,
      subscribers_count: 0,
      network_count: 0,
    };
  };

  const issueJson = (r: RepoState, i: GitHubStandInIssue): Schemas["issue"] => {
    const u = `${base}/repos/${r.fullName}/issues/${i.number}`;
    const now = new Date().toISOString();
    return {
      id: r.id * 100_000 + i.number,
      node_id: Buffer.from(`Issue:${r.id}:${i.number}`).toString("base64"),
      url: u,
      repository_url: `${base}/repos/${r.fullName}`,
      labels_url: `${u}/labels{/name}`,
      comments_url: `${u}/comments`,
      events_url: `${u}/events`,
      html_url: `${base}/${r.fullName}/issues/${i.number}`,
      number: i.number,
      state: "open",
      title: i.title,
      body: i.body,
      user: user(i.user),
      labels: i.labels.map((name) => ({ name })),
      assignee: i.assignees[0] ? user(i.assignees[0]) : null,
      assignees: i.assignees.map(user),
      milestone: null,
      locked: false,
      comments: r.comments.filter((c) => c.issueNumber === i.number).length,
      closed_at: null,
      created_at: now,
      updated_at: now,
      author_association: "OWNER",
    };
  };

  const pullJson = (r: RepoState, i: GitHubStandInIssue, who: Identity): Schemas["pull-request"] => {
    const u = `${base}/repos/${r.fullName}/pulls/${i.number}`;
    const html = `${base}/${r.fullName}/pull/${i.number}`;
    const issue = `${base}/repos/${r.fullName}/issues/${i.number}`;
    const now = new Date().toISOString();
    const pull = i.pull ?? { head: "", base: "", draft: false };
    const side = (ref: string) => ({
      label: `${r.owner}:${ref}`,
      ref,
      repo: repository(r, who),
      sha: r.branches.get(ref) ?? "",
      user: user(r.owner),
    });
    const headSha = r.branches.get(pull.head) ?? "";
    return {
      url: u,
      id: r.id * 100_000 + i.number,
      node_id: Buffer.from(`PullRequest:${r.id}:${i.number}`).toString("base64"),
      html_url: html,
      diff_url: `${html}.diff`,
      patch_url: `${html}.patch`,
      issue_url: issue,
      commits_url: `${u}/commits`,
      review_comments_url: `${u}/comments`,
      review_comment_url: `${base}/repos/${r.fullName}/pulls/comments{/number}`,
      comments_url: `${issue}/comments`,
      statuses_url: `${base}/repos/${r.fullName}/statuses/${headSha}`,
      number: i.number,
      state: "open",
      locked: false,
      title: i.title,
      user: user(i.user),
      body: i.body,
      labels: [],
      milestone: null,
      created_at: now,
      updated_at: now,
      closed_at: null,
      merged_at: null,
      merge_commit_sha: null,
      assignee: null,
      draft: pull.draft,
      head: side(pull.head),
      base: side(pull.base),
      _links: {
        comments: { href: `${issue}/comments` },
        commits: { href: `${u}/commits` },
        statuses: { href: `${base}/repos/${r.fullName}/statuses/${headSha}` },
        html: { href: html },
        issue: { href: issue },
        review_comments: { href: `${u}/comments` },
        review_comment: { href: `${base}/repos/${r.fullName}/pulls/comments{/number}` },
        self: { href: u },
      },
      author_association: "OWNER",
      auto_merge: null,
      merged: false,
      mergeable: null,
      mergeable_state: "unknown",
      merged_by: null,
      comments: 0,
      review_comments: 0,
      maintainer_can_modify: false,
      commits: 1,
      additions: 0,
      deletions: 0,
      changed_files: 0,
    };
  };

  const rateHeaders = (who: Identity): Record<string, string> => {
    const limit = who.kind === "anonymous" ? limits.anonymousLimit : limits.limit;
    const now = Date.now();
    let entry = usage.get(who.key);
    if (!entry || entry.resetAt <= now) {
      entry = { used: 0, resetAt: now + limits.windowMs };
      usage.set(who.key, entry);
    }
    return {
      "x-ratelimit-limit": String(limit),
      "x-ratelimit-remaining": String(Math.max(0, limit - entry.used)),
      "x-ratelimit-reset": String(Math.ceil(entry.resetAt / 1000)),
      "x-ratelimit-used": String(entry.used),
      "x-ratelimit-resource": "core",
    };
  };

  /** Counts a request against the caller's primary limit; a reply when it is used up. */
  const spend = (who: Identity): StandInReply | undefined => {
    const headers = rateHeaders(who);
    const entry = usage.get(who.key) as { used: number; resetAt: number };
    const limit = Number(headers["x-ratelimit-limit"]);
    if (entry.used >= limit) {
      const message =
        who.kind === "anonymous"
          ? "API rate limit exceeded for 127.0.0.1. (But here's the good news: Authenticated requests get a higher rate limit.)"
          : `API rate limit exceeded for user ID ${user(who.login).id}.`;
      return error(403, message, headers);
    }
    entry.used++;
    return undefined;
  };

  const credentialOf = (req: StandInRequest): { scheme: string; value: string } | undefined => {
    const header = req.headers.authorization;
    if (!header) return undefined;
    const [scheme = "", value = ""] = header.split(/\s+/, 2);
    return { scheme: scheme.toLowerCase(), value };
  };

  /** Who is calling: a token, an installation token, anonymous — or a 401 reply. */
  const identify = (req: StandInRequest): Identity | StandInReply => {
    const cred = credentialOf(req);
    if (!cred)
      return { kind: "anonymous", key: "anonymous", login: "", canSee: () => false, canWrite: false };
    if (!["token", "bearer"].includes(cred.scheme) || revoked.has(cred.value))
      return error(401, "Bad credentials");
    const personal = tokens.get(cred.value);
    if (personal) {
      const visible = personal.repos?.map((r) => r.toLowerCase());
      return {
        kind: "token",
        key: cred.value,
        login: personal.login ?? "octocat",
        canSee: (full) => !visible || visible.includes(full.toLowerCase()),
        canWrite: personal.permission !== "read",
      };
    }
    const minted = installationTokens.find((t) => t.token === cred.value);
    if (minted && minted.expiresAt.getTime() > Date.now()) {
      const app = apps.find((a) => a.id === minted.appId);
      const visible = app?.repos?.map((r) => r.toLowerCase());
      const only = minted.repositories?.map((r) => r.toLowerCase());
      const granted = minted.permissions;
      return {
        kind: "installation",
        key: cred.value,
        login: `app-${minted.appId}[bot]`,
        canSee: (full) =>
          (!visible || visible.includes(full.toLowerCase())) &&
          (!only || only.includes(full.toLowerCase().split("/")[1] ?? "")),
        canWrite: true,
        ...(granted
          ? {
              allows: (path: string, write: boolean) => {
                const category = permissionFor(path);
                const level = granted[category] ?? (category === "metadata" ? "read" : undefined);
                return level === "write" || (level === "read" && !write);
              },
            }
          : {}),
      };
    }
    return error(401, "Bad credentials");
  };

  type RepoHandler = (
    req: StandInRequest,
    repo: RepoState,
    who: Identity,
  ) => StandInReply | Promise<StandInReply>;

  /** A repository route: identifies the caller, applies visibility (404), rate limits and write permission. */
  const repoRoute = (method: string, path: string, handler: RepoHandler, write = method !== "GET") =>
    route(method, path, async (req) => {
      const who = identify(req);
      if (!("kind" in who)) return who;
      const limited = spend(who);
      if (limited) return limited;
      const headers = rateHeaders(who);
      const repo = repos.get(`${req.params.owner}/${req.params.repo}`.toLowerCase());
      const visible = repo && (!repo.private || who.canSee(repo.fullName));
      let reply: StandInReply;
      if (write && who.kind === "anonymous") reply = error(401, "Requires authentication");
      else if (!repo || !visible) reply = error(404, "Not Found");
      else if (write && !who.canWrite) reply = error(403, "Resource not accessible by personal access token");
      else if (
        who.kind === "installation" &&
        ((write && !who.canSee(repo.fullName)) || (who.allows && !who.allows(req.path, write)))
      ) {
        reply = error(403, "Resource not accessible by integration");
      } else reply = await handler(req, repo, who);
      return { ...reply, headers: { ...headers, ...reply.headers } };
    });

  const branchRef = (repo: RepoState, branch: string): Schemas["git-ref"] => ({
    ref: `refs/heads/${branch}`,
    node_id: Buffer.from(`Ref:${repo.id}:${branch}`).toString("base64"),
    url: `${base}/repos/${repo.fullName}/git/refs/heads/${branch}`,
    object: {
      type: "commit",
      sha: repo.branches.get(branch) ?? "",
      url: `${base}/repos/${repo.fullName}/git/commits/${repo.branches.get(branch)}`,
    },
  });

  const invalid = (field: string) => error(422, `Invalid request.\n\n"${field}" wasn't supplied.`);

  /** Checks the App JWT (RS256, signed by the App's key, unexpired, not too far ahead) and mints a token. */
  /** Checks an App JWT (RS256, signed by the App's key, unexpired, not too far ahead): the App, or the reply. */
  const verifyAppJwt = (req: StandInRequest): (typeof apps)[number] | StandInReply => {
    const cred = credentialOf(req);
    if (cred?.scheme !== "bearer") {
      return error(401, "A JSON web token could not be decoded");
    }
    const [h = "", p = "", s = ""] = cred.value.split(".");
    let header: { alg?: string };
    let payload: { iss?: unknown; iat?: unknown; exp?: unknown };
    try {
      header = JSON.parse(Buffer.from(h, "base64url").toString("utf8"));
      payload = JSON.parse(Buffer.from(p, "base64url").toString("utf8"));
    } catch {
      return error(401, "A JSON web token could not be decoded");
    }
    const app = apps.find((a) => a.id === String(payload.iss));
    if (header.alg !== "RS256" || !app) return error(401, "A JSON web token could not be decoded");
    const signed = verify("RSA-SHA256", Buffer.from(`${h}.${p}`), app.key, Buffer.from(s, "base64url"));
    if (!signed) return error(401, "A JSON web token could not be decoded");
    const now = Math.floor(Date.now() / 1000);
    if (typeof payload.exp !== "number" || typeof payload.iat !== "number") {
      return error(
        401,
        "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires",
      );
    }
    if (payload.exp <= now) return error(401, "'Expiration time' claim ('exp') is in the past");
    if (payload.exp - now > 660)
      return error(401, "'Expiration time' claim ('exp') is too far in the future");
    if (payload.iat > now + 60)
      return error(
        401,
        "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued",
      );
    return app;
  };

  const mintInstallationToken = async (req: StandInRequest): Promise<StandInReply> => {
    const app = verifyAppJwt(req);
    if (isReply(app)) return app;
    if (app.installationId !== req.params.id) return error(404, "Not Found");
    const asked = await readBody<{ repositories: string[]; permissions: Record<string, "read" | "write"> }>(
      req,
    );
    const all = {
      contents: "write",
      issues: "write",
      pull_requests: "write",
      actions: "write",
      metadata: "read",
    };
    if (asked.repositories !== undefined) {
      if (!Array.isArray(asked.repositories)) return error(422, "repositories must be an array of names");
      const unknown = asked.repositories.find(
        (name) =>
          ![...repos.values()].some(
            (r) =>
              r.fullName.split("/")[1]?.toLowerCase() === String(name).toLowerCase() &&
              (!app.repos || app.repos.map((x) => x.toLowerCase()).includes(r.fullName.toLowerCase())),
          ),
      );
      if (unknown !== undefined)
        return error(
          422,
          `There is at least one repository that does not exist or is not accessible to the parent installation.`,
        );
    }
    if (asked.permissions !== undefined) {
      for (const [name, level] of Object.entries(asked.permissions)) {
        const max = all[name as keyof typeof all];
        if (!max || (level === "write" && max !== "write") || (level !== "read" && level !== "write")) {
          return error(422, `The permissions requested are not granted to this installation.`);
        }
      }
    }
    const minted: GitHubStandInInstallationToken = {
      appId: app.id,
      installationId: app.installationId,
      token: generateGitHubToken("ghs_"),
      expiresAt: new Date(Date.now() + tokenTtlMs),
      ...(asked.repositories ? { repositories: asked.repositories } : {}),
      ...(asked.permissions ? { permissions: asked.permissions } : {}),
    };
    installationTokens.push(minted);
    const body: Schemas["installation-token"] = {
      token: minted.token,
      expires_at: minted.expiresAt.toISOString(),
      permissions: (asked.permissions ?? all) as Schemas["installation-token"]["permissions"],
      repository_selection: app.repos || asked.repositories ? "selected" : "all",
    };
    return { status: 201, body };
  };

  const readBody = async <T>(req: StandInRequest): Promise<Partial<T>> => {
    try {
      return ((await req.json<T>()) ?? {}) as Partial<T>;
    } catch {
      return {};
    }
  };

  const routes = [
    route("POST", "/app/installations/:id/access_tokens", mintInstallationToken),
    route("GET", "/app", (req) => {
      const app = verifyAppJwt(req);
      if (isReply(app)) return app;
      return { body: { id: Number(app.id), slug: `app-${app.id}`, name: `App ${app.id}` } };
    }),
    route("GET", "/app/installations/:id", (req) => {
      const app = verifyAppJwt(req);
      if (isReply(app)) return app;
      if (app.installationId !== req.params.id) return error(404, "Not Found");
      const owner = [...repos.values()][0]?.fullName.split("/")[0] ?? "octocat";
      return { body: { id: Number(app.installationId), account: { login: owner }, app_id: Number(app.id) } };
    }),
    route("GET", "/user", (req) => {
      const who = identify(req);
      if (!("kind" in who)) return who;
      if (who.kind !== "token")
        return error(
          who.kind === "anonymous" ? 401 : 403,
          who.kind === "anonymous" ? "Requires authentication" : "Resource not accessible by integration",
        );
      return { body: { login: who.login, id: 1, type: "User" } };
    }),
    repoRoute("GET", "/repos/:owner/:repo", (_req, repo, who) => ({ body: fullRepository(repo, who) })),
    repoRoute("POST", "/repos/:owner/:repo/issues", async (req, repo, who) => {
      const input = await readBody<{ title: string; body: string; labels: string[]; assignees: string[] }>(
        req,
      );
      if (typeof input.title !== "string" || input.title.trim() === "") return invalid("title");
      const issue: GitHubStandInIssue = {
        number: repo.issues.length + 1,
        title: input.title,
        body: input.body ?? null,
        labels: input.labels ?? [],
        assignees: input.assignees ?? [],
        user: who.login,
      };
      repo.issues.push(issue);
      return { status: 201, body: issueJson(repo, issue) };
    }),
    repoRoute("POST", "/repos/:owner/:repo/issues/:number/comments", async (req, repo, who) => {
      const input = await readBody<{ body: string }>(req);
      const issue = repo.issues.find((i) => String(i.number) === req.params.number);
      if (!issue) return error(404, "Not Found");
      if (typeof input.body !== "string" || input.body === "") return invalid("body");
      const comment: GitHubStandInComment = {
        id: nextId++,
        issueNumber: issue.number,
        body: input.body,
        user: who.login,
      };
      repo.comments.push(comment);
      const now = new Date().toISOString();
      const body: Schemas["issue-comment"] = {
        id: comment.id,
        node_id: Buffer.from(`IssueComment:${comment.id}`).toString("base64"),
        url: `${base}/repos/${repo.fullName}/issues/comments/${comment.id}`,
        html_url: `${base}/${repo.fullName}/issues/${issue.number}#issuecomment-${comment.id}`,
        body: comment.body,
        user: user(who.login),
        created_at: now,
        updated_at: now,
        issue_url: `${base}/repos/${repo.fullName}/issues/${issue.number}`,
        author_association: "OWNER",
      };
      return { status: 201, body };
    }),
    repoRoute("GET", "/repos/:owner/:repo/git/ref/*", (req, repo) => {
      const ref = req.params.rest ?? "";
      const branch = ref.startsWith("heads/") ? ref.slice("heads/".length) : undefined;
      if (!branch || !repo.branches.has(branch)) return error(404, "Not Found");
      return { body: branchRef(repo, branch) };
    }),
    repoRoute("POST", "/repos/:owner/:repo/git/refs", async (req, repo) => {
      const input = await readBody<{ ref: string; sha: string }>(req);
      if (typeof input.ref !== "string" || !input.ref.startsWith("refs/heads/")) {
        return error(422, "Reference name must start with 'refs/heads/' in this stand-in");
      }
      if (typeof input.sha !== "string") return invalid("sha");
      const branch = input.ref.slice("refs/heads/".length);
      if (repo.branches.has(branch)) return error(422, "Reference already exists");
      const from = [...repo.branches].find(([, sha]) => sha === input.sha)?.[0];
      if (!from) return error(422, "Object does not exist");
      repo.branches.set(branch, input.sha);
      repo.files.set(branch, new Map(repo.files.get(from)));
      return { status: 201, body: branchRef(repo, branch) };
    }),
    repoRoute("POST", "/repos/:owner/:repo/pulls", async (req, repo, who) => {
      const input = await readBody<{
        title: string;
        head: string;
        base: string;
        body: string;
        draft: boolean;
      }>(req);
      if (typeof input.title !== "string" || input.title.trim() === "") return invalid("title");
      if (typeof input.head !== "string") return invalid("head");
      if (typeof input.base !== "string") return invalid("base");
      const head = input.head.includes(":") ? (input.head.split(":")[1] ?? "") : input.head;
      if (!repo.branches.has(head) || !repo.branches.has(input.base)) {
        return error(422, "Validation Failed: head or base branch does not exist");
      }
      if (repo.branches.get(head) === repo.branches.get(input.base)) {
        return error(422, `Validation Failed: No commits between ${input.base} and ${head}`);
      }
      const pr: GitHubStandInIssue = {
        number: repo.issues.length + 1,
        title: input.title,
        body: input.body ?? null,
        labels: [],
        assignees: [],
        user: who.login,
        pull: { head, base: input.base, draft: input.draft ?? false },
      };
      repo.issues.push(pr);
      return { status: 201, body: pullJson(repo, pr, who) };
    }),
    repoRoute("GET", "/repos/:owner/:repo/contents/*", (req, repo) => {
      const path = req.params.rest ?? "";
      const branch = req.url.searchParams.get("ref") ?? repo.defaultBranch;
      const file = repo.files.get(branch)?.get(path);
      if (!file) return error(404, "Not Found");
      // `Accept: application/vnd.github.raw` (Octokit's `mediaType: { format: "raw" }`): the bytes themselves.
      if (/application\/vnd\.github(\.v3)?\.raw/.test(String(req.headers.accept ?? ""))) {
        return { headers: { "content-type": "application/vnd.github.raw" }, body: file.content };
      }
      const u = `${base}/repos/${repo.fullName}/contents/${path}?ref=${branch}`;
      const html = `${base}/${repo.fullName}/blob/${branch}/${path}`;
      const git = `${base}/repos/${repo.fullName}/git/blobs/${file.sha}`;
      const body: Schemas["content-file"] = {
        type: "file",
        encoding: "base64",
        size: file.content.length,
        name: path.split("/").pop() ?? path,
        path,
        content: (file.content.toString("base64").match(/.{1,60}/g) ?? []).join("\n"),
        sha: file.sha,
        url: u,
        git_url: git,
        html_url: html,
        download_url: `${base}/raw/${repo.fullName}/${branch}/${path}`,
        _links: { git, html, self: u },
      };
      return { body };
    }),
    repoRoute("PUT", "/repos/:owner/:repo/contents/*", async (req, repo) => {
      const path = req.params.rest ?? "";
      const input = await readBody<{ message: string; content: string; sha: string; branch: string }>(req);
      if (typeof input.message !== "string" || input.message === "") return invalid("message");
      if (typeof input.content !== "string") return invalid("content");
      const branch = input.branch ?? repo.defaultBranch;
      if (!repo.branches.has(branch)) return error(404, `Branch ${branch} not found`);
      const existing = repo.files.get(branch)?.get(path);
      if (existing && input.sha === undefined) return invalid("sha");
      if (input.sha !== undefined && input.sha !== existing?.sha) {
        return error(409, `${path} does not match ${input.sha ?? ""}`);
      }
      repo.setFile(path, Buffer.from(input.content, "base64"), branch);
      const file = repo.files.get(branch)?.get(path) as { content: Buffer; sha: string };
      const commitSha = repo.branches.get(branch) ?? "";
      const body: Schemas["file-commit"] = {
        content: {
          name: path.split("/").pop() ?? path,
          path,
          sha: file.sha,
          size: file.content.length,
          type: "file",
          url: `${base}/repos/${repo.fullName}/contents/${path}?ref=${branch}`,
        },
        commit: {
          sha: commitSha,
          message: input.message,
          url: `${base}/repos/${repo.fullName}/git/commits/${commitSha}`,
        },
      };
      return { status: existing ? 200 : 201, body };
    }),
    repoRoute("POST", "/repos/:owner/:repo/actions/workflows/:workflow/dispatches", async (req, repo) => {
      const input = await readBody<{ ref: string; inputs: Record<string, unknown> }>(req);
      const workflow = req.params.workflow ?? "";
      if (!repo.workflows.includes(workflow)) return error(404, "Not Found");
      if (typeof input.ref !== "string") return invalid("ref");
      if (!repo.branches.has(input.ref)) return error(422, `No ref found for: ${input.ref}`);
      repo.dispatches.push({ workflow, ref: input.ref, inputs: input.inputs ?? {} });
      return { status: 204 };
    }),
  ];

  const standIn = await startStandIn(routes, {
    name: "github",
    notFound: () => error(404, "Not Found"),
  });
  base = standIn.url;
  return {
    ...standIn,
    repo: (fullName) => repos.get(fullName.toLowerCase()),
    addRepo,
    addToken,
    revokeToken: (token) => {
      revoked.add(token);
    },
    installationTokens,
    exhaustRateLimit: (credential, resetInMs) => {
      const kind = credential === "anonymous" ? "anonymous" : "token";
      usage.set(credential, {
        used: kind === "anonymous" ? limits.anonymousLimit : limits.limit,
        resetAt: Date.now() + resetInMs,
      });
    },
    secondaryRateLimitNext: (count, o = {}) =>
      standIn.failNext(count, 403, {
        headers: { "retry-after": String(o.retryAfterSeconds ?? 60), "content-type": "application/json" },
        body: {
          message:
            "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID 0000:0000:0000000:0000000:00000000.",
          documentation_url: `${DOCS}/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits`,
          status: "403",
        },
        ...(o.match ? { match: o.match } : {}),
      }),
  };
}
