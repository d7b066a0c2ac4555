import { createHash } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fakeSlackToken, isolateEnvironment } from "../test/helpers.js";
import { withSecrets } from "./context.js";
import { probeAwsDefaultChain, probeGoogleAdc } from "./default-chain-probe.js";
import { InvalidSecretError, MissingCredentialsError, ValidationError } from "./errors.js";
import { closestName } from "./name-likeness.js";
import { resolveSecret } from "./resolve-secret.js";
import { localStore } from "./store.js";

const env = isolateEnvironment();
const PREFIX = "TRIBUTARY__CONTEXT__SECRETS__";

/** Points every place the AWS SDK chain and Google ADC look at into this test's home, empty. */
function emptyChains(): string {
  const home = env.home();
  for (const key of Object.keys(process.env)) {
    if (key.startsWith("AWS_") || key.startsWith("GOOGLE_") || key.startsWith("CLOUDSDK_"))
      delete process.env[key];
  }
  process.env.HOME = home;
  process.env.AWS_EC2_METADATA_DISABLED = "true";
  process.env.METADATA_SERVER_DETECTION = "none";
  return home;
}

function write(path: string, text: string): string {
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, text);
  return path;
}

describe("did you mean", () => {
  it.each([
    ["AWS_CREDENTAILS", ["AWS_CREDENTIALS", "GCP_CREDENTIALS"], "AWS_CREDENTIALS"],
    ["REGON", ["REGION", "ROLE_ARN"], "REGION"],
    ["ACCESS_KEY_ID", ["ACCESS_KEY", "SECRET_ACCESS_KEY"], "ACCESS_KEY"],
    ["slack_bot_token", ["SLACK_BOT_TOKEN"], "SLACK_BOT_TOKEN"],
    ["MY_OWN_KEY", ["AWS_CREDENTIALS", "SLACK_BOT_TOKEN"], undefined],
    ["GCP", ["AWS"], undefined],
  ])("%s among %j → %s", (typed, candidates, expected) => {
    expect(closestName(typed, candidates)).toBe(expected);
  });

  it("names a misspelled env variable in the error of the name it was meant for", async () => {
    emptyChains();
    process.env[`${PREFIX}AWS_CREDENTAILS`] = JSON.stringify({ ACCESS_KEY: "AKIDX", SECRET_ACCESS_KEY: "s" });
    const error = await resolveSecret("AWS_CREDENTIALS").catch((e) => e);
    expect(MissingCredentialsError.isInstance(error)).toBe(true);
    expect(error.message).toContain(`${PREFIX}AWS_CREDENTAILS is set: did you mean AWS_CREDENTIALS?`);
  });

  it("names the registered name a misspelled secretName (or declared name) looks like", async () => {
    const error = await resolveSecret("AWS_CREDENTIALS", { secretName: "AWS_CREDENTAILS" }).catch((e) => e);
    expect(MissingCredentialsError.isInstance(error)).toBe(true);
    expect(error.message).toContain(
      "AWS_CREDENTAILS is not a registered name: did you mean AWS_CREDENTIALS?",
    );
  });

  it("names a similar stored name when a secretName is found nowhere", async () => {
    await localStore().set("DEPLOY_TOKEN", "ghp_deployTokenValue");
    const error = await resolveSecret("GITHUB_ACCESS_TOKEN", { secretName: "DEPLOY_TOKN" }).catch((e) => e);
    expect(error.message).toMatch(
      /DEPLOY_TOKN is not set, but DEPLOY_TOKEN is \(the local store .*\): did you mean DEPLOY_TOKEN\?/,
    );
  });
});

describe("fields: unknown ones are named, the AWS SDK's names are accepted everywhere", () => {
  const aws = (value: unknown) => {
    process.env[`${PREFIX}AWS_CREDENTIALS`] = JSON.stringify(value);
    return resolveSecret("AWS_CREDENTIALS").catch((e) => e);
  };

  it.each([
    [
      { ACCESS_KEY_ID: "AKIDX", SECRET_ACCESS_KEY: "s" },
      "ACCESS_KEY_ID",
      "is not a field of AWS_CREDENTIALS: did you mean ACCESS_KEY?",
    ],
    [
      { ACCESS_KEY: "AKIDX", SECRET_ACCESS_KEY: "s", REGON: "eu-west-1" },
      "REGON",
      "is not a field of AWS_CREDENTIALS: did you mean REGION?",
    ],
    [
      { ACCESS_KEY: "AKIDX", SECRET_ACCESS_KEY: "s", COLOUR: "blue" },
      "COLOUR",
      "is not a field of AWS_CREDENTIALS (its fields: ACCESS_KEY, SECRET_ACCESS_KEY, SESSION_TOKEN, ROLE_ARN, EXTERNAL_ID, REGION, WEB_IDENTITY_TOKEN_FILE, WEB_IDENTITY_TOKEN)",
    ],
    [
      { ACCESS_KEY: "AKIDX", accessKeyId: "AKIDY", SECRET_ACCESS_KEY: "s" },
      "accessKeyId",
      "is the same field as ACCESS_KEY: give one of them",
    ],
  ])("%j → %s", async (value, field, message) => {
    const error = await aws(value);
    expect(InvalidSecretError.isInstance(error)).toBe(true);
    expect(error.issues).toContainEqual({ field, message });
  });

  it("still says which required field is missing next to the unknown one", async () => {
    const error = await aws({ ACCESS_KEY_ID: "AKIDX", SECRET_ACCESS_KEY: "s" });
    expect(error.issues.map((i: { field: string }) => i.field)).toEqual(["ACCESS_KEY_ID", "ACCESS_KEY"]);
  });

  it("accepts the SDK's camelCase shape from the environment, and provenance says so", async () => {
    const result = await aws({ accessKeyId: "AKIDX", secretAccessKey: "sdk-shaped-secret" });
    expect(result.value).toEqual({ ACCESS_KEY: "AKIDX", SECRET_ACCESS_KEY: "sdk-shaped-secret" });
    expect(result.source.detail).toBe(
      `${PREFIX}AWS_CREDENTIALS; fields renamed: accessKeyId → ACCESS_KEY, secretAccessKey → SECRET_ACCESS_KEY`,
    );
  });

  it("lets a Google key carry fields it does not know, but not a misspelled one", async () => {
    process.env[`${PREFIX}GCP_CREDENTIALS`] = JSON.stringify({
      type: "authorized_user",
      client_id: "id",
      client_secret: "secret",
      refresh_token: "refresh",
      some_new_field: "x",
      client_emial: "robot@example.iam.gserviceaccount.com",
    });
    const error = await resolveSecret("GCP_CREDENTIALS").catch((e) => e);
    expect(error.issues).toEqual([
      { field: "client_emial", message: "is not a field of GCP_CREDENTIALS: did you mean client_email?" },
    ]);
  });
});

describe("undefined and null are refused, naming the secret", () => {
  it.each([undefined, null])("localStore().set(name, %s)", async (value) => {
    const error = await localStore()
      .set("SLACK_BOT_TOKEN", value)
      .catch((e) => e);
    expect(ValidationError.isInstance(error)).toBe(true);
    expect(error.message).toContain(`the value of SLACK_BOT_TOKEN is not valid:\n  - (value): is ${value}`);
    expect(localStore().names()).toEqual([]);
  });

  it("localStore().set checks the registry's schema, as the CLI does", async () => {
    const error = await localStore()
      .set("SLACK_BOT_TOKEN", "not-a-slack-token")
      .catch((e) => e);
    expect(ValidationError.isInstance(error)).toBe(true);
    expect(error.message).toContain("SLACK_BOT_TOKEN must be a Slack token starting with xoxb- or xoxp-");
    await localStore().set("SLACK_BOT_TOKEN", fakeSlackToken());
    expect(localStore().names()).toEqual(["SLACK_BOT_TOKEN"]);
  });

  it.each([undefined, null])("withSecrets({ NAME: %s })", (value) => {
    expect(() => withSecrets({ SLACK_WEBHOOK_URL: value }, () => 1)).toThrow(
      `Invalid secrets.SLACK_WEBHOOK_URL: the value of SLACK_WEBHOOK_URL is ${value}`,
    );
  });
});

describe("default chains, probed without the network", () => {
  const sha1 = (text: string) => createHash("sha1").update(text).digest("hex");
  const later = new Date(Date.now() + 3_600_000).toISOString();
  const earlier = new Date(Date.now() - 3_600_000).toISOString();

  it.each<[string, (home: string) => void, string, string]>([
    ["nothing anywhere", () => {}, "not-found", ""],
    [
      "env keys",
      () => {
        process.env.AWS_ACCESS_KEY_ID = "AKIDX";
        process.env.AWS_SECRET_ACCESS_KEY = "s";
      },
      "found",
      "env AWS_ACCESS_KEY_ID",
    ],
    [
      "shared credentials file",
      (h) => {
        write(
          join(h, ".aws", "credentials"),
          "[default]\naws_access_key_id = AKIDX\naws_secret_access_key = s\n",
        );
      },
      "found",
      "shared credentials file ~/.aws/credentials, profile default",
    ],
    [
      "a named profile in the config file",
      (h) => {
        write(
          join(h, ".aws", "config"),
          "[profile ops]\naws_access_key_id = AKIDX\naws_secret_access_key = s\n",
        );
        process.env.AWS_PROFILE = "ops";
      },
      "found",
      "shared config file ~/.aws/config, profile ops",
    ],
    [
      "a profile that does not exist",
      (h) => {
        write(join(h, ".aws", "config"), "[default]\nregion = eu-west-1\n");
        process.env.AWS_PROFILE = "ops";
      },
      "not-found",
      "",
    ],
    [
      "credential_process",
      (h) => {
        write(join(h, ".aws", "config"), "[default]\ncredential_process = /usr/bin/get-creds\n");
      },
      "found",
      "credential_process of profile default (shared config file ~/.aws/config; not run by this check)",
    ],
    [
      "SSO with a valid cached token",
      (h) => {
        write(
          join(h, ".aws", "config"),
          "[default]\nsso_session = corp\n[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\n",
        );
        write(join(h, ".aws", "sso", "cache", `${sha1("corp")}.json`), JSON.stringify({ expiresAt: later }));
      },
      "found",
      `SSO, profile default (token cached in ~/.aws/sso/cache/${sha1("corp")}.json)`,
    ],
    [
      "SSO with an expired token",
      (h) => {
        write(join(h, ".aws", "config"), "[default]\nsso_start_url = https://corp.awsapps.com/start\n");
        write(
          join(h, ".aws", "sso", "cache", `${sha1("https://corp.awsapps.com/start")}.json`),
          JSON.stringify({ expiresAt: earlier }),
        );
      },
      "not-found",
      "",
    ],
    [
      "a container endpoint",
      () => {
        process.env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI = "/v2/credentials/x";
      },
      "unverified",
      "the container credentials endpoint (ECS or EKS Pod Identity)",
    ],
  ])("AWS: %s", async (_, setup, status, detail) => {
    const home = emptyChains();
    setup(home);
    const probe = probeAwsDefaultChain();
    expect({ status: probe.status, detail: probe.detail }).toEqual({ status, detail });
  });

  it("says why an expired SSO token does not count", () => {
    const home = emptyChains();
    write(join(home, ".aws", "config"), "[default]\nsso_start_url = https://corp.awsapps.com/start\n");
    expect(probeAwsDefaultChain().looked).toContainEqual({
      place: "SSO, profile default",
      outcome: "no cached token: run aws sso login --profile default",
    });
  });

  it.each<[string, (home: string) => void, string, string]>([
    ["nothing anywhere", () => {}, "not-found", ""],
    [
      "GOOGLE_APPLICATION_CREDENTIALS",
      (h) => {
        process.env.GOOGLE_APPLICATION_CREDENTIALS = write(join(h, "key.json"), '{"type":"service_account"}');
      },
      "found",
      `env GOOGLE_APPLICATION_CREDENTIALS (~/key.json, service_account)`,
    ],
    [
      "GOOGLE_APPLICATION_CREDENTIALS naming no file",
      (h) => {
        process.env.GOOGLE_APPLICATION_CREDENTIALS = join(h, "gone.json");
        write(
          join(h, ".config", "gcloud", "application_default_credentials.json"),
          '{"type":"authorized_user"}',
        );
      },
      "not-found",
      "",
    ],
    [
      "gcloud's file",
      (h) => {
        write(
          join(h, ".config", "gcloud", "application_default_credentials.json"),
          '{"type":"authorized_user"}',
        );
      },
      "found",
      "gcloud's file ~/.config/gcloud/application_default_credentials.json (authorized_user)",
    ],
    [
      "on Cloud Run",
      () => {
        delete process.env.METADATA_SERVER_DETECTION;
        process.env.K_SERVICE = "nightly";
      },
      "unverified",
      "the Google Cloud metadata server (the attached service account)",
    ],
  ])("Google ADC: %s", (_, setup, status, detail) => {
    const home = emptyChains();
    setup(home);
    const probe = probeGoogleAdc();
    expect({ status: probe.status, detail: probe.detail }).toEqual({ status, detail });
  });
});
