import {
  type GitHubStandIn,
  generateGitHubToken,
  type S3StandIn,
  startGitHubStandIn,
  startS3StandIn,
} from "@tributary/testing";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { removeTempHomes, runBin, tempHome } from "../test/helpers.js";

let github: GitHubStandIn;
let s3: S3StandIn;
const token = generateGitHubToken();

beforeAll(async () => {
  github = await startGitHubStandIn({ tokens: [{ token, login: "alice" }] });
  s3 = await startS3StandIn({ sts: {} });
});
afterAll(async () => {
  await Promise.all([github?.close(), s3?.close()]);
});
afterEach(removeTempHomes);

const env = (githubToken: string) => {
  const key = s3.keyPairs[0] as { accessKeyId: string; secretAccessKey: string };
  return {
    GITHUB_API_URL: github.url,
    TRIBUTARY__CONTEXT__SECRETS__GITHUB_ACCESS_TOKEN: githubToken,
    TRIBUTARY__CONTEXT__SECRETS__AWS_CREDENTIALS: JSON.stringify({
      ACCESS_KEY: key.accessKeyId,
      SECRET_ACCESS_KEY: key.secretAccessKey,
    }),
    AWS_ENDPOINT_URL_STS: s3.url,
    AWS_REGION: "us-east-1",
  };
};

describe("tributary doctor --check", () => {
  it("proves each credential with one live call and names its principal, never a value", async () => {
    const result = await runBin(["doctor", "--check"], { home: tempHome(), env: env(token) });
    expect(result.stdout).toContain("GITHUB_ACCESS_TOKEN: ok — alice [GitHub]");
    expect(result.stdout).toMatch(
      /AWS_CREDENTIALS: ok — arn:aws:iam::123456789012:user\/\S+ \(123456789012\) \[AWS STS\]/,
    );
    expect(result.stdout).toContain("GCP_CREDENTIALS: skipped — nothing found");
    expect(result.stdout + result.stderr).not.toContain(token);
    expect(result.code, result.stdout).toBe(0);
  });

  it("exits 1 with the service's reason when a credential is rejected; --json carries the same", async () => {
    const revoked = generateGitHubToken();
    const result = await runBin(["doctor", "--check", "--json"], { home: tempHome(), env: env(revoked) });
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as {
      ok: boolean;
      identities: { name: string; status: string; reason?: string; principal?: string }[];
    };
    expect(report.ok).toBe(false);
    const gh = report.identities.find((c) => c.name === "GITHUB_ACCESS_TOKEN");
    expect(gh).toMatchObject({ status: "rejected" });
    expect(gh?.reason).toMatch(/Bad credentials|rejected/);
    expect(report.identities.find((c) => c.name === "AWS_CREDENTIALS")).toMatchObject({ status: "ok" });
    expect(result.stdout + result.stderr).not.toContain(revoked);
  });
});
