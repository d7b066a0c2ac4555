import { afterEach, describe, expect, it } from "vitest";
import { findSecretTraces, route, type StandIn, secretTraces, startStandIn } from "./index.js";

let api: StandIn | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

const token = "tok_0123456789abcdef";

describe("echoing faults", () => {
  it.each([
    {
      body: { message: "Bad credentials" },
      check: (text: string) => {
        const json = JSON.parse(text);
        expect(json.echo).toMatchObject({ method: "POST", url: "/me", body: "grant=refresh" });
        expect(json.echo.headers.authorization).toBe(`token ${token}`);
        expect(json.message).toContain(`token ${token}`);
      },
    },
    {
      body: "<Error><Message>{{echo}}</Message></Error>",
      check: (text: string) => {
        expect(text).toMatch(/^<Error><Message>\{.*\}<\/Message><\/Error>$/);
        expect(text).toContain(`token ${token}`);
      },
    },
  ])("repeat the request in a body of $body", async ({ body, check }) => {
    api = await startStandIn([route("POST", "/me", () => ({ body: { ok: true } }))]);
    api.failNext(1, 401, { echo: true, body });
    const answer = await fetch(`${api.url}/me`, {
      method: "POST",
      headers: { authorization: `token ${token}` },
      body: "grant=refresh",
    });
    expect(answer.status).toBe(401);
    check(await answer.text());
    const next = await fetch(`${api.url}/me`, { method: "POST", body: "x" });
    expect(next.status).toBe(200);
  });
});

describe("findSecretTraces", () => {
  it.each([
    ["the value", `x ${token} y`, /^value of TOKEN in out$/],
    ["a URI-encoded text holding it", `q=${encodeURIComponent(`${token} !`)}`, /^value of TOKEN/],
    ["base64 at offset 0", Buffer.from(token).toString("base64"), /^base64 \(offset 0\)/],
    ["Basic auth (offset 2)", Buffer.from(`ab${token}`).toString("base64"), /^base64 \(offset 2\)/],
    ["base64url at offset 1", Buffer.from(`a${token}??`).toString("base64url"), /^base64(url)? \(offset 1\)/],
  ])("finds %s", (_, output, form) => {
    const found = findSecretTraces({ out: output }, { TOKEN: token });
    expect(found.some((trace) => form.test(trace))).toBe(true);
  });

  it("finds nothing in text without the secret, and lists distinct traces only", () => {
    expect(findSecretTraces({ out: "a log line with [redacted] in it" }, { TOKEN: token })).toEqual([]);
    const texts = secretTraces(token).map((t) => t.text);
    expect(new Set(texts).size).toBe(texts.length);
  });
});
