import { generateKeyPairSync, randomBytes } from "node:crypto";
import { REDACTED, resolveSecret } from "@tributary/auth";
import { afterEach, describe, expect, it } from "vitest";
import { memorySink, useTempHome } from "../test/helpers.js";
import { taskContext } from "./context.js";
import { flow } from "./flow.js";
import { task } from "./task.js";

useTempHome();
afterEach(() => {
  for (const key of Object.keys(process.env)) {
    if (key.startsWith("TRIBUTARY__CONTEXT__SECRETS__")) delete process.env[key];
  }
});

const random = (label: string) => `${label}${randomBytes(12).toString("hex")}`;
const pem = () =>
  generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey.export({
    type: "pkcs8",
    format: "pem",
  }) as string;

/**
 * Each structured default name as a flow sees it: where it is set, what the provenance line says about it, the
 * values a log line may show and those it must not.
 */
const cases = [
  {
    name: "AWS_CREDENTIALS",
    env: true,
    value: {
      ROLE_ARN: "arn:aws:iam::123456789012:role/etl",
      WEB_IDENTITY_TOKEN: random("eyJ"),
      REGION: "eu-west-1",
    },
    provenance:
      /^AWS_CREDENTIALS from env \(TRIBUTARY__CONTEXT__SECRETS__AWS_CREDENTIALS\): web identity, role arn:aws:iam::123456789012:role\/etl, region eu-west-1$/,
    shown: ["arn:aws:iam::123456789012:role/etl", "eu-west-1"],
    hidden: ["WEB_IDENTITY_TOKEN"],
  },
  {
    name: "AWS_CREDENTIALS",
    env: false,
    value: { ACCESS_KEY: random("AKID"), SECRET_ACCESS_KEY: random("sk"), REGION: "us-east-1" },
    provenance: /^AWS_CREDENTIALS from run \(run [0-9a-f-]+\): access key, region us-east-1$/,
    shown: ["us-east-1"],
    hidden: ["ACCESS_KEY", "SECRET_ACCESS_KEY"],
  },
  {
    name: "GCP_CREDENTIALS",
    env: false,
    value: {
      type: "service_account",
      project_id: "acme-data",
      private_key_id: random("kid"),
      private_key: pem(),
      client_email: "etl@acme-data.iam.gserviceaccount.com",
    },
    provenance:
      /^GCP_CREDENTIALS from run \(run [0-9a-f-]+\): service account etl@acme-data\.iam\.gserviceaccount\.com$/,
    shown: ["acme-data", "etl@acme-data.iam.gserviceaccount.com", "service_account"],
    hidden: ["private_key", "private_key_id"],
  },
  {
    name: "GCP_CREDENTIALS",
    env: true,
    value: {
      type: "external_account",
      audience: "//iam.googleapis.com/projects/42/locations/global/workloadIdentityPools/ci/providers/gha",
      subject_token_type: "urn:ietf:params:oauth:token-type:jwt",
      token_url: "https://sts.googleapis.com/v1/token",
      credential_source: { file: "/var/run/oidc/token", headers: { "x-token": random("hdr") } },
    },
    provenance:
      /^GCP_CREDENTIALS from env \(\S+\): external account \(workload identity pool ci, provider gha\)$/,
    shown: ["/var/run/oidc/token", "urn:ietf:params:oauth:token-type:jwt"],
    hidden: [],
  },
  {
    name: "GITHUB_APP_CREDENTIALS",
    env: false,
    value: { APP_ID: "123456", PRIVATE_KEY: pem(), INSTALLATION_ID: "7654321" },
    provenance:
      /^GITHUB_APP_CREDENTIALS from run \(run [0-9a-f-]+\): GitHub App 123456, installation 7654321$/,
    shown: ["123456", "7654321"],
    hidden: ["PRIVATE_KEY"],
  },
] as const;

describe("a structured credential in a flow run", () => {
  it.each(cases.map((c) => [`${c.name} from ${c.env ? "env" : "run secrets"}`, c] as const))(
    "%s: the provenance line says what kind it is; logs, the report and errors show its non-secret fields only",
    async (_, c) => {
      const value = c.value as Record<string, string>;
      if (c.env) process.env[`TRIBUTARY__CONTEXT__SECRETS__${c.name}`] = JSON.stringify(value);
      const secrets = c.hidden.map((field) => value[field] as string);
      const use = task({ name: "use" }, async () => {
        await resolveSecret(c.name);
        taskContext()?.log.info(`working with ${c.shown.join(" and ")}`, { values: secrets });
        throw new Error(`failed with ${[...c.shown, ...secrets].join(" / ")}`);
      });
      const { sink, lines, records } = memorySink();
      const report = await flow({ name: "fields", logger: { sink } }, () => use()).run(
        c.env ? {} : { secrets: { [c.name]: value } },
      );
      const provenance = records.filter((r) => r.message.startsWith(`${c.name} from`)).map((r) => r.message);
      expect(provenance).toEqual([expect.stringMatching(c.provenance)]);
      expect(lines.join("\n")).toContain(`working with ${c.shown.join(" and ")}`);
      expect(report.state).toBe("failed");
      const reported = JSON.stringify(report);
      for (const shown of c.shown) expect(reported).toContain(shown);
      const produced = `${lines.join("\n")}\n${reported}`;
      for (const secret of secrets) {
        expect(produced).not.toContain(secret);
        expect(produced).not.toContain(JSON.stringify(secret).slice(1, -1));
      }
      if (secrets.length > 0) expect(reported).toContain(REDACTED);
    },
  );
});
