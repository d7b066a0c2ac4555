import {
  fakeSlackToken,
  type GitHubStandIn,
  generateGitHubToken,
  type S3StandIn,
  type SlackStandIn,
  startGitHubStandIn,
  startS3StandIn,
  startSlackStandIn,
} from "@tributary/testing";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { removeTempHomes, runBin, tempHome } from "../test/helpers.js";

let github: GitHubStandIn;
let s3: S3StandIn;
let slack: SlackStandIn;
const token = generateGitHubToken();
const slackToken = fakeSlackToken("doctor");

beforeAll(async () => {
  github = await startGitHubStandIn({ tokens: [{ token, login: "alice" }] });
  s3 = await startS3StandIn({ sts: {} });
  slack = await startSlackStandIn({ tokens: [slackToken] });
});
afterAll(async () => {
  await Promise.all([github?.close(), s3?.close(), slack?.close()]);
});
afterEach(removeTempHomes);

const env = (githubToken: string, slackBotToken = slackToken) => {
  const key = s3.keyPairs[0] as { accessKeyId: string; secretAccessKey: string };
  return {
    GITHUB_API_URL: github.url,
    SLACK_API_URL: slack.apiUrl,
    TRIBUTARY__CONTEXT__SECRETS__SLACK_BOT_TOKEN: slackBotToken,
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
    // SLACK_API_URL points Slack's auth.test at the stand-in, as GITHUB_API_URL does GitHub's GET /user.
    expect(result.stdout).toContain("SLACK_BOT_TOKEN: ok — tributary (bot B0BOT) (Stand-in) [Slack]");
    expect(slack.requests.some((r) => r.path.endsWith("/auth.test"))).toBe(true);
    expect(result.stdout).toMatch(
      /AWS_CREDENTIALS: ok — arn:aws:iam::123456789012:user\/\S+ \(123456789012\) \[AWS STS\]/,
    );
    // Found nowhere, Google ADC included (read without the network): missing, so there is nothing to prove.
    expect(result.stdout).toMatch(/GCP_CREDENTIALS +missing/);
    expect(result.stdout).not.toContain("GCP_CREDENTIALS: ok");
    expect(result.stdout + result.stderr).not.toContain(token);
    expect(result.stdout + result.stderr).not.toContain(slackToken);
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

  it("refuses a SLACK_API_URL that is not an http(s) base URL, naming the variable", async () => {
    const result = await runBin(["doctor", "--check", "--json"], {
      home: tempHome(),
      env: { ...env(token), SLACK_API_URL: "ftp://slack.example" },
    });
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as {
      identities: { name: string; status: string; reason?: string }[];
    };
    const checked = report.identities.find((c) => c.name === "SLACK_BOT_TOKEN");
    expect(checked?.status).not.toBe("ok");
    expect(checked?.reason).toContain("$SLACK_API_URL");
  });
});
