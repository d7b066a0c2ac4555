import { writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  describeIdentity,
  type GcpCredentials,
  InvalidSecretError,
  TributaryError,
  withSecrets,
} from "@tributary/auth";
import { createOidcIssuer } from "@tributary/testing";
import { beforeAll, describe, expect, it } from "vitest";
import { useGoogle } from "../test/helpers.js";
import { gcsExists, gcsUpload } from "./index.js";

const env = useGoogle();
const oidc = createOidcIssuer();
const POOL = "projects/123456/locations/global/workloadIdentityPools/ci/providers/k8s";
const AUDIENCE = `//iam.googleapis.com/${POOL}`;
const subject = "system:serviceaccount:etl:runner";
const federated = `principal://iam.googleapis.com/${POOL}/subject/${subject}`;
const runner = "etl-runner@tributary-test.iam.gserviceaccount.com";

beforeAll(() => {
  env.google().trustWorkloadIdentity({ audience: AUDIENCE, publicKey: oidc.publicKey });
  env.google().allowImpersonation(federated, runner);
});

/** An external_account file as `gcloud iam workload-identity-pools create-cred-config` writes it. */
function externalAccount(token: string, impersonate?: string): GcpCredentials {
  const file = join(env.dir(), "token");
  writeFileSync(file, token);
  return {
    type: "external_account" as const,
    audience: AUDIENCE,
    subject_token_type: "urn:ietf:params:oauth:token-type:jwt",
    token_url: env.google().stsUrl,
    credential_source: { file },
    ...(impersonate ? { service_account_impersonation_url: env.google().impersonationUrl(impersonate) } : {}),
  };
}

const upload = (credentials: GcpCredentials, name: string) =>
  gcsUpload({ credentials, endpoint: env.google().url, bucket: env.bucket, key: name, body: name });

describe("GCP_CREDENTIALS without a stored key", () => {
  it("external_account: the workload's OIDC token is exchanged at STS, then used on GCS", async () => {
    const google = env.google();
    await upload(externalAccount(oidc.token({ subject, audience: AUDIENCE })), "federated.txt");
    expect((await google.readObject(env.bucket, "federated.txt"))?.toString()).toBe("federated.txt");
    expect(google.requests.some((r) => r.path === "/v1/token")).toBe(true);
  });

  it("external_account with service_account_impersonation_url acts as that service account", async () => {
    const google = env.google();
    const before = google.impersonations.length;
    await upload(externalAccount(oidc.token({ subject, audience: AUDIENCE }), runner), "impersonated.txt");
    expect(google.impersonations.slice(before)).toEqual([{ principal: federated, serviceAccount: runner }]);
  });

  it("impersonated_service_account: a key's account mints tokens for another account", async () => {
    const google = env.google();
    const source = env.key();
    google.allowImpersonation(source.client_email, runner);
    const before = google.impersonations.length;
    await upload(
      {
        type: "impersonated_service_account" as const,
        service_account_impersonation_url: google.impersonationUrl(runner),
        source_credentials: { ...source },
      },
      "delegated.txt",
    );
    expect(google.impersonations.slice(before)).toEqual([
      { principal: source.client_email, serviceAccount: runner },
    ]);
  });

  it.each([
    [
      "a token for another audience",
      () => externalAccount(oidc.token({ subject, audience: "other" })),
      /audience/,
    ],
    [
      "an expired token",
      () => externalAccount(oidc.token({ subject, audience: AUDIENCE, expiresIn: -60 })),
      /expired/i,
    ],
    [
      "an account it may not impersonate",
      () =>
        externalAccount(
          oidc.token({ subject, audience: AUDIENCE }),
          "other@tributary-test.iam.gserviceaccount.com",
        ),
      /getAccessToken|PERMISSION_DENIED|denied/,
    ],
  ])("is refused for %s, with Google's reason", async (_, credentials, reason) => {
    const error = await gcsExists({
      credentials: credentials(),
      endpoint: env.google().url,
      bucket: env.bucket,
      key: "x",
    }).catch((e: unknown) => e);
    expect(TributaryError.isInstance(error), String(error)).toBe(true);
    expect(String((error as Error).message)).toMatch(reason);
  });

  it("refuses an external_account file whose token_url is plain http to another host, before any call", async () => {
    const before = env.google().requests.length;
    const value = { ...externalAccount("x"), token_url: "http://sts.example.com/v1/token" };
    const error = await gcsExists({
      credentials: value,
      endpoint: env.google().url,
      bucket: env.bucket,
      key: "x",
    }).catch((e: unknown) => e);
    expect(InvalidSecretError.isInstance(error)).toBe(true);
    expect((error as Error).message).toContain("token_url");
    expect(env.google().requests.length).toBe(before);
  });

  it("describeIdentity names the account a credential acts as, after a real token exchange", async () => {
    const google = env.google();
    const cases: [object, string][] = [
      [env.key(), env.key().client_email],
      [externalAccount(oidc.token({ subject, audience: AUDIENCE }), runner), runner],
      [externalAccount(oidc.token({ subject, audience: AUDIENCE })), `federated identity (${AUDIENCE})`],
    ];
    for (const [value, principal] of cases) {
      const before = google.tokensIssued;
      const who = await withSecrets({ GCP_CREDENTIALS: value }, () => describeIdentity("GCP_CREDENTIALS"));
      expect(who).toMatchObject({ name: "GCP_CREDENTIALS", principal, source: { kind: "run" } });
      expect(google.tokensIssued).toBeGreaterThan(before);
    }
  });
});
