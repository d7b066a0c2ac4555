import {
  configureBackends,
  MissingCredentialsError,
  mask,
  resolveSecret,
  SecretBackendError,
  type SecretSource,
  ValidationError,
  withSecrets,
} from "@tributary/auth";
import { describe, expect, it } from "vitest";
import { useGoogle } from "../test/helpers.js";
import { uploadObject } from "./gcs-upload.js";
import { gcpSecretManagerBackend } from "./index.js";

const env = useGoogle();
const backend = (extra: object = {}) =>
  gcpSecretManagerBackend({ credentials: env.key(), endpoint: env.google().url, ...extra });

describe("gcpSecretManagerBackend", () => {
  it("reads the latest version as text, and object-shaped names as JSON", async () => {
    const google = env.google();
    google.setSecret("DB_PASSWORD", "old");
    google.setSecret("DB_PASSWORD", "s3cr3t-value");
    google.setSecret(
      "AWS_CREDENTIALS",
      JSON.stringify({ ACCESS_KEY: "AKIAEXAMPLE", SECRET_ACCESS_KEY: "x".repeat(40) }),
    );
    const b = backend();
    expect(await b.get("DB_PASSWORD")).toBe("s3cr3t-value");
    expect(await b.get("AWS_CREDENTIALS")).toEqual({
      ACCESS_KEY: "AKIAEXAMPLE",
      SECRET_ACCESS_KEY: "x".repeat(40),
    });
    expect(b.describe()).toBe(`GCP Secret Manager (project ${env.key().project_id})`);
    const access = google.requests.filter((r) => r.path.endsWith(":access")).map((r) => r.path);
    expect(access[0]).toBe(`/v1/projects/${env.key().project_id}/secrets/DB_PASSWORD/versions/latest:access`);
  });

  it("answers a declared name in the resolution order, with its source", async () => {
    env.google().setSecret("SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/T000/B000/XXXX");
    configureBackends([backend()]);
    const sources: SecretSource[] = [];
    const resolved = await withSecrets({}, () => resolveSecret("SLACK_WEBHOOK_URL"), {
      declare: ["SLACK_WEBHOOK_URL"],
      onResolve: (_n, s) => sources.push(s),
    });
    expect(resolved.value).toBe("https://hooks.slack.com/services/T000/B000/XXXX");
    expect(resolved.source.kind).toBe("backend");
    expect(resolved.source.detail).toContain("GCP Secret Manager");
    // The backend's key is registered with the masker, but not its project: provenance still names the project.
    expect(mask(resolved.source.detail)).toContain(`GCP Secret Manager (project ${env.key().project_id})`);
  });

  it("a missing secret is not found: the resolution goes on and lists the backend", async () => {
    configureBackends([backend()]);
    expect(await backend().get("NOPE")).toBeUndefined();
    const error = await withSecrets({}, () => resolveSecret("MY_TOKEN", { secretName: "MY_TOKEN" })).catch(
      (e) => e,
    );
    expect(MissingCredentialsError.isInstance(error)).toBe(true);
    expect(error.message).toMatch(/GCP Secret Manager.*MY_TOKEN.*not found/);
  });

  it.each([
    {
      label: "permission denied",
      setup: () => {
        env.google().setSecret("LOCKED", "x");
        env
          .google()
          .denyAccess(env.key().client_email, `/v1/projects/${env.key().project_id}/secrets/LOCKED/`);
      },
      name: "LOCKED",
      code: "SECRET_BACKEND_ACCESS_DENIED",
      reason: "PERMISSION_DENIED",
      text: /denied access to secret LOCKED .*argument \(gcpSecretManagerBackend\(\{ credentials \}\)\).*secretAccessor/,
      retryable: false,
    },
    {
      label: "quota exceeded",
      setup: () => {
        env.google().setSecret("BUSY", "x");
        env.google().failNext(2, 429, {
          headers: { "Retry-After": "0" },
          match: (r) => r.path.includes("/secrets/"),
        });
      },
      name: "BUSY",
      code: "SECRET_BACKEND_THROTTLED",
      reason: "RESOURCE_EXHAUSTED",
      text: /throttled reading secret BUSY/,
      retryable: true,
    },
    {
      label: "a disabled latest version",
      setup: () => env.google().setSecret("OFF", "x", { state: "DISABLED" }),
      name: "OFF",
      code: "SECRET_BACKEND_VERSION_UNAVAILABLE",
      reason: "FAILED_PRECONDITION",
      text: /secret OFF has no readable latest version/,
      retryable: false,
    },
  ])(
    "$label is a SecretBackendError naming the backend and the secret, with Google's reason",
    async ({ setup, name, code, reason, text, retryable }) => {
      setup();
      const error = await backend({ retries: 1 })
        .get(name)
        .catch((e) => e);
      expect(SecretBackendError.isInstance(error)).toBe(true);
      expect(error).toMatchObject({ code, key: name, retryable, reason });
      expect(error.backend).toContain("GCP Secret Manager");
      expect(error.message).toMatch(text);
    },
  );

  it("retries a throttled read and succeeds", async () => {
    const google = env.google();
    google.setSecret("FLAKY", "ok");
    google.failNext(1, 429, { headers: { "Retry-After": "0" }, match: (r) => r.path.includes("/secrets/") });
    expect(await backend().get("FLAKY")).toBe("ok");
  });

  it("a rejected credential is a SecretBackendError whose cause names the source", async () => {
    const google = env.google();
    const user = { ...google.createAuthorizedUser(), refresh_token: "1//revoked" };
    const error = await backend({ credentials: user, project: "tributary-test" })
      .get("ANY")
      .catch((e) => e);
    expect(error).toMatchObject({ code: "SECRET_BACKEND_CREDENTIAL_REJECTED" });
    expect(error.cause.name).toBe("CredentialRejectedError");
  });

  it("uses GCP_CREDENTIALS from the environment for itself, and can hold GCP_CREDENTIALS for the tasks", async () => {
    const google = env.google();
    // The backend's own identity comes from the environment; the flow's GCS key lives in Secret Manager.
    process.env.TRIBUTARY__CONTEXT__SECRETS__GCP_CREDENTIALS = JSON.stringify(env.key());
    const taskKey = await google.createServiceAccount();
    google.setSecret("GCS_WRITER_KEY", JSON.stringify(taskKey));
    configureBackends([gcpSecretManagerBackend({ endpoint: google.url })]);
    const sources: Array<[string, string]> = [];
    await withSecrets(
      {},
      () =>
        uploadObject({
          secretName: "GCS_WRITER_KEY",
          endpoint: google.url,
          bucket: env.bucket,
          key: "chain.txt",
          body: "ok",
        }),
      { onResolve: (n, s) => sources.push([n, s.kind]) },
    );
    expect((await google.readObject(env.bucket, "chain.txt"))?.toString()).toBe("ok");
    expect(sources).toEqual(
      expect.arrayContaining([
        ["GCP_CREDENTIALS", "env"],
        ["GCS_WRITER_KEY", "backend"],
      ]),
    );
  });

  it("refuses bad options at once", () => {
    expect(() => gcpSecretManagerBackend({ project: "Bad Project" })).toThrow(ValidationError);
    expect(() => gcpSecretManagerBackend({ endpoint: "not a url" })).toThrow(ValidationError);
    expect(() => gcpSecretManagerBackend({ version: "newest" })).toThrow(ValidationError);
  });
});
