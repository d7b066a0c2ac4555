import { generateKeyPairSync } from "node:crypto";
import {
  fakeSlackToken,
  type GitHubStandIn,
  type GoogleStandIn,
  generateGitHubToken,
  type S3StandIn,
  type SlackStandIn,
  startGitHubStandIn,
  startGoogleStandIn,
  startS3StandIn,
  startSlackStandIn,
} from "@tributary/testing";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { removeTempHomes, runBin, tempHome } from "../test/helpers.js";

let github: GitHubStandIn;
let s3: S3StandIn;
let slack: SlackStandIn;
let google: GoogleStandIn;
const token = generateGitHubToken();
const slackToken = fakeSlackToken("doctor");
const app = generateKeyPairSync("rsa", { modulusLength: 2048 });
const APP_ID = "2718281";
const INSTALLATION_ID = "31415926";

beforeAll(async () => {
  github = await startGitHubStandIn({
    tokens: [{ token, login: "alice" }],
    apps: [{ id: APP_ID, publicKey: app.publicKey, installationId: INSTALLATION_ID }],
    repos: [{ fullName: "acme/warehouse" }],
  });
  s3 = await startS3StandIn({ sts: {} });
  slack = await startSlackStandIn({ tokens: [slackToken] });
  google = await startGoogleStandIn({ projectId: "acme-data" });
});
afterAll(async () => {
  await Promise.all([github?.close(), s3?.close(), slack?.close(), google?.close()]);
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

  it("names the service account's email, the assumed role and the App, and masks only their secret fields", async () => {
    const key = s3.keyPairs[0] as { accessKeyId: string; secretAccessKey: string };
    const gcpKey = await google.createServiceAccount({ email: "etl@acme-data.iam.gserviceaccount.com" });
    const appKey = app.privateKey.export({ type: "pkcs8", format: "pem" }) as string;
    const aws = {
      ACCESS_KEY: key.accessKeyId,
      SECRET_ACCESS_KEY: key.secretAccessKey,
      ROLE_ARN: "arn:aws:iam::123456789012:role/etl",
      REGION: "us-east-1",
    };
    const result = await runBin(["doctor", "--check", "--json"], {
      home: tempHome(),
      env: {
        ...env(token),
        TRIBUTARY__CONTEXT__SECRETS__AWS_CREDENTIALS: JSON.stringify(aws),
        TRIBUTARY__CONTEXT__SECRETS__GCP_CREDENTIALS: JSON.stringify(gcpKey),
        TRIBUTARY__CONTEXT__SECRETS__GITHUB_APP_CREDENTIALS: JSON.stringify({
          APP_ID,
          INSTALLATION_ID,
          PRIVATE_KEY: appKey,
        }),
      },
    });
    const report = JSON.parse(result.stdout) as {
      identities: { name: string; status: string; principal?: string; account?: string }[];
    };
    const who = (name: string) => report.identities.find((c) => c.name === name);
    expect(who("GCP_CREDENTIALS")).toMatchObject({
      status: "ok",
      principal: "etl@acme-data.iam.gserviceaccount.com",
      account: "acme-data",
    });
    expect(who("AWS_CREDENTIALS")).toMatchObject({
      status: "ok",
      principal: expect.stringMatching(/^arn:aws:sts::123456789012:assumed-role\/etl\/\S+$/),
      role: "arn:aws:iam::123456789012:role/etl",
      account: "123456789012",
    });
    expect(who("GITHUB_APP_CREDENTIALS")).toMatchObject({
      status: "ok",
      principal: `app-${APP_ID}[bot]`,
      account: "acme",
    });
    const printed = result.stdout + result.stderr;
    expect(printed).toContain("us-east-1");
    const secrets = [key.accessKeyId, key.secretAccessKey, gcpKey.private_key_id, gcpKey.private_key, appKey];
    for (const secret of secrets) {
      for (const form of [secret, JSON.stringify(secret).slice(1, -1), encodeURIComponent(secret)]) {
        expect(printed).not.toContain(form);
      }
    }
    expect(result.code, result.stdout).toBe(0);
  });
});
