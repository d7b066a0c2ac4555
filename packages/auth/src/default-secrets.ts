import * as v from "valibot";
import { headerValueProblem } from "./check-secret-input.js";
import { probeAwsDefaultChain, probeGoogleAdc } from "./default-chain-probe.js";
import { secretDefinition } from "./secret-definition.js";

const text = (what: string) =>
  v.pipe(v.string(`${what} must be a string`), v.minLength(1, `${what} must not be empty`));
const noSpace = (what: string) =>
  v.pipe(text(what), v.regex(/^\S+$/, `${what} must not contain spaces or line breaks`));
const pem = (what: string) =>
  v.pipe(
    text(what),
    v.regex(
      /-----BEGIN (RSA |EC )?PRIVATE KEY-----[\s\S]+-----END (RSA |EC )?PRIVATE KEY-----/,
      `${what} must be a PEM private key (-----BEGIN PRIVATE KEY----- … -----END PRIVATE KEY-----)`,
    ),
  );
/** A token or key: sent in an HTTP header (or signed into one), so printable ASCII only. */
const headerToken = (what: string) =>
  v.pipe(
    text(what),
    v.rawCheck(({ dataset, addIssue }) => {
      const problem = dataset.typed ? headerValueProblem(dataset.value) : undefined;
      if (problem) addIssue({ message: `${what} ${problem}` });
    }),
  );
const numericId = (what: string) =>
  v.union(
    [v.pipe(v.number(), v.integer(), v.minValue(1)), v.pipe(v.string(), v.regex(/^[1-9][0-9]*$/))],
    `${what} must be a positive whole number (or a string of digits)`,
  );

/** An object's message: a missing field says so; anything else names the expected shape. */
const objectMessage =
  (shape: string) =>
  (issue: { path?: readonly unknown[] | undefined }): string =>
    issue.path?.length ? "is required" : shape;

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);
/** An https URL; plain http only for a stand-in on this machine. */
const httpsUrl = (what: string) =>
  v.pipe(
    noSpace(what),
    v.check((s) => {
      try {
        const u = new URL(s);
        return u.protocol === "https:" || (u.protocol === "http:" && LOOPBACK.has(u.hostname));
      } catch {
        return false;
      }
    }, `${what} must be an https URL (plain http is accepted only for localhost)`),
  );

/** Schema of `AWS_CREDENTIALS`: a key pair, or (keyless) a role and a web-identity token. */
export const awsCredentialsSchema = v.pipe(
  v.object(
    {
      ACCESS_KEY: v.optional(headerToken("ACCESS_KEY")),
      SECRET_ACCESS_KEY: v.optional(headerToken("SECRET_ACCESS_KEY")),
      SESSION_TOKEN: v.optional(headerToken("SESSION_TOKEN")),
      ROLE_ARN: v.optional(
        v.pipe(
          v.string("ROLE_ARN must be a string"),
          v.regex(
            /^arn:aws[a-z-]*:iam::\d{12}:role\/\S+$/,
            "ROLE_ARN must be an IAM role ARN (arn:aws:iam::123456789012:role/name)",
          ),
        ),
      ),
      EXTERNAL_ID: v.optional(text("EXTERNAL_ID")),
      REGION: v.optional(noSpace("REGION")),
      WEB_IDENTITY_TOKEN_FILE: v.optional(text("WEB_IDENTITY_TOKEN_FILE")),
      WEB_IDENTITY_TOKEN: v.optional(noSpace("WEB_IDENTITY_TOKEN")),
    },
    objectMessage(
      "AWS_CREDENTIALS must be a JSON object with ACCESS_KEY and SECRET_ACCESS_KEY, or with ROLE_ARN and WEB_IDENTITY_TOKEN_FILE",
    ),
  ),
  v.forward(
    v.check((c) => c.EXTERNAL_ID === undefined || c.ROLE_ARN !== undefined, "EXTERNAL_ID needs ROLE_ARN"),
    ["EXTERNAL_ID"],
  ),
  v.forward(
    v.check(
      (c) =>
        (c.WEB_IDENTITY_TOKEN_FILE === undefined && c.WEB_IDENTITY_TOKEN === undefined) ||
        (c.ROLE_ARN !== undefined && c.ACCESS_KEY === undefined && c.SECRET_ACCESS_KEY === undefined),
      "a web identity token needs ROLE_ARN and no ACCESS_KEY or SECRET_ACCESS_KEY",
    ),
    ["ROLE_ARN"],
  ),
  v.forward(
    v.check(
      (c) => c.WEB_IDENTITY_TOKEN_FILE === undefined || c.WEB_IDENTITY_TOKEN === undefined,
      "give WEB_IDENTITY_TOKEN_FILE or WEB_IDENTITY_TOKEN, not both",
    ),
    ["WEB_IDENTITY_TOKEN"],
  ),
  v.forward(
    v.check(
      (c) =>
        c.ACCESS_KEY !== undefined ||
        c.WEB_IDENTITY_TOKEN_FILE !== undefined ||
        c.WEB_IDENTITY_TOKEN !== undefined,
      "is required",
    ),
    ["ACCESS_KEY"],
  ),
  v.forward(
    v.check(
      (c) =>
        c.SECRET_ACCESS_KEY !== undefined ||
        c.WEB_IDENTITY_TOKEN_FILE !== undefined ||
        c.WEB_IDENTITY_TOKEN !== undefined,
      "is required",
    ),
    ["SECRET_ACCESS_KEY"],
  ),
);
/** The value of `AWS_CREDENTIALS`. */
export type AwsCredentials = v.InferOutput<typeof awsCredentialsSchema>;

/** Schema of `GCP_CREDENTIALS`: a service-account key or an `authorized_user` file. */
export const gcpCredentialsSchema = v.variant(
  "type",
  [
    v.looseObject({
      type: v.literal("service_account"),
      client_email: v.pipe(text("client_email"), v.email("client_email must be an email address")),
      private_key: pem("private_key"),
      private_key_id: v.optional(v.string()),
      project_id: v.optional(noSpace("project_id")),
      client_id: v.optional(v.string()),
      token_uri: v.optional(httpsUrl("token_uri")),
    }),
    v.looseObject({
      type: v.literal("authorized_user"),
      client_id: headerToken("client_id"),
      client_secret: headerToken("client_secret"),
      refresh_token: headerToken("refresh_token"),
      quota_project_id: v.optional(noSpace("quota_project_id")),
      token_uri: v.optional(httpsUrl("token_uri")),
    }),
    v.looseObject({
      type: v.literal("external_account"),
      audience: text("audience"),
      subject_token_type: text("subject_token_type"),
      token_url: httpsUrl("token_url"),
      credential_source: v.looseObject(
        {
          file: v.optional(text("credential_source.file")),
          url: v.optional(httpsUrl("credential_source.url")),
          format: v.optional(v.looseObject({ type: v.picklist(["text", "json"]) })),
        },
        "credential_source must be an object with `file` or `url`",
      ),
      service_account_impersonation_url: v.optional(httpsUrl("service_account_impersonation_url")),
      quota_project_id: v.optional(noSpace("quota_project_id")),
    }),
    v.looseObject({
      type: v.literal("impersonated_service_account"),
      service_account_impersonation_url: httpsUrl("service_account_impersonation_url"),
      source_credentials: v.looseObject({ type: v.picklist(["service_account", "authorized_user"]) }),
      delegates: v.optional(v.array(text("delegates"))),
    }),
  ],
  'GCP_CREDENTIALS must be a JSON key with "type": "service_account", "authorized_user", "external_account" or "impersonated_service_account"',
);
/** The value of `GCP_CREDENTIALS`. */
export type GcpCredentials = v.InferOutput<typeof gcpCredentialsSchema>;

/** Schema of `SLACK_WEBHOOK_URL`. */
export const slackWebhookUrlSchema = httpsUrl("SLACK_WEBHOOK_URL");
/** Schema of `SLACK_BOT_TOKEN`. */
export const slackBotTokenSchema = v.pipe(
  headerToken("SLACK_BOT_TOKEN"),
  v.regex(/^xox[abpe]-/, "SLACK_BOT_TOKEN must be a Slack token starting with xoxb- or xoxp-"),
);
/** Schema of `GITHUB_ACCESS_TOKEN`. */
export const githubAccessTokenSchema = v.pipe(
  headerToken("GITHUB_ACCESS_TOKEN"),
  v.minLength(8, "GITHUB_ACCESS_TOKEN is too short to be a GitHub token"),
);
/** Schema of `GITHUB_APP_CREDENTIALS`. */
export const githubAppCredentialsSchema = v.object(
  {
    APP_ID: numericId("APP_ID"),
    PRIVATE_KEY: pem("PRIVATE_KEY"),
    INSTALLATION_ID: numericId("INSTALLATION_ID"),
  },
  objectMessage("GITHUB_APP_CREDENTIALS must be a JSON object with APP_ID, PRIVATE_KEY and INSTALLATION_ID"),
);
/** The value of `GITHUB_APP_CREDENTIALS`. */
export type GithubAppCredentials = v.InferOutput<typeof githubAppCredentialsSchema>;

/** Schema of `TRIBUTARY_SIGNING_KEY`: an Ed25519 private key, PKCS#8 PEM (`tributary keys generate` writes one). */
export const tributarySigningKeySchema = v.pipe(
  text("TRIBUTARY_SIGNING_KEY"),
  v.regex(
    /-----BEGIN PRIVATE KEY-----[\s\S]+-----END PRIVATE KEY-----/,
    "TRIBUTARY_SIGNING_KEY must be a PKCS#8 PEM private key (-----BEGIN PRIVATE KEY----- … -----END PRIVATE KEY-----), as tributary keys generate writes",
  ),
);

/** `AWS_CREDENTIALS` in words: `web identity, role arn:…`, `access key, region eu-west-1`. */
function describeAws(c: AwsCredentials): string {
  const parts = [
    c.ACCESS_KEY === undefined ? "web identity" : c.SESSION_TOKEN ? "temporary access key" : "access key",
  ];
  if (c.ROLE_ARN) parts.push(`role ${c.ROLE_ARN}`);
  if (c.REGION) parts.push(`region ${c.REGION}`);
  return parts.join(", ");
}

/** `GCP_CREDENTIALS` in words: `service account etl@…`, `external account (workload identity pool …)`. */
function describeGcp(c: GcpCredentials): string {
  switch (c.type) {
    case "service_account":
      return `service account ${c.client_email}`;
    case "authorized_user":
      return `user credentials (OAuth client ${c.client_id})`;
    case "impersonated_service_account":
      return `impersonated service account ${impersonated(c.service_account_impersonation_url) ?? "(unknown)"}`;
    case "external_account": {
      // //iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/POOL/providers/PROVIDER
      const pool = /\/(workloadIdentityPools|workforcePools)\/([^/]+)(?:\/providers\/([^/]+))?/.exec(
        c.audience,
      );
      const what = pool
        ? `${pool[1] === "workforcePools" ? "workforce pool" : "workload identity pool"} ${pool[2]}${pool[3] ? `, provider ${pool[3]}` : ""}`
        : `audience ${c.audience}`;
      const as = impersonated(c.service_account_impersonation_url);
      return `external account (${what})${as ? `, impersonating ${as}` : ""}`;
    }
  }
}

/** The service account of an IAM Credentials `generateAccessToken` URL. */
function impersonated(url: string | undefined): string | undefined {
  const email = url && /\/serviceAccounts\/([^/:]+)/.exec(url)?.[1];
  return email ? decodeURIComponent(email) : undefined;
}

/** The default secret names every Tributary integration reads. */
export const defaultSecrets = [
  secretDefinition({
    name: "AWS_CREDENTIALS",
    schema: awsCredentialsSchema,
    format: "json",
    description:
      "AWS access key pair (ACCESS_KEY, SECRET_ACCESS_KEY, optional SESSION_TOKEN); with ROLE_ARN (and EXTERNAL_ID) a role to assume; keyless: ROLE_ARN with WEB_IDENTITY_TOKEN_FILE (or WEB_IDENTITY_TOKEN)",
    services: ["aws"],
    // The key id too, as the AWS CLI shows it masked; the region, the role and its external id stay readable.
    secretFields: ["ACCESS_KEY", "SECRET_ACCESS_KEY", "SESSION_TOKEN", "WEB_IDENTITY_TOKEN"],
    describe: describeAws,
    fallback: {
      description: "AWS SDK default provider chain (AWS_ACCESS_KEY_ID, profiles, SSO, instance roles)",
      probe: probeAwsDefaultChain,
    },
    fields: {
      // Read off the schema, so that a field added there is known here too.
      known: Object.keys(awsCredentialsSchema.pipe[0].entries),
      others: "reject",
      // The AWS SDK's own names, as its credential objects and @tributary/testing hand keys out.
      aliases: {
        accessKeyId: "ACCESS_KEY",
        secretAccessKey: "SECRET_ACCESS_KEY",
        sessionToken: "SESSION_TOKEN",
      },
    },
  }),
  secretDefinition({
    name: "GCP_CREDENTIALS",
    schema: gcpCredentialsSchema,
    format: "json",
    description:
      "Google service-account key JSON, an authorized_user file, or keyless: an external_account (workload identity federation) or impersonated_service_account file",
    services: ["gcp"],
    // Not the type, project, email, client id, audience or URLs: they say whose the key is, and doctor shows them.
    secretFields: [
      "private_key",
      "private_key_id",
      "client_secret",
      "refresh_token",
      "credential_source.headers",
      "source_credentials",
    ],
    describe: describeGcp,
    fallback: {
      description:
        "Google Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, gcloud, metadata server)",
      probe: probeGoogleAdc,
    },
    fields: {
      known: [
        "type",
        "project_id",
        "private_key_id",
        "private_key",
        "client_email",
        "client_id",
        "client_secret",
        "refresh_token",
        "quota_project_id",
        "auth_uri",
        "token_uri",
        "auth_provider_x509_cert_url",
        "client_x509_cert_url",
        "universe_domain",
        "account",
        // external_account (workload identity federation)
        "audience",
        "subject_token_type",
        "token_url",
        "credential_source",
        "service_account_impersonation_url",
        "service_account_impersonation",
        "workforce_pool_user_project",
        "token_info_url",
      ],
      // Key files gain fields over time: others pass, unless they look like a misspelled one.
      others: "allow",
    },
  }),
  secretDefinition({
    name: "SLACK_WEBHOOK_URL",
    schema: slackWebhookUrlSchema,
    description: "Slack incoming-webhook URL (the URL itself is the secret)",
    services: ["slack"],
    fallback: { description: "env SLACK_WEBHOOK_URL", env: ["SLACK_WEBHOOK_URL"] },
  }),
  secretDefinition({
    name: "SLACK_BOT_TOKEN",
    schema: slackBotTokenSchema,
    description: "Slack bot or user token (xoxb-, xoxp-) for the Web API",
    services: ["slack"],
    fallback: { description: "env SLACK_BOT_TOKEN", env: ["SLACK_BOT_TOKEN"] },
  }),
  secretDefinition({
    name: "GITHUB_ACCESS_TOKEN",
    schema: githubAccessTokenSchema,
    description: "GitHub personal access token or installation token",
    services: ["github"],
    fallback: { description: "env GITHUB_TOKEN, then GH_TOKEN", env: ["GITHUB_TOKEN", "GH_TOKEN"] },
  }),
  secretDefinition({
    name: "GITHUB_APP_CREDENTIALS",
    schema: githubAppCredentialsSchema,
    format: "json",
    description: "GitHub App credentials: APP_ID, PRIVATE_KEY (PEM) and INSTALLATION_ID",
    services: ["github"],
    fields: { known: Object.keys(githubAppCredentialsSchema.entries), others: "reject" },
    secretFields: ["PRIVATE_KEY"],
    describe: (c: GithubAppCredentials) => `GitHub App ${c.APP_ID}, installation ${c.INSTALLATION_ID}`,
  }),
  secretDefinition({
    name: "TRIBUTARY_SIGNING_KEY",
    schema: tributarySigningKeySchema,
    description:
      "Ed25519 private key (PKCS#8 PEM) that tributary deploy --sign signs deployments with; agents trust its public key",
    services: ["tributary"],
  }),
] as const;
