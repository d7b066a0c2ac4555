import { describe, expect, it } from "vitest";
import { useGitHubTestEnv } from "../test/helpers.js";
import { githubCreateIssue, githubGetRepo, githubReadFile, githubWriteFile } from "./index.js";

const env = useGitHubTestEnv();

/** Whether a request with `token` is answered with success, over HTTP as any client would send it. */
async function status(token: string, method: string, path: string, body?: object): Promise<number> {
  const res = await fetch(`${env.github.url}${path}`, {
    method,
    headers: { authorization: `token ${token}`, "content-type": "application/json" },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  await res.arrayBuffer();
  return res.status;
}

describe("leastPrivilege with a GitHub App: installation tokens for one repository and the task's permissions", () => {
  const app = () => ({ app: env.appCredentials, endpoint: env.github.url, leastPrivilege: true });

  it("an issue task gets issues:write on its one repository, and its token can do nothing else", async () => {
    const issue = await githubCreateIssue({ ...app(), repo: "acme/private", title: "scoped" });
    expect(issue.number).toBeGreaterThan(0);
    const minted = env.github.installationTokens.at(-1);
    expect(minted?.repositories).toEqual(["private"]);
    expect(minted?.permissions).toEqual({ issues: "write" });
    const token = minted?.token as string;
    expect(await status(token, "POST", "/repos/acme/private/issues", { title: "again" })).toBe(201);
    expect(await status(token, "POST", "/repos/acme/public/issues", { title: "elsewhere" })).toBe(403);
    expect(
      await status(token, "PUT", "/repos/acme/private/contents/x.txt", { message: "m", content: "eA==" }),
    ).toBe(403);
  });

  it("a read task's token cannot write, and each scope has its own cached token", async () => {
    await githubReadFile({ ...app(), repo: "acme/private", path: "VERSION" });
    await githubReadFile({ ...app(), repo: "acme/private", path: "VERSION" });
    expect(env.github.installationTokens).toHaveLength(1);
    const token = env.github.installationTokens[0]?.token as string;
    expect(env.github.installationTokens[0]?.permissions).toEqual({ contents: "read" });
    expect(
      await status(token, "PUT", "/repos/acme/private/contents/y.txt", { message: "m", content: "eA==" }),
    ).toBe(403);
    await githubWriteFile({ ...app(), repo: "acme/private", path: "y.txt", content: "y", message: "add y" });
    expect(env.github.installationTokens).toHaveLength(2);
    expect(env.github.installationTokens[1]?.permissions).toEqual({ contents: "write" });
  });

  it("a personal access token cannot be restricted: said once at info, and the task still runs", async () => {
    for (let i = 0; i < 2; i++) {
      const info = await githubGetRepo({
        token: env.token,
        endpoint: env.github.url,
        repo: "acme/public",
        leastPrivilege: true,
      });
      expect(info.full_name).toBe("acme/public");
    }
    const said = env.logs.filter((r) => String(r.message).includes("cannot be restricted"));
    expect(said).toHaveLength(1);
    expect(said[0]?.level).toBe("info");
    expect(JSON.stringify(said)).not.toContain(env.token);
  });
});
