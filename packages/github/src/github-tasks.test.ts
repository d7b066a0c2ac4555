import { describe, expect, it } from "vitest";
import { useGitHubTestEnv } from "../test/helpers.js";
import {
  githubClient,
  githubCreateBranch,
  githubCreateIssue,
  githubCreateIssueComment,
  githubCreatePullRequest,
  githubDispatchWorkflow,
  githubGetRepo,
  githubReadFile,
  githubWriteFile,
} from "./index.js";

const env = useGitHubTestEnv();
const on = () => ({ token: env.token, endpoint: env.github.url });

describe("GitHub tasks against the stand-in", () => {
  it("githubGetRepo returns GitHub's repository description", async () => {
    const info = await githubGetRepo({ repo: "acme/private", ...on() });
    expect(info).toMatchObject({ full_name: "acme/private", private: true, default_branch: "main" });
  });

  it("githubCreateIssue and githubCreateIssueComment", async () => {
    const issue = await githubCreateIssue({
      repo: "acme/public",
      title: "Nightly load failed",
      body: "See the run report",
      labels: ["ops"],
      ...on(),
    });
    expect([issue.number, issue.title, issue.user?.login]).toEqual([1, "Nightly load failed", "alice"]);
    const comment = await githubCreateIssueComment({
      repo: "acme/public",
      issueNumber: issue.number,
      body: "Fixed",
      ...on(),
    });
    expect(comment.body).toBe("Fixed");
    const repo = env.github.repo("acme/public");
    expect(repo?.issues.map((i) => [i.title, i.body, i.labels])).toEqual([
      ["Nightly load failed", "See the run report", ["ops"]],
    ]);
    expect(repo?.comments.map((c) => [c.issueNumber, c.body, c.user])).toEqual([[1, "Fixed", "alice"]]);
  });

  it("branch, file create and update with sha, read, pull request", async () => {
    const repo = env.github.repo("acme/private");
    const main = repo?.branches.get("main");
    const branch = await githubCreateBranch({ repo: "acme/private", branch: "bot/bump", ...on() });
    expect(branch).toEqual({ branch: "bot/bump", ref: "refs/heads/bot/bump", sha: main });

    const created = await githubWriteFile({
      repo: "acme/private",
      branch: "bot/bump",
      path: "docs/notes.md",
      content: "hello\n",
      ...on(),
    });
    expect(created.created).toBe(true);
    const read = await githubReadFile({ repo: "acme/private", path: "VERSION", ref: "bot/bump", ...on() });
    expect(read).toMatchObject({ path: "VERSION", content: "1.0.0\n", size: 6 });
    const updated = await githubWriteFile({
      repo: "acme/private",
      branch: "bot/bump",
      path: "VERSION",
      content: new TextEncoder().encode("1.0.1\n"),
      sha: read.sha,
      message: "Bump version",
      ...on(),
    });
    expect(updated.created).toBe(false);
    expect(updated.sha).not.toBe(read.sha);
    expect(repo?.file("VERSION", "bot/bump")).toBe("1.0.1\n");
    expect(repo?.file("docs/notes.md", "bot/bump")).toBe("hello\n");
    expect(repo?.file("VERSION")).toBe("1.0.0\n");

    const pr = await githubCreatePullRequest({
      repo: "acme/private",
      title: "Bump",
      head: "bot/bump",
      draft: true,
      ...on(),
    });
    expect([pr.number, pr.head.ref, pr.base.ref, pr.draft]).toEqual([1, "bot/bump", "main", true]);
  });

  it("githubWriteFile without sha replaces the current version; githubReadFile returns base64 on request", async () => {
    const first = await githubWriteFile({
      repo: "acme/public",
      path: "README.md",
      content: "# Changed\n",
      ...on(),
    });
    expect(first.created).toBe(false);
    const read = await githubReadFile({
      repo: "acme/public",
      path: "README.md",
      encoding: "base64",
      ...on(),
    });
    expect(Buffer.from(read.content, "base64").toString()).toBe("# Changed\n");
  });

  it("githubCreateBranch from a commit sha", async () => {
    const sha = env.github.repo("acme/public")?.branches.get("main") ?? "";
    const branch = await githubCreateBranch({ repo: "acme/public", branch: "from-sha", from: sha, ...on() });
    expect(branch.sha).toBe(sha);
    expect(env.github.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      "POST /repos/acme/public/git/refs",
    ]);
  });

  it("githubDispatchWorkflow on the default branch, with inputs", async () => {
    const result = await githubDispatchWorkflow({
      repo: "acme/public",
      workflow: "ci.yml",
      inputs: { level: "full", dryRun: true },
      ...on(),
    });
    expect(result).toEqual({ workflow: "ci.yml", ref: "main" });
    expect(env.github.repo("acme/public")?.dispatches).toEqual([
      { workflow: "ci.yml", ref: "main", inputs: { level: "full", dryRun: true } },
    ]);
  });

  it("githubClient gives the cached Octokit for direct calls", async () => {
    const octokit = await githubClient(on());
    expect(await githubClient(on())).toBe(octokit);
    const { data } = await octokit.rest.repos.get({ owner: "acme", repo: "public" });
    expect(data.full_name).toBe("acme/public");
  });
});
