import { createSign, generateKeyPairSync, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GoogleStandIn, type StandInServiceAccountKey, startGoogleStandIn } from "./index.js";

let google: GoogleStandIn;
let key: StandInServiceAccountKey;
beforeAll(async () => {
  google = await startGoogleStandIn();
  key = await google.createServiceAccount();
  google.createBucket("bkt");
});
afterAll(async () => {
  await google.close();
});

const b64url = (v: string | Buffer) => Buffer.from(v).toString("base64url");

function assertion(privateKey: string, claims: Record<string, unknown> = {}): string {
  const now = Math.floor(Date.now() / 1000);
  const head = `${b64url(JSON.stringify({ alg: "RS256", typ: "JWT" }))}.${b64url(
    JSON.stringify({
      iss: key.client_email,
      scope: "https://www.googleapis.com/auth/cloud-platform",
      aud: "https://oauth2.googleapis.com/token",
      iat: now,
      exp: now + 3600,
      ...claims,
    }),
  )}`;
  return `${head}.${b64url(createSign("RSA-SHA256").update(head).sign(privateKey))}`;
}

async function token(
  form: Record<string, string>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(google.tokenUrl, { method: "POST", body: new URLSearchParams(form) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const jwtGrant = (a: string) => ({ grant_type: "urn:ietf:params:oauth:grant-type:jwt-bearer", assertion: a });

async function bearer(): Promise<string> {
  const { body } = await token(jwtGrant(assertion(key.private_key)));
  return body.access_token as string;
}

describe("token endpoint", () => {
  it("issues a token for a JWT signed with the account's key, and counts it", async () => {
    const before = google.tokensIssued;
    const { status, body } = await token(jwtGrant(assertion(key.private_key)));
    expect(status).toBe(200);
    expect(body).toMatchObject({ token_type: "Bearer", expires_in: 3600 });
    expect(google.tokensIssued).toBe(before + 1);
  });

  it.each([
    [
      "signed with another key",
      () =>
        assertion(
          generateKeyPairSync("rsa", { modulusLength: 2048 })
            .privateKey.export({ type: "pkcs8", format: "pem" })
            .toString(),
        ),
    ],
    ["for an unknown account", () => assertion(key.private_key, { iss: "nobody@x.iam.gserviceaccount.com" })],
    ["expired", () => assertion(key.private_key, { exp: Math.floor(Date.now() / 1000) - 10 })],
    ["for another audience", () => assertion(key.private_key, { aud: "https://example.com/token" })],
  ])("answers 400 invalid_grant for a JWT %s", async (_label, make) => {
    const before = google.tokensIssued;
    const { status, body } = await token(jwtGrant(make()));
    expect(status).toBe(400);
    expect(body.error).toBe("invalid_grant");
    expect(google.tokensIssued).toBe(before);
  });

  it("supports the refresh-token grant of authorized_user files", async () => {
    const user = google.createAuthorizedUser();
    const ok = await token({
      grant_type: "refresh_token",
      client_id: user.client_id,
      client_secret: user.client_secret,
      refresh_token: user.refresh_token,
    });
    expect(ok.status).toBe(200);
    const bad = await token({
      grant_type: "refresh_token",
      client_id: user.client_id,
      client_secret: user.client_secret,
      refresh_token: "1//x",
    });
    expect(bad).toEqual({ status: 400, body: { error: "invalid_grant", error_description: "Bad Request" } });
    const wrongSecret = await token({
      grant_type: "refresh_token",
      client_id: user.client_id,
      client_secret: "no",
      refresh_token: user.refresh_token,
    });
    expect(wrongSecret.body.error).toBe("invalid_client");
  });
});

describe("Cloud Storage", () => {
  it("checks bearer tokens as Google does, and expires them on demand", async () => {
    const anonymous = await fetch(`${google.url}/storage/v1/b/bkt/o`);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ error: { code: 401, errors: [{ reason: "required" }] } });
    const t = await bearer();
    expect(
      (await fetch(`${google.url}/storage/v1/b/bkt/o`, { headers: { authorization: `Bearer ${t}` } })).status,
    ).toBe(200);
    google.expireTokens();
    expect(
      (await fetch(`${google.url}/storage/v1/b/bkt/o`, { headers: { authorization: `Bearer ${t}` } })).status,
    ).toBe(401);
  });

  it("stores media and multipart uploads, serves ranges, and lists", async () => {
    const auth = { authorization: `Bearer ${await bearer()}` };
    const media = await fetch(
      `${google.url}/upload/storage/v1/b/bkt/o?uploadType=media&name=${encodeURIComponent("a/b.txt")}`,
      {
        method: "POST",
        headers: { ...auth, "content-type": "text/plain" },
        body: "hello world",
      },
    );
    expect(await media.json()).toMatchObject({ name: "a/b.txt", size: "11", contentType: "text/plain" });
    const boundary = "xyz";
    const multipart = `--${boundary}\r\ncontent-type: application/json\r\n\r\n{"name":"m.bin","metadata":{"k":"v"}}\r\n--${boundary}\r\ncontent-type: application/x-test\r\n\r\nBODY\r\nLINE\r\n--${boundary}--`;
    const mp = await fetch(`${google.url}/upload/storage/v1/b/bkt/o?uploadType=multipart`, {
      method: "POST",
      headers: { ...auth, "content-type": `multipart/related; boundary=${boundary}` },
      body: multipart,
    });
    expect(await mp.json()).toMatchObject({
      name: "m.bin",
      size: "10",
      contentType: "application/x-test",
      metadata: { k: "v" },
    });
    expect((await google.readObject("bkt", "m.bin"))?.toString()).toBe("BODY\r\nLINE");
    const range = await fetch(`${google.url}/storage/v1/b/bkt/o/${encodeURIComponent("a/b.txt")}?alt=media`, {
      headers: { ...auth, range: "bytes=6-" },
    });
    expect(range.status).toBe(206);
    expect(range.headers.get("content-range")).toBe("bytes 6-10/11");
    expect(await range.text()).toBe("world");
    const list = await (
      await fetch(`${google.url}/storage/v1/b/bkt/o?delimiter=/`, { headers: auth })
    ).json();
    expect(list).toMatchObject({ prefixes: ["a/"], items: [{ name: "m.bin" }] });
  });

  it("keeps whole 256 KiB units of a dropped resumable request and reports them with 308", async () => {
    const auth = { authorization: `Bearer ${await bearer()}` };
    const start = await fetch(`${google.url}/upload/storage/v1/b/bkt/o?uploadType=resumable&name=r.bin`, {
      method: "POST",
      headers: { ...auth, "content-type": "application/json" },
      body: "{}",
    });
    const session = start.headers.get("location") as string;
    const data = randomBytes(1024 * 1024);
    google.dropUploadAfter(300 * 1024);
    await expect(
      fetch(session, {
        method: "PUT",
        headers: { "content-range": `bytes 0-${data.length - 1}/${data.length}` },
        body: data,
      }),
    ).rejects.toThrow();
    const status = await fetch(session, {
      method: "PUT",
      headers: { "content-range": `bytes */${data.length}` },
    });
    expect(status.status).toBe(308);
    expect(status.headers.get("range")).toBe(`bytes=0-${256 * 1024 - 1}`);
    const rest = await fetch(session, {
      method: "PUT",
      headers: { "content-range": `bytes ${256 * 1024}-${data.length - 1}/${data.length}` },
      body: data.subarray(256 * 1024),
    });
    expect(rest.status).toBe(200);
    expect((await google.readObject("bkt", "r.bin"))?.equals(data)).toBe(true);
  });
});

describe("errors, in the shape of the API asked", () => {
  const storage = (path: string) => `${google.url}/storage/v1/b/${path}`;
  /** The generation before the live one of a fresh object: one that no longer exists. */
  const staleGeneration = async () => {
    await google.putObject("bkt", "g.txt", "g");
    return (google.objectInfo("bkt", "g.txt")?.generation ?? 0) - 1;
  };
  const secret = (name: string) =>
    `${google.url}/v1/projects/${google.projectId}/secrets/${name}/versions/latest:access`;
  it.each([
    { answer: "no token", url: () => storage("bkt/o"), token: false, status: 401, reason: "required" },
    { answer: "a missing object", url: () => storage("bkt/o/none"), status: 404, reason: "notFound" },
    { answer: "a missing bucket", url: () => storage("none/o"), status: 404, reason: "notFound" },
    {
      answer: "a denied principal",
      setup: () => google.denyAccess(key.client_email, "/storage/v1/b/bkt/o/locked"),
      url: () => storage("bkt/o/locked"),
      status: 403,
      reason: "forbidden",
      says: () => `${key.client_email} does not have storage.objects.get access`,
    },
    {
      answer: "an older generation",
      url: async () => storage(`bkt/o/g.txt?generation=${await staleGeneration()}`),
      status: 404,
      reason: "notFound",
    },
    {
      answer: "a precondition that did not hold",
      url: async () => storage(`bkt/o/g.txt?ifGenerationMatch=${await staleGeneration()}`),
      status: 412,
      reason: "conditionNotMet",
    },
    {
      answer: "an injected 429",
      setup: () => google.failNext(1, 429, { match: (r) => r.path.startsWith("/storage/") }),
      url: () => storage("bkt/o"),
      status: 429,
      reason: "rateLimitExceeded",
    },
    { answer: "a missing secret", url: () => secret("NOPE"), status: 404, grpc: "NOT_FOUND" },
    {
      answer: "an injected 429 from Secret Manager",
      setup: () => google.failNext(1, 429, { match: (r) => r.path.includes("/secrets/") }),
      url: () => secret("NOPE"),
      status: 429,
      grpc: "RESOURCE_EXHAUSTED",
    },
  ] as Array<{
    answer: string;
    setup?: () => void;
    url: () => string | Promise<string>;
    token?: boolean;
    status: number;
    reason?: string;
    grpc?: string;
    says?: () => string;
  }>)("$answer: $status in the API's shape", async ({ setup, url, token, status, reason, grpc, says }) => {
    setup?.();
    const headers: Record<string, string> =
      token === false ? {} : { authorization: `Bearer ${await bearer()}` };
    const res = await fetch(await url(), { headers });
    expect(res.status).toBe(status);
    const { error } = (await res.json()) as {
      error: { code: number; message: string; status?: string; errors?: Record<string, unknown>[] };
    };
    expect(error.code).toBe(status);
    if (says) expect(error.message).toContain(says());
    if (reason) {
      // Cloud Storage's JSON API: `errors[0].reason`, no gRPC status.
      expect(Object.keys(error).sort()).toEqual(["code", "errors", "message"]);
      expect(error.errors).toEqual([{ domain: "global", reason, message: error.message }]);
    } else {
      // Secret Manager, as Google's newer APIs answer: a gRPC status, no `errors`.
      expect(error).toEqual({ code: status, message: expect.any(String), status: grpc });
    }
  });
});

describe("Secret Manager", () => {
  it("serves the latest version, and Google's errors", async () => {
    const auth = { authorization: `Bearer ${await bearer()}` };
    google.setSecret("API_KEY", "v1");
    google.setSecret("API_KEY", "v2");
    const url = (name: string) =>
      `${google.url}/v1/projects/${google.projectId}/secrets/${name}/versions/latest:access`;
    const ok = (await (await fetch(url("API_KEY"), { headers: auth })).json()) as {
      name: string;
      payload: { data: string };
    };
    expect(ok.name).toBe(`projects/${google.projectId}/secrets/API_KEY/versions/2`);
    expect(Buffer.from(ok.payload.data, "base64").toString()).toBe("v2");
    const missing = await fetch(url("NOPE"), { headers: auth });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: { status: "NOT_FOUND" } });
    expect((await fetch(url("API_KEY"))).status).toBe(401);
  });
});
