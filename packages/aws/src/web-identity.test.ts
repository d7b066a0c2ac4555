import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CredentialRejectedError,
  describeIdentity,
  InvalidSecretError,
  TributaryError,
  withSecrets,
} from "@tributary/auth";
import { flow } from "@tributary/flow";
import { createOidcIssuer, type S3StandIn, startS3StandIn } from "@tributary/testing";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { cleanEnv } from "../test/helpers.js";
import { s3Exists, s3Upload } from "./index.js";

const oidc = createOidcIssuer();
const stranger = createOidcIssuer();
const AUDIENCE = "sts.amazonaws.com";
const ROLE_ARN = "arn:aws:iam::123456789012:role/etl-runner";
const bucket = "keyless";

let s3: S3StandIn;
let dir: string;
let dropHome: () => Promise<void>;

beforeAll(async () => {
  s3 = await startS3StandIn({
    buckets: [bucket],
    sts: { durationSeconds: 2, webIdentity: { publicKey: oidc.publicKey, audience: AUDIENCE } },
  });
});
afterAll(async () => {
  await s3?.close();
});
beforeEach(async () => {
  dropHome = await cleanEnv();
  dir = await mkdtemp(join(tmpdir(), "tributary-web-identity-"));
});
afterEach(async () => {
  await dropHome();
  await rm(dir, { recursive: true, force: true });
});

const at = () => ({ endpoint: s3.url, forcePathStyle: true, stsEndpoint: s3.url });

async function tokenFile(subject: string, token = oidc.token({ subject, audience: AUDIENCE })) {
  const file = join(dir, "token");
  await writeFile(file, `${token}\n`);
  return file;
}

describe("AWS_CREDENTIALS with ROLE_ARN and a web-identity token (no stored key)", () => {
  it("assumes the role with the projected token, and the calls are signed with what STS returned", async () => {
    const file = await tokenFile("system:serviceaccount:etl:runner");
    const secrets = { AWS_CREDENTIALS: { ROLE_ARN, WEB_IDENTITY_TOKEN_FILE: file } };
    await withSecrets(secrets, () => s3Upload({ ...at(), bucket, key: "a.txt", body: "hello" }));
    const role = s3.assumedRoles.at(-1);
    expect(role).toMatchObject({ roleArn: ROLE_ARN, webIdentitySubject: "system:serviceaccount:etl:runner" });
    expect((await s3.readObject(bucket, "a.txt"))?.toString()).toBe("hello");
    const stsCall = s3.requests.find((r) => r.method === "POST" && r.path === "/");
    expect(stsCall?.headers.authorization).toBeUndefined();
    const put = s3.requests.findLast((r) => r.method === "PUT");
    expect(String(put?.headers.authorization)).toContain(`Credential=${role?.accessKeyId}/`);
  });

  it("re-reads the token file at each refresh, as Kubernetes rotates it", async () => {
    const file = await tokenFile("first");
    const secrets = { AWS_CREDENTIALS: { ROLE_ARN, WEB_IDENTITY_TOKEN_FILE: file, REGION: "eu-west-1" } };
    await withSecrets(secrets, () => s3Upload({ ...at(), bucket, key: "r.txt", body: "x" }));
    const first = s3.assumedRoles.at(-1);
    expect(first?.webIdentitySubject).toBe("first");
    await tokenFile("rotated");
    await new Promise((r) => setTimeout(r, Math.max(0, (first?.expiresAt ?? 0) - Date.now()) + 50));
    expect(await withSecrets(secrets, () => s3Exists({ ...at(), bucket, key: "r.txt" }))).toBe(true);
    expect(s3.assumedRoles.at(-1)?.webIdentitySubject).toBe("rotated");
  });

  it("takes the token itself in WEB_IDENTITY_TOKEN (GitHub Actions' ID token, for one)", async () => {
    const token = oidc.token({ subject: "repo:acme/etl:ref:refs/heads/main", audience: AUDIENCE });
    await s3Upload({
      ...at(),
      credentials: { ROLE_ARN, WEB_IDENTITY_TOKEN: token },
      bucket,
      key: "gh.txt",
      body: "y",
    });
    expect(s3.assumedRoles.at(-1)?.webIdentitySubject).toBe("repo:acme/etl:ref:refs/heads/main");
  });

  it.each([
    [
      "another audience",
      oidc.token({ subject: "s", audience: "someone-else" }),
      /InvalidIdentityTokenException: Incorrect token audience/,
    ],
    [
      "an expired token",
      oidc.token({ subject: "s", audience: AUDIENCE, expiresIn: -60 }),
      /ExpiredTokenException/,
    ],
    [
      "another issuer's signature",
      stranger.token({ subject: "s", audience: AUDIENCE }),
      /InvalidIdentityTokenException: The signature/,
    ],
  ])("is refused by STS for %s, with STS's reason and never the token", async (_, token, reason) => {
    const file = await tokenFile("s", token);
    const error = await s3Exists({
      ...at(),
      credentials: { ROLE_ARN, WEB_IDENTITY_TOKEN_FILE: file },
      bucket,
      key: "a.txt",
    }).catch((e: unknown) => e);
    expect(CredentialRejectedError.isInstance(error), String(error)).toBe(true);
    expect(String((error as Error).message)).toMatch(reason);
    expect(String((error as Error).message)).toContain("credentials");
    expect(String((error as Error).message)).not.toContain(token);
  });

  it.each([
    ["a token without ROLE_ARN", { WEB_IDENTITY_TOKEN: "x.y.z" }, "ROLE_ARN"],
    [
      "a token beside a key pair",
      { ROLE_ARN, WEB_IDENTITY_TOKEN: "x.y.z", ACCESS_KEY: "A", SECRET_ACCESS_KEY: "S" },
      "ROLE_ARN",
    ],
    [
      "a token file and a token",
      { ROLE_ARN, WEB_IDENTITY_TOKEN: "x.y.z", WEB_IDENTITY_TOKEN_FILE: "/t" },
      "WEB_IDENTITY_TOKEN",
    ],
    ["neither a key nor a token", { ROLE_ARN }, "ACCESS_KEY"],
  ])("refuses %s before any call", async (_, value, field) => {
    const before = s3.requests.length;
    const error = await s3Exists({ ...at(), credentials: value, bucket, key: "a.txt" }).catch(
      (e: unknown) => e,
    );
    expect(InvalidSecretError.isInstance(error)).toBe(true);
    expect((error as Error).message).toContain(field);
    expect(s3.requests.length).toBe(before);
  });

  it("names a token file that cannot be read, before asking STS", async () => {
    const before = s3.requests.length;
    const missing = join(dir, "nowhere");
    const error = await s3Exists({
      ...at(),
      credentials: { ROLE_ARN, WEB_IDENTITY_TOKEN_FILE: missing },
      bucket,
      key: "a.txt",
    }).catch((e: unknown) => e);
    expect(TributaryError.isInstance(error)).toBe(true);
    expect((error as Error).message).toContain(missing);
    expect((error as Error).message).toContain("ENOENT");
    expect(s3.requests.length).toBe(before);
  });

  it("describeIdentity names the assumed role's ARN and account, through STS GetCallerIdentity", async () => {
    const file = await tokenFile("system:serviceaccount:etl:runner");
    const secrets = { AWS_CREDENTIALS: { ROLE_ARN, WEB_IDENTITY_TOKEN_FILE: file } };
    const who = await withSecrets(secrets, () => describeIdentity("AWS_CREDENTIALS", { endpoint: s3.url }));
    expect(who).toMatchObject({
      name: "AWS_CREDENTIALS",
      principal: expect.stringMatching(/^arn:aws:sts::123456789012:assumed-role\/etl-runner\/tributary-\d+$/),
      account: "123456789012",
      source: { kind: "run" },
    });
    const key = s3.keyPairs[0] as { accessKeyId: string; secretAccessKey: string };
    const plain = await describeIdentity("AWS_CREDENTIALS", { endpoint: s3.url }).catch((e: unknown) => e);
    expect(TributaryError.isInstance(plain)).toBe(true);
    const withKey = await withSecrets(
      { AWS_CREDENTIALS: { ACCESS_KEY: key.accessKeyId, SECRET_ACCESS_KEY: key.secretAccessKey } },
      () => describeIdentity("AWS_CREDENTIALS", { endpoint: s3.url }),
    );
    expect(withKey.principal).toBe("arn:aws:iam::123456789012:user/stand-in");
  });

  it("describeIdentity throws the service's reason for a rejected credential", async () => {
    const file = await tokenFile("s", stranger.token({ subject: "s", audience: AUDIENCE }));
    const error = await withSecrets({ AWS_CREDENTIALS: { ROLE_ARN, WEB_IDENTITY_TOKEN_FILE: file } }, () =>
      describeIdentity("AWS_CREDENTIALS", { endpoint: s3.url }),
    ).catch((e: unknown) => e);
    expect(CredentialRejectedError.isInstance(error)).toBe(true);
    expect((error as Error).message).toContain("does not match its issuer's key");
  });

  it("a flow with logIdentity logs the principal at run start (AWS_ENDPOINT_URL_STS points the SDK at STS)", async () => {
    process.env.AWS_ENDPOINT_URL_STS = s3.url;
    const lines: string[] = [];
    const file = await tokenFile("system:serviceaccount:etl:runner");
    const etl = flow(
      { name: "who", logIdentity: ["AWS_CREDENTIALS"], logger: { sink: (line) => lines.push(line) } },
      async () => "done",
    );
    const report = await etl.run({
      secrets: { AWS_CREDENTIALS: { ROLE_ARN, WEB_IDENTITY_TOKEN_FILE: file } },
    });
    expect(report.state, JSON.stringify(report.error)).toBe("completed");
    const said = lines.find((l) => l.includes("AWS_CREDENTIALS is "));
    expect(said).toMatch(
      /AWS_CREDENTIALS is arn:aws:sts::123456789012:assumed-role\/etl-runner\/tributary-\d+ \(123456789012\) for AWS STS, from run/,
    );
  });
});
