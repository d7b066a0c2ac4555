import { generateKeyPairSync } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  CredentialRejectedError,
  directoryBackend,
  localStore,
  MissingCredentialsError,
  type SecretSource,
  withSecrets,
} from "@tributary/auth";
import { describe, expect, it } from "vitest";
import { useGoogle } from "../test/helpers.js";
import { gcpAuth, gcsExists, gcsUpload } from "./index.js";

const env = useGoogle();

/** Runs `fn` in a run scope that records which source each secret came from. */
async function recordSources<T>(
  fn: () => Promise<T>,
  options: { secrets?: Record<string, unknown>; declare?: string[] } = {},
): Promise<{ result: T; sources: Array<[string, SecretSource]> }> {
  const sources: Array<[string, SecretSource]> = [];
  const result = await withSecrets(options.secrets ?? {}, fn, {
    declare: options.declare ?? [],
    onResolve: (name, source) => sources.push([name, source]),
  });
  return { result, sources };
}

describe("GCP_CREDENTIALS sources, each proven with a real request", () => {
  const cases: Array<{
    name: string;
    kind: SecretSource["kind"];
    setup: (
      key: object,
    ) => Promise<{ options?: object; secrets?: Record<string, unknown>; declare?: string[] }>;
  }> = [
    {
      name: "argument (object)",
      kind: "argument",
      setup: async (key) => ({ options: { credentials: key } }),
    },
    {
      name: "argument (JSON text)",
      kind: "argument",
      setup: async (key) => ({ options: { credentials: JSON.stringify(key) } }),
    },
    { name: "run secrets", kind: "run", setup: async (key) => ({ secrets: { GCP_CREDENTIALS: key } }) },
    {
      name: "environment",
      kind: "env",
      setup: async (key) => {
        process.env.TRIBUTARY__CONTEXT__SECRETS__GCP_CREDENTIALS = JSON.stringify(key);
        return {};
      },
    },
    {
      name: "local store",
      kind: "store",
      setup: async (key) => {
        await localStore().set("GCP_CREDENTIALS", key);
        return {};
      },
    },
    {
      name: "declared backend (a mounted secret folder)",
      kind: "backend",
      setup: async (key) => {
        const folder = join(env.dir(), "mounted");
        mkdirSync(folder);
        writeFileSync(join(folder, "GCP_CREDENTIALS"), `${JSON.stringify(key)}\n`);
        const { configureBackends } = await import("@tributary/auth");
        configureBackends([directoryBackend(folder)]);
        return { declare: ["GCP_CREDENTIALS"] };
      },
    },
    {
      name: "Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS)",
      kind: "default-chain",
      setup: async (key) => {
        const file = join(env.dir(), "adc.json");
        writeFileSync(file, JSON.stringify(key));
        process.env.GOOGLE_APPLICATION_CREDENTIALS = file;
        return {};
      },
    },
  ];

  it.each(cases)("$name", async ({ kind, setup }) => {
    const google = env.google();
    const key = await google.createServiceAccount();
    const { options = {}, secrets, declare } = await setup(key);
    const before = google.tokensIssued;
    const name = `sources/${kind}.txt`;
    const { sources } = await recordSources(
      async () => {
        await gcsUpload({ ...options, endpoint: google.url, bucket: env.bucket, key: name, body: kind });
        expect((await gcpAuth(options)).source.kind).toBe(kind);
      },
      { ...(secrets ? { secrets } : {}), ...(declare ? { declare } : {}) },
    );
    expect((await google.readObject(env.bucket, name))?.toString()).toBe(kind);
    // One grant for this account, through the token_uri in the key (the stand-in is the only token endpoint).
    expect(google.tokensIssued).toBe(before + 1);
    expect(sources.map(([n, s]) => [n, s.kind])).toContainEqual(["GCP_CREDENTIALS", kind]);
  });

  it("accepts an authorized_user file (refresh-token grant)", async () => {
    const google = env.google();
    const user = google.createAuthorizedUser();
    await gcsUpload({
      credentials: user,
      endpoint: google.url,
      bucket: env.bucket,
      key: "user.txt",
      body: "u",
    });
    expect((await google.readObject(env.bucket, "user.txt"))?.toString()).toBe("u");
  });

  it("accepts a ready google-auth-library client", async () => {
    const google = env.google();
    const { client } = await gcpAuth({ credentials: env.key() });
    const auth = await gcpAuth({ credentials: client });
    expect(auth.client).toBe(client);
    expect(auth.source).toEqual({ kind: "argument", detail: "credentials (a google-auth-library client)" });
    await gcsUpload({
      credentials: client,
      endpoint: google.url,
      bucket: env.bucket,
      key: "client.txt",
      body: "c",
    });
    expect(
      await gcsExists({ credentials: client, endpoint: google.url, bucket: env.bucket, key: "client.txt" }),
    ).toBe(true);
  });

  it("an argument wins over the environment", async () => {
    const google = env.google();
    const other = await google.createServiceAccount();
    process.env.TRIBUTARY__CONTEXT__SECRETS__GCP_CREDENTIALS = JSON.stringify(other);
    const auth = await gcpAuth({ credentials: env.key() });
    expect(auth.source.kind).toBe("argument");
  });
});

describe("rejected and missing credentials", () => {
  it("a key signed with the wrong private key is a CredentialRejectedError naming its source", async () => {
    const google = env.google();
    const key = await google.createServiceAccount();
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const forged = { ...key, private_key: privateKey.export({ type: "pkcs8", format: "pem" }).toString() };
    process.env.TRIBUTARY__CONTEXT__SECRETS__GCP_CREDENTIALS = JSON.stringify(forged);
    const error = await gcsUpload({ endpoint: google.url, bucket: env.bucket, key: "x", body: "x" }).catch(
      (e) => e,
    );
    expect(CredentialRejectedError.isInstance(error)).toBe(true);
    expect(error.retryable).toBe(false);
    expect(error.service).toBe("Google OAuth");
    expect(error.source).toEqual({
      kind: "env",
      detail: "TRIBUTARY__CONTEXT__SECRETS__GCP_CREDENTIALS",
      summary: expect.stringMatching(/^service account \S+@\S+\.iam\.gserviceaccount\.com$/),
    });
    expect(error.message).toContain("invalid_grant");
    expect(error.message).toContain("TRIBUTARY__CONTEXT__SECRETS__GCP_CREDENTIALS");
    expect(error.message).not.toContain("PRIVATE KEY");
    expect(google.objectNames(env.bucket)).not.toContain("x");
  });

  it("a revoked refresh token is rejected the same way", async () => {
    const google = env.google();
    const user = { ...google.createAuthorizedUser(), refresh_token: "1//revoked" };
    const error = await gcsExists({
      credentials: user,
      endpoint: google.url,
      bucket: env.bucket,
      key: "x",
    }).catch((e) => e);
    expect(CredentialRejectedError.isInstance(error)).toBe(true);
    expect(error.source.kind).toBe("argument");
  });

  it("a secretName found nowhere is an error, never ambient credentials", async () => {
    const google = env.google();
    const file = join(env.dir(), "adc.json");
    writeFileSync(file, JSON.stringify(env.key()));
    process.env.GOOGLE_APPLICATION_CREDENTIALS = file;
    const error = await gcsExists({
      secretName: "PROD_GCP_KEY",
      endpoint: google.url,
      bucket: env.bucket,
      key: "x",
    }).catch((e) => e);
    expect(MissingCredentialsError.isInstance(error)).toBe(true);
    expect(error.message).toContain("PROD_GCP_KEY");
    expect(google.requests).toHaveLength(0);
  });

  it("no credentials anywhere lists every place tried, ending with ADC", async () => {
    const error = await gcpAuth().catch((e) => e);
    expect(MissingCredentialsError.isInstance(error)).toBe(true);
    const kinds = error.tried.map((t: { source: SecretSource }) => t.source.kind);
    expect([...new Set(kinds)]).toEqual(["argument", "run", "env", "store", "backend", "default-chain"]);
    // Each place Application Default Credentials looks, read before any request.
    expect(error.message).toContain("default-chain (env GOOGLE_APPLICATION_CREDENTIALS): not set");
    expect(error.message).toContain(
      "default-chain (metadata server): disabled (METADATA_SERVER_DETECTION=none)",
    );
  });

  it("a malformed key is refused before any request", async () => {
    const google = env.google();
    const error = await gcsExists({
      credentials: { type: "service_account", client_email: "nope" } as never,
      endpoint: google.url,
      bucket: env.bucket,
      key: "x",
    }).catch((e) => e);
    expect(error.name).toBe("InvalidSecretError");
    expect(google.requests).toHaveLength(0);
  });
});

describe("project", () => {
  it("comes from the argument, then the key's project_id, then GOOGLE_CLOUD_PROJECT", async () => {
    const key = env.key();
    expect(await (await gcpAuth({ credentials: key, project: "from-arg" })).getProjectId()).toBe("from-arg");
    expect(await (await gcpAuth({ credentials: key })).getProjectId()).toBe(key.project_id);
    process.env.GOOGLE_CLOUD_PROJECT = "from-env";
    const { project_id: _, ...noProject } = key;
    expect(await (await gcpAuth({ credentials: noProject })).getProjectId()).toBe("from-env");
  });

  it("comes from ADC's key file when credentials come from ADC", async () => {
    const file = join(env.dir(), "adc.json");
    writeFileSync(file, JSON.stringify(env.key()));
    process.env.GOOGLE_APPLICATION_CREDENTIALS = file;
    expect(await (await gcpAuth()).getProjectId()).toBe(env.key().project_id);
  });
});
