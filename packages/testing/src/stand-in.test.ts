import { request } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { route, type StandIn, startStandIn } from "./index.js";

let api: StandIn | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

function get(url: string): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    request(url, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString(),
        }),
      );
      res.on("error", reject);
    })
      .on("error", reject)
      .end();
  });
}

describe("startStandIn", () => {
  it("answers routes with params on a real socket and records requests", async () => {
    api = await startStandIn([
      route("GET", "/repos/:owner/:repo", (req) => ({
        body: { owner: req.params.owner, repo: req.params.repo },
      })),
      route("POST", "/echo", async (req) => ({ status: 201, body: await req.body() })),
    ]);
    expect(api.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await fetch(`${api.url}/repos/acme/app?x=1`);
    expect(await res.json()).toEqual({ owner: "acme", repo: "app" });
    const echo = await fetch(`${api.url}/echo`, { method: "POST", body: "hello" });
    expect([echo.status, await echo.text()]).toEqual([201, "hello"]);
    const missing = await fetch(`${api.url}/nope`);
    expect(missing.status).toBe(404);
    expect(api.requests.map((r) => [r.method, r.path, r.status])).toEqual([
      ["GET", "/repos/acme/app", 200],
      ["POST", "/echo", 201],
      ["GET", "/nope", 404],
    ]);
    expect(api.requests[0]?.query).toEqual({ x: "1" });
  });

  it.each([
    { status: 503, headers: { "Retry-After": "2" } },
    { status: 429, headers: { "Retry-After": "1" } },
  ])("fails the next N requests with $status and its headers, then recovers", async ({ status, headers }) => {
    api = await startStandIn([route("GET", "/ok", () => ({ body: "fine" }))]);
    api.failNext(2, status, { headers });
    const answers = [];
    for (let i = 0; i < 3; i++) {
      const res = await fetch(`${api.url}/ok`);
      answers.push([res.status, res.headers.get("retry-after")]);
    }
    expect(answers).toEqual([
      [status, headers["Retry-After"]],
      [status, headers["Retry-After"]],
      [200, null],
    ]);
  });

  it("applies a fault only to matching requests", async () => {
    api = await startStandIn([route("*", "/*", () => ({ body: "x" }))]);
    api.failNext(1, 500, { match: (r) => r.path === "/b" });
    // A matcher sees the query too: one part of a multipart upload, say.
    api.failNext(1, 503, { match: (r) => r.query.partNumber === "2" });
    expect((await fetch(`${api.url}/a`)).status).toBe(200);
    expect((await fetch(`${api.url}/b`)).status).toBe(500);
    expect((await fetch(`${api.url}/b`)).status).toBe(200);
    expect((await fetch(`${api.url}/b?partNumber=1`)).status).toBe(200);
    expect((await fetch(`${api.url}/b?partNumber=2`)).status).toBe(503);
    expect((await fetch(`${api.url}/b?partNumber=2`)).status).toBe(200);
  });

  it("resets the connection at once or part way through the body", async () => {
    const big = Buffer.alloc(256 * 1024, 7);
    api = await startStandIn([route("GET", "/big", () => ({ body: big }))]);
    api.resetNext(1);
    await expect(get(`${api.url}/big`)).rejects.toThrow(/ECONNRESET|socket hang up/);
    api.resetNext(1, { afterBytes: 1000 });
    const partial = get(`${api.url}/big`);
    await expect(partial).rejects.toThrow(/ECONNRESET|aborted/);
    const whole = await get(`${api.url}/big`);
    expect(whole.body.length).toBe(big.length);
  });

  it("delays a request and closes cleanly with connections open", async () => {
    api = await startStandIn([route("GET", "/slow", () => ({ body: "late" }))]);
    api.delayNext(1, 50);
    const started = Date.now();
    const res = await fetch(`${api.url}/slow`);
    expect(await res.text()).toBe("late");
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    expect(api.requests[0]?.fault).toBe("delay");
    await api.close();
    await expect(fetch(`${api.url}/slow`)).rejects.toThrow();
    api = undefined;
  });
});
