import { generateKeyPairSync, randomBytes } from "node:crypto";
import * as v from "valibot";
import { beforeEach, describe, expect, it } from "vitest";
import { isolateEnvironment } from "../test/helpers.js";
import { withSecrets } from "./context.js";
import { ValidationError } from "./errors.js";
import { maskValue } from "./mask.js";
import { mask, REDACTED, resetMasker } from "./masked-values.js";
import { defineSecret } from "./registry.js";
import { resolveSecret } from "./resolve-secret.js";
import { secretDefinition } from "./secret-definition.js";
import { looksSecretField, registerSecret } from "./secret-strings.js";

isolateEnvironment();
beforeEach(() => resetMasker());

const pem = () =>
  generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey.export({
    type: "pkcs8",
    format: "pem",
  }) as string;
const random = (label: string) => `${label}${randomBytes(12).toString("hex")}`;

/** Each structured default name: a value, the fields that must stay readable and those that must be masked. */
interface Case {
  name: string;
  label: string;
  value: Record<string, unknown>;
  shown: Record<string, string>;
  hidden: Record<string, string>;
}

function cases(): Case[] {
  const accessKey = random("AKID");
  const secretKey = random("sk");
  const sessionToken = random("st");
  const webToken = random("eyJ");
  const privateKey = pem();
  const keyId = random("kid");
  const clientSecret = random("cs");
  const refreshToken = random("rt");
  const headerToken = random("hdr");
  const urlToken = random("qt");
  const appKey = pem();
  return [
    {
      name: "AWS_CREDENTIALS",
      label: "key pair with a role",
      value: {
        ACCESS_KEY: accessKey,
        SECRET_ACCESS_KEY: secretKey,
        SESSION_TOKEN: sessionToken,
        ROLE_ARN: "arn:aws:iam::123456789012:role/etl",
        EXTERNAL_ID: "acme-external-7",
        REGION: "us-east-1",
      },
      shown: {
        ROLE_ARN: "arn:aws:iam::123456789012:role/etl",
        EXTERNAL_ID: "acme-external-7",
        REGION: "us-east-1",
      },
      hidden: { ACCESS_KEY: accessKey, SECRET_ACCESS_KEY: secretKey, SESSION_TOKEN: sessionToken },
    },
    {
      name: "AWS_CREDENTIALS",
      label: "web identity token",
      value: {
        ROLE_ARN: "arn:aws:iam::123456789012:role/etl",
        WEB_IDENTITY_TOKEN: webToken,
        REGION: "eu-west-1",
      },
      shown: { ROLE_ARN: "arn:aws:iam::123456789012:role/etl", REGION: "eu-west-1" },
      hidden: { WEB_IDENTITY_TOKEN: webToken },
    },
    {
      name: "AWS_CREDENTIALS",
      label: "web identity token file",
      value: {
        ROLE_ARN: "arn:aws:iam::123456789012:role/etl",
        WEB_IDENTITY_TOKEN_FILE: "/var/run/token/aws",
      },
      shown: {
        ROLE_ARN: "arn:aws:iam::123456789012:role/etl",
        WEB_IDENTITY_TOKEN_FILE: "/var/run/token/aws",
      },
      hidden: {},
    },
    {
      name: "GCP_CREDENTIALS",
      label: "service account key",
      value: {
        type: "service_account",
        project_id: "acme-data",
        private_key_id: keyId,
        private_key: privateKey,
        client_email: "etl@acme-data.iam.gserviceaccount.com",
        client_id: "104213370424",
        auth_uri: "https://accounts.google.com/o/oauth2/auth",
        token_uri: "https://oauth2.googleapis.com/token",
        universe_domain: "googleapis.com",
      },
      shown: {
        type: "service_account",
        project_id: "acme-data",
        client_email: "etl@acme-data.iam.gserviceaccount.com",
        client_id: "104213370424",
        auth_uri: "https://accounts.google.com/o/oauth2/auth",
        token_uri: "https://oauth2.googleapis.com/token",
        universe_domain: "googleapis.com",
      },
      hidden: { private_key: privateKey, private_key_id: keyId },
    },
    {
      name: "GCP_CREDENTIALS",
      label: "authorized user",
      value: {
        type: "authorized_user",
        client_id: "764086051850.apps.googleusercontent.com",
        client_secret: clientSecret,
        refresh_token: refreshToken,
        quota_project_id: "acme-data",
      },
      shown: { client_id: "764086051850.apps.googleusercontent.com", quota_project_id: "acme-data" },
      hidden: { client_secret: clientSecret, refresh_token: refreshToken },
    },
    {
      name: "GCP_CREDENTIALS",
      label: "external account",
      value: {
        type: "external_account",
        audience: "//iam.googleapis.com/projects/42/locations/global/workloadIdentityPools/ci/providers/gha",
        subject_token_type: "urn:ietf:params:oauth:token-type:jwt",
        token_url: "https://sts.googleapis.com/v1/token",
        service_account_impersonation_url:
          "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/etl@acme-data.iam.gserviceaccount.com:generateAccessToken",
        credential_source: {
          url: `https://token.example.com/oidc?audience=gcp&access_token=${urlToken}`,
          headers: { Authorization: `Bearer ${headerToken}` },
          format: { type: "json", subject_token_field_name: "value" },
        },
      },
      shown: {
        audience: "//iam.googleapis.com/projects/42/locations/global/workloadIdentityPools/ci/providers/gha",
        subject_token_type: "urn:ietf:params:oauth:token-type:jwt",
        token_url: "https://sts.googleapis.com/v1/token",
        service_account_impersonation_url:
          "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/etl@acme-data.iam.gserviceaccount.com:generateAccessToken",
        "credential_source.url (without its token)": "https://token.example.com/oidc?audience=gcp",
      },
      hidden: {
        "credential_source.headers.Authorization": headerToken,
        "credential_source.url token": urlToken,
      },
    },
    {
      name: "GITHUB_APP_CREDENTIALS",
      label: "App",
      value: { APP_ID: "123456", PRIVATE_KEY: appKey, INSTALLATION_ID: "7654321" },
      shown: { APP_ID: "123456", INSTALLATION_ID: "7654321" },
      hidden: { PRIVATE_KEY: appKey },
    },
  ];
}

/** The forms a secret value takes in text: as it is, JSON-escaped, URL-encoded, base64. */
const forms = (value: string) => ({
  raw: value,
  json: JSON.stringify(value).slice(1, -1),
  url: encodeURIComponent(value),
  base64: Buffer.from(value).toString("base64"),
});

/** What every output path (a log line, a report's error, a logged object) shows for `text`. */
function outputs(text: string): string[] {
  const error = maskValue(new Error(`failed: ${text}`)) as { message: string };
  return [mask(`log: ${text}`), error.message, JSON.stringify(maskValue({ detail: text }))];
}

function expectMasked(c: Case): void {
  for (const [field, shown] of Object.entries(c.shown)) {
    for (const out of outputs(`${field} is ${shown} here`)) expect(out, field).toContain(`is ${shown} here`);
  }
  for (const [field, hidden] of Object.entries(c.hidden)) {
    for (const [form, text] of Object.entries(forms(hidden))) {
      for (const out of outputs(`${field} is ${text} here`)) {
        expect(out, `${field} ${form}`).not.toContain(text);
        expect(out, `${field} ${form}`).toContain(REDACTED);
      }
    }
  }
}

const registrations = {
  "run secrets (withSecrets)": async (c: Case, check: () => void) =>
    withSecrets({ [c.name]: c.value }, async () => check()),
  "run secrets as JSON text": async (c: Case, check: () => void) =>
    withSecrets({ [c.name]: JSON.stringify(c.value) }, async () => {
      expect(mask(JSON.stringify(c.value))).toBe(REDACTED);
      check();
    }),
  "resolveSecret from env": async (c: Case, check: () => void) => {
    process.env[`TRIBUTARY__CONTEXT__SECRETS__${c.name}`] = JSON.stringify(c.value);
    await resolveSecret(c.name);
    check();
  },
  "registerSecret (secrets set, agent -e)": async (c: Case, check: () => void) => {
    registerSecret(c.name, JSON.stringify(c.value));
    expect(mask(JSON.stringify(c.value))).toBe(REDACTED);
    check();
  },
};

describe("only the secret fields of a default name are masked", () => {
  const table = cases().flatMap((c) =>
    Object.entries(registrations).map(
      ([how, register]) => [`${c.name} (${c.label}) by ${how}`, c, register] as const,
    ),
  );
  it.each(table)("%s", async (_, c, register) => {
    await register(c, () => expectMasked(c));
  });
});

describe("a user's own definitions", () => {
  it("mask the listed fields and any field whose name looks secret, nothing else", async () => {
    defineSecret({
      name: "WAREHOUSE_LOGIN",
      format: "json",
      schema: v.object({ host: v.string(), user: v.string(), password: v.string(), api_token: v.string() }),
      description: "warehouse login",
      services: ["warehouse"],
      secretFields: ["password"],
    });
    const value = {
      host: "db.acme.internal",
      user: "loader",
      password: random("pw"),
      api_token: random("tk"),
    };
    await withSecrets({ WAREHOUSE_LOGIN: value }, async () => {
      expect(mask(`connect ${value.user}@${value.host}`)).toBe(`connect ${value.user}@${value.host}`);
      expect(mask(`with ${value.password} and ${value.api_token}`)).toBe(`with ${REDACTED} and ${REDACTED}`);
    });
  });

  it.each([
    ["a definition without secretFields", "WAREHOUSE_LOGIN_ALL"],
    ["a name nobody defined", "NOBODY_DEFINED_THIS"],
  ])("%s masks every text field", async (_, name) => {
    if (name === "WAREHOUSE_LOGIN_ALL") {
      defineSecret({
        name,
        format: "json",
        schema: v.object({ host: v.string(), password: v.string() }),
        description: "warehouse login, every field masked",
        services: ["warehouse"],
      });
    }
    const value = { host: "db.acme.internal", password: random("pw") };
    await withSecrets({ [name]: value }, async () => {
      expect(mask(`at ${value.host} with ${value.password}`)).toBe(`at ${REDACTED} with ${REDACTED}`);
    });
  });

  it.each([
    [{ secretFields: ["password"] }, 'needs format: "json"'],
    [{ format: "json", secretFields: "password" }, "must be a list"],
    [{ format: "json", secretFields: ["headers..x"] }, "must be a list"],
  ] as const)("refuses secretFields %j", (extra, message) => {
    const make = () =>
      secretDefinition({
        name: "BAD_FIELDS",
        schema: v.unknown(),
        description: "x",
        services: [],
        ...(extra as object),
      });
    expect(make).toThrow(ValidationError);
    expect(make).toThrow(message);
  });
});

describe("looksSecretField", () => {
  it.each([
    ["password", true],
    ["SECRET_ACCESS_KEY", true],
    ["ACCESS_KEY", true],
    ["apiKey", true],
    ["x-api-key", true],
    ["Authorization", true],
    ["refresh_token", true],
    ["private_key", true],
    ["source_credentials", true],
    ["webhook_url", true],
    ["key_id", false],
    ["token_uri", false],
    ["auth_uri", false],
    ["WEB_IDENTITY_TOKEN_FILE", false],
    ["subject_token_type", false],
    ["credential_source", false],
    ["client_email", false],
    ["REGION", false],
    ["passenger", false],
  ])("%s → %s", (name, secret) => {
    expect(looksSecretField(name)).toBe(secret);
  });
});
