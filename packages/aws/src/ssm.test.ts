import {
  GetParametersByPathCommand,
  GetParametersCommand,
  PutParameterCommand,
  SSMClient,
} from "@aws-sdk/client-ssm";
import { mask, resolveSecret, SecretBackendError, withSecrets } from "@tributary/auth";
import { flow } from "@tributary/flow";
import {
  type AwsKeyPair,
  awsJsonErrorReply,
  createOidcIssuer,
  type Moto,
  randomKeyPair,
  type SsmStandIn,
  startMoto,
  startSsmStandIn,
} from "@tributary/testing";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { asSecret, cleanEnv } from "../test/helpers.js";
import {
  CredentialRejectedError,
  ServiceError,
  ssmGetParameters,
  ssmParameterStoreBackend,
} from "./index.js";

let ssm: SsmStandIn;
let reader: AwsKeyPair;
let denied: AwsKeyPair;
let dropHome: () => Promise<void>;
const oidc = createOidcIssuer();
const AUDIENCE = "sts.amazonaws.com";
const awsCreds = { ACCESS_KEY: "TESTKEYIDFORSSM", SECRET_ACCESS_KEY: randomKeyPair().secretAccessKey };

beforeAll(async () => {
  dropHome = await cleanEnv();
  reader = randomKeyPair();
  denied = randomKeyPair();
  ssm = await startSsmStandIn({
    keyPairs: [reader, denied],
    authorize: ({ accessKeyId }) => accessKeyId !== denied.accessKeyId,
    sts: { webIdentity: { publicKey: oidc.publicKey, audience: AUDIENCE } },
    parameters: {
      "/tributary/AWS_CREDENTIALS": { value: JSON.stringify(awsCreds), type: "SecureString" },
      "/tributary/SLACK_BOT_TOKEN": { value: "xoxb-from-ssm", type: "SecureString" },
      "/other/SLACK_WEBHOOK_URL": "https://hooks.example.test/abc",
      "/etl/prod/db/password": { value: "pw-secure-value", type: "SecureString" },
      "/etl/prod/db/host": "db.internal",
      "/etl/prod/region": "eu-west-1",
      "/etl/dev/region": "us-east-1",
    },
  });
});
afterAll(async () => {
  await ssm?.close();
  await dropHome?.();
});
beforeEach(() => ssm.reset());

const backend = (extra: Parameters<typeof ssmParameterStoreBackend>[0] = {}) =>
  ssmParameterStoreBackend({ endpoint: ssm.url, credentials: reader, prefix: "/tributary/", ...extra });

describe("ssmParameterStoreBackend", () => {
  it("decrypts a SecureString, parses JSON for a structured name, and names itself and the key as the source", async () => {
    const resolution = await withSecrets({}, () => resolveSecret("AWS_CREDENTIALS"), {
      declare: ["AWS_CREDENTIALS"],
      backends: [backend()],
    });
    expect(resolution.value).toMatchObject(awsCreds);
    expect(resolution.source).toEqual({
      kind: "backend",
      detail: `ssm-parameter-store us-east-1 at ${ssm.url} prefix /tributary/, key AWS_CREDENTIALS`,
    });
    // Without decryption the stand-in answers a ciphertext, as SSM does: the core then refuses it as malformed.
    const raw = await backend({ withDecryption: false }).get("SLACK_BOT_TOKEN");
    expect(raw).not.toBe("xoxb-from-ssm");
  });

  it("reads only declared names, and goes on to the next source when the parameter is missing", async () => {
    const second = ssmParameterStoreBackend({ endpoint: ssm.url, credentials: reader, prefix: "/other/" });
    const found = await withSecrets({}, () => resolveSecret("SLACK_WEBHOOK_URL"), {
      declare: ["SLACK_WEBHOOK_URL"],
      backends: [backend(), second],
    });
    expect(found.value).toBe("https://hooks.example.test/abc");
    expect(found.source.detail).toContain("prefix /other/");
    ssm.reset();
    await withSecrets({}, () => resolveSecret("SLACK_BOT_TOKEN").catch(() => undefined), {
      backends: [backend()],
    });
    expect(ssm.requests).toHaveLength(0);
  });

  it("says access denied as SECRET_BACKEND_ACCESS_DENIED naming the permission; throttling is retried", async () => {
    const error = await backend({ credentials: denied })
      .get("SLACK_BOT_TOKEN")
      .catch((e) => e);
    expect(SecretBackendError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: "SECRET_BACKEND_ACCESS_DENIED" });
    expect(error.message).toContain("ssm:GetParameter");
    ssm.failNext(2, 400, awsJsonErrorReply("ThrottlingException", "Rate exceeded"));
    expect(await backend().get("SLACK_BOT_TOKEN")).toBe("xoxb-from-ssm");
  });
});

/** Runs `fn` in a flow run and returns what it returned (or threw). */
async function inRun<T>(fn: () => Promise<T>): Promise<T> {
  let out = { error: new Error("the run did not start") } as { value: T } | { error: unknown };
  await flow({ name: "ssm" }, async () => {
    out = await fn().then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    );
  }).run();
  if ("error" in out) throw out.error;
  return out.value;
}

describe("ssmGetParameters against the stand-in", () => {
  const conn = () => ({ endpoint: ssm.url, credentials: asSecret(reader) });

  it("reads names in order, decrypting and masking SecureString values", async () => {
    const masked = await inRun(async () => {
      const out = await ssmGetParameters({ ...conn(), names: ["/etl/prod/region", "/etl/prod/db/password"] });
      expect(out.parameters).toEqual([
        { name: "/etl/prod/region", value: "eu-west-1", type: "String", version: 1 },
        { name: "/etl/prod/db/password", value: "pw-secure-value", type: "SecureString", version: 1 },
      ]);
      return mask("password is pw-secure-value in eu-west-1");
    });
    expect(masked).toBe("password is [redacted] in eu-west-1");
  });

  it("reads a path, recursively or not, across pages", async () => {
    const flat = await ssmGetParameters({ ...conn(), path: "/etl/prod" });
    expect(flat.parameters.map((p) => p.name)).toEqual(["/etl/prod/region"]);
    const deep = await ssmGetParameters({ ...conn(), path: "/etl/prod/", recursive: true });
    expect(deep.parameters.map((p) => p.name)).toEqual([
      "/etl/prod/db/host",
      "/etl/prod/db/password",
      "/etl/prod/region",
    ]);
  });

  it("names missing parameters NOT_FOUND; refuses bad input before any call; a wrong key is a CredentialRejectedError", async () => {
    const missing = await ssmGetParameters({ ...conn(), names: ["/etl/prod/region", "/nope"] }).catch(
      (e) => e,
    );
    expect(ServiceError.isInstance(missing)).toBe(true);
    expect(missing).toMatchObject({ code: "NOT_FOUND", reason: "ParameterNotFound" });
    expect(missing.message).toContain("/nope");
    ssm.reset();
    for (const bad of [
      { names: [] },
      { names: ["a//b"] },
      { path: "relative" },
      { names: ["/a"], path: "/b" },
    ]) {
      const error = await ssmGetParameters({ ...conn(), ...(bad as { names: string[] }) }).catch((e) => e);
      expect(error.name).toBe("ValidationError");
    }
    expect(ssm.requests).toHaveLength(0);
    const wrong = await ssmGetParameters({
      endpoint: ssm.url,
      credentials: { ...asSecret(reader), SECRET_ACCESS_KEY: randomKeyPair().secretAccessKey },
      names: ["/etl/prod/region"],
    }).catch((e) => e);
    expect(CredentialRejectedError.isInstance(wrong)).toBe(true);
    expect(wrong.message).toContain("from argument (credentials)");
  });

  it("with leastPrivilege and a role, reads its path and the same credential is refused on another", async () => {
    await ssmGetParameters({
      endpoint: ssm.url,
      stsEndpoint: ssm.url,
      leastPrivilege: true,
      credentials: {
        ROLE_ARN: "arn:aws:iam::123456789012:role/reader",
        WEB_IDENTITY_TOKEN: oidc.token({ subject: "etl", audience: AUDIENCE }),
      },
      path: "/etl/prod",
      recursive: true,
    });
    const issued = ssm.assumedRoles.at(-1);
    expect(JSON.stringify(issued?.policy)).toContain("kms:ViaService");
    const key = ssm.keyPairs.find((k) => k.accessKeyId === issued?.accessKeyId);
    const scoped = new SSMClient({ endpoint: ssm.url, region: "us-east-1", credentials: key as never });
    const byPath = (Path: string) =>
      scoped.send(new GetParametersByPathCommand({ Path, Recursive: true })).then(
        (r) => r.Parameters?.length,
        (e: { name: string }) => e.name,
      );
    expect(await byPath("/etl/prod")).toBe(3);
    expect(await byPath("/etl/dev")).toBe("AccessDeniedException");
    expect(
      await scoped.send(new GetParametersCommand({ Names: ["/etl/dev/region"] })).catch((e) => e.name),
    ).toBe("AccessDeniedException");
    scoped.destroy();
  });
});

describe("ssmGetParameters with leastPrivilege and many names", () => {
  it("allows the prefix the names share when listing each would pass STS's policy size", async () => {
    const names = Array.from({ length: 60 }, (_, i) => `/bulk/feed-${String(i).padStart(2, "0")}/url`);
    for (const name of names) ssm.setParameter(name, `https://feeds.example.test/${name}`);
    const out = await ssmGetParameters({
      endpoint: ssm.url,
      stsEndpoint: ssm.url,
      leastPrivilege: true,
      credentials: {
        ROLE_ARN: "arn:aws:iam::123456789012:role/reader",
        WEB_IDENTITY_TOKEN: oidc.token({ subject: "bulk", audience: AUDIENCE }),
      },
      names,
    });
    expect(out.parameters.map((p) => p.name)).toEqual(names);
    const policy = JSON.stringify(ssm.assumedRoles.at(-1)?.policy);
    expect(policy.length).toBeLessThan(2048);
    expect(policy).toContain(":parameter/bulk/feed-*");
  });
});

describe("Parameter Store against moto with IAM enforced", () => {
  let moto: Moto;
  beforeAll(async () => {
    moto = await startMoto();
    const admin = new SSMClient({ endpoint: moto.url, region: "us-east-1", credentials: moto.keyPair });
    await admin.send(
      new PutParameterCommand({ Name: "/app/token", Value: "moto-secure-token", Type: "SecureString" }),
    );
    await admin.send(new PutParameterCommand({ Name: "/app/region", Value: "eu-west-1", Type: "String" }));
    await admin.send(
      new PutParameterCommand({
        Name: "/tributary/SLACK_BOT_TOKEN",
        Value: "xoxb-moto",
        Type: "SecureString",
      }),
    );
    admin.destroy();
  }, 120_000);
  afterAll(async () => {
    await moto?.close();
  });

  it("reads SecureString parameters decrypted, by name and by path", async () => {
    const as = { endpoint: moto.url, credentials: asSecret(moto.keyPair) };
    const named = await ssmGetParameters({ ...as, names: ["/app/token"] });
    expect(named.parameters).toMatchObject([
      { name: "/app/token", value: "moto-secure-token", type: "SecureString" },
    ]);
    const byPath = await ssmGetParameters({ ...as, path: "/app" });
    expect(byPath.parameters.map((p) => p.name).sort()).toEqual(["/app/region", "/app/token"]);
  });

  it("the backend reads with a user allowed ssm:GetParameter, and a user without it is SECRET_BACKEND_ACCESS_DENIED", async () => {
    const allowed = await moto.createUser("param-reader", {
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Action: "ssm:GetParameter", Resource: "*" }],
    });
    const other = await moto.createUser("param-none", {
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Action: "ssm:DescribeParameters", Resource: "*" }],
    });
    const make = (credentials: AwsKeyPair) =>
      ssmParameterStoreBackend({ endpoint: moto.url, credentials, prefix: "/tributary/", maxAttempts: 1 });
    expect(await make(allowed).get("SLACK_BOT_TOKEN")).toBe("xoxb-moto");
    expect(await make(allowed).get("NOT_THERE")).toBeUndefined();
    const error = await make(other)
      .get("SLACK_BOT_TOKEN")
      .catch((e) => e);
    expect(error).toMatchObject({ code: "SECRET_BACKEND_ACCESS_DENIED" });
  });
});
