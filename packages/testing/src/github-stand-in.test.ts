import { sign } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { type GitHubStandIn, generateGitHubApp, generateGitHubToken, startGitHubStandIn } from "./index.js";

let github: GitHubStandIn | undefined;
afterEach(async () => {
  await github?.close();
  github = undefined;
});

async function call(
  path: string,
  options: { method?: string; auth?: string; body?: unknown } = {},
): Promise<{ status: number; headers: Headers; body: any }> {
  const res = await fetch(`${github?.url}${path}`, {
    method: options.method ?? "GET",
    headers: {
      ...(options.auth ? { authorization: options.auth } : {}),
      ...(options.body ? { "content-type": "application/json" } : {}),
    },
    body: options.body ? JSON.stringify(options.body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : undefined };
}

function jwt(privateKey: string, claims: Record<string, unknown>, alg = "RS256"): string {
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const data = `${enc({ alg, typ: "JWT" })}.${enc(claims)}`;
  return `${data}.${sign("RSA-SHA256", Buffer.from(data), privateKey).toString("base64url")}`;
}

describe("startGitHubStandIn", () => {
  it("checks tokens and hides private repositories as GitHub does", async () => {
    const token = generateGitHubToken();
    const narrow = generateGitHubToken();
    github = await startGitHubStandIn({
      tokens: [token, { token: narrow, repos: ["acme/public"] }],
      repos: [{ fullName: "acme/public" }, { fullName: "acme/secret", private: true }],
    });
    const cases = [
      { path: "/repos/acme/public", auth: `token ${token}`, status: 200 },
      { path: "/repos/acme/secret", auth: `Bearer ${token}`, status: 200 },
      { path: "/repos/acme/public", auth: undefined, status: 200 },
      { path: "/repos/acme/secret", auth: undefined, status: 404 },
      { path: "/repos/acme/secret", auth: `token ${narrow}`, status: 404 },
      { path: "/repos/acme/public", auth: `token ${generateGitHubToken()}`, status: 401 },
      { path: "/repos/acme/nope", auth: `token ${token}`, status: 404 },
    ];
    for (const c of cases) {
      const res = await call(c.path, { auth: c.auth });
      expect({ path: c.path, auth: c.auth, status: res.status }).toEqual(c);
    }
    const bad = await call("/repos/acme/public", { auth: `token ${generateGitHubToken()}` });
    expect(bad.body).toMatchObject({ message: "Bad credentials", documentation_url: expect.any(String) });
    const ok = await call("/repos/acme/secret", { auth: `token ${token}` });
    expect(ok.body).toMatchObject({ full_name: "acme/secret", private: true, default_branch: "main" });
    expect(Number(ok.headers.get("x-ratelimit-remaining"))).toBeLessThan(5000);
    github.revokeToken(token);
    expect((await call("/repos/acme/public", { auth: `token ${token}` })).status).toBe(401);
  });

  it("refuses anonymous and read-only writes", async () => {
    const reader = generateGitHubToken();
    github = await startGitHubStandIn({
      tokens: [{ token: reader, permission: "read" }],
      repos: [{ fullName: "acme/app" }],
    });
    const anonymous = await call("/repos/acme/app/issues", { method: "POST", body: { title: "x" } });
    expect([anonymous.status, anonymous.body.message]).toEqual([401, "Requires authentication"]);
    const readOnly = await call("/repos/acme/app/issues", {
      method: "POST",
      auth: `token ${reader}`,
      body: { title: "x" },
    });
    expect(readOnly.status).toBe(403);
    expect(github.repo("acme/app")?.issues).toEqual([]);
  });

  it("keeps issues, comments, branches, pull requests, files and dispatches", async () => {
    const token = generateGitHubToken();
    github = await startGitHubStandIn({
      tokens: [{ token, login: "alice" }],
      repos: [{ fullName: "acme/app", files: { "README.md": "# App\n" }, workflows: ["ci.yml"] }],
    });
    const auth = `token ${token}`;
    const issue = await call("/repos/acme/app/issues", { method: "POST", auth, body: { title: "Bug" } });
    expect([issue.status, issue.body.number, issue.body.user.login]).toEqual([201, 1, "alice"]);
    const noTitle = await call("/repos/acme/app/issues", { method: "POST", auth, body: {} });
    expect(noTitle.status).toBe(422);
    const comment = await call("/repos/acme/app/issues/1/comments", {
      method: "POST",
      auth,
      body: { body: "hi" },
    });
    expect(comment.status).toBe(201);

    const main = await call("/repos/acme/app/git/ref/heads%2Fmain", { auth });
    expect(main.body.ref).toBe("refs/heads/main");
    const branch = await call("/repos/acme/app/git/refs", {
      method: "POST",
      auth,
      body: { ref: "refs/heads/feature", sha: main.body.object.sha },
    });
    expect(branch.status).toBe(201);
    const again = await call("/repos/acme/app/git/refs", {
      method: "POST",
      auth,
      body: { ref: "refs/heads/feature", sha: main.body.object.sha },
    });
    expect([again.status, again.body.message]).toEqual([422, "Reference already exists"]);

    const readme = await call("/repos/acme/app/contents/README.md?ref=feature", { auth });
    expect(Buffer.from(readme.body.content, "base64").toString()).toBe("# App\n");
    const put = (sha?: string) =>
      call("/repos/acme/app/contents/README.md", {
        method: "PUT",
        auth,
        body: { message: "edit", content: Buffer.from("# New\n").toString("base64"), branch: "feature", sha },
      });
    expect((await put()).status).toBe(422);
    expect((await put("0".repeat(40))).status).toBe(409);
    expect((await put(readme.body.sha)).status).toBe(200);
    expect(github.repo("acme/app")?.file("README.md", "feature")).toBe("# New\n");
    expect(github.repo("acme/app")?.file("README.md")).toBe("# App\n");

    const pr = await call("/repos/acme/app/pulls", {
      method: "POST",
      auth,
      body: { title: "Feature", head: "feature", base: "main" },
    });
    expect([pr.status, pr.body.number, pr.body.head.ref, pr.body.base.ref]).toEqual([
      201,
      2,
      "feature",
      "main",
    ]);

    const dispatch = await call("/repos/acme/app/actions/workflows/ci.yml/dispatches", {
      method: "POST",
      auth,
      body: { ref: "main", inputs: { level: "1" } },
    });
    expect(dispatch.status).toBe(204);
    expect(github.repo("acme/app")?.dispatches).toEqual([
      { workflow: "ci.yml", ref: "main", inputs: { level: "1" } },
    ]);
    const unknown = await call("/repos/acme/app/actions/workflows/nope.yml/dispatches", {
      method: "POST",
      auth,
      body: { ref: "main" },
    });
    expect(unknown.status).toBe(404);
  });

  it("mints installation tokens only for JWTs signed with the App's key, and expires them", async () => {
    const app = generateGitHubApp();
    const other = generateGitHubApp({ id: app.id });
    github = await startGitHubStandIn({ apps: [app], tokenTtlMs: 0, repos: [{ fullName: "acme/app" }] });
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: app.id, iat: now - 30, exp: now + 540 };
    const mint = (token: string, installation = app.installationId) =>
      call(`/app/installations/${installation}/access_tokens`, { method: "POST", auth: `bearer ${token}` });
    const cases = [
      { what: "signed by the App", token: jwt(app.privateKey, claims), status: 201 },
      { what: "signed by another key", token: jwt(other.privateKey, claims), status: 401 },
      { what: "expired", token: jwt(app.privateKey, { ...claims, exp: now - 1 }), status: 401 },
      { what: "too far ahead", token: jwt(app.privateKey, { ...claims, exp: now + 3600 }), status: 401 },
      { what: "not RS256", token: jwt(app.privateKey, claims, "HS256"), status: 401 },
      { what: "not a JWT", token: "nonsense", status: 401 },
    ];
    for (const c of cases) {
      expect({ what: c.what, status: (await mint(c.token)).status }).toEqual({
        what: c.what,
        status: c.status,
      });
    }
    expect((await mint(jwt(app.privateKey, claims), app.installationId + 1)).status).toBe(404);
    const minted = await mint(jwt(app.privateKey, claims));
    expect(minted.body.token).toMatch(/^ghs_[A-Za-z0-9]{36}$/);
    expect(Date.parse(minted.body.expires_at)).not.toBeNaN();
    expect(github.installationTokens).toHaveLength(2);
    // tokenTtlMs 0: the token is already expired.
    const used = await call("/repos/acme/app", { auth: `token ${minted.body.token}` });
    expect([used.status, used.body.message]).toEqual([401, "Bad credentials"]);
  });

  it("accepts live installation tokens", async () => {
    const app = generateGitHubApp();
    github = await startGitHubStandIn({ apps: [app], repos: [{ fullName: "acme/app", private: true }] });
    const now = Math.floor(Date.now() / 1000);
    const minted = await call(`/app/installations/${app.installationId}/access_tokens`, {
      method: "POST",
      auth: `bearer ${jwt(app.privateKey, { iss: String(app.id), iat: now, exp: now + 600 })}`,
    });
    const repo = await call("/repos/acme/app", { auth: `token ${minted.body.token}` });
    expect([repo.status, repo.body.private]).toEqual([200, true]);
  });

  it("enforces primary rate limits and injects secondary ones", async () => {
    const token = generateGitHubToken();
    github = await startGitHubStandIn({
      tokens: [token],
      repos: [{ fullName: "acme/app" }],
      rateLimit: { limit: 2, anonymousLimit: 1 },
    });
    const auth = `token ${token}`;
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await call("/repos/acme/app", { auth })).status);
    expect(statuses).toEqual([200, 200, 403]);
    const limited = await call("/repos/acme/app", { auth });
    expect(limited.headers.get("x-ratelimit-remaining")).toBe("0");
    expect(Number(limited.headers.get("x-ratelimit-reset"))).toBeGreaterThan(Date.now() / 1000);
    expect(limited.body.message).toMatch(/API rate limit exceeded/);
    expect((await call("/repos/acme/app")).status).toBe(200);
    github.exhaustRateLimit("anonymous", 60_000);
    expect((await call("/repos/acme/app")).status).toBe(403);

    github.secondaryRateLimitNext(1, { retryAfterSeconds: 7 });
    const secondary = await call("/repos/acme/app", { auth });
    expect([secondary.status, secondary.headers.get("retry-after")]).toEqual([403, "7"]);
    expect(secondary.body.message).toMatch(/secondary rate limit/);
  });

  it("answers Accept: application/vnd.github.raw with the file's bytes, as GitHub does for files up to 100 MB", async () => {
    const token = generateGitHubToken();
    github = await startGitHubStandIn({ tokens: [token], repos: [{ fullName: "acme/app", private: true }] });
    const bytes = Buffer.from([0, 1, 2, 250, 251, 252]);
    github.repo("acme/app")?.setFile("bin/data", bytes);
    const raw = (accept: string, auth?: string) =>
      fetch(`${github?.url}/repos/acme/app/contents/bin/data`, {
        headers: { accept, ...(auth ? { authorization: auth } : {}) },
      });
    for (const accept of ["application/vnd.github.raw", "application/vnd.github.v3.raw"]) {
      const res = await raw(accept, `token ${token}`);
      expect(res.headers.get("content-type")).toBe("application/vnd.github.raw");
      expect(Buffer.from(await res.arrayBuffer())).toEqual(bytes);
    }
    expect((await raw("application/vnd.github.raw")).status).toBe(404);
  });
});
