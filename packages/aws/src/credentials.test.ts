import { randomBytes } from "node:crypto";
import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { CreateSecretCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import {
  type AwsCredentials,
  clientCache,
  localStore,
  MissingCredentialsError,
  Secret,
  type SecretSource,
  withSecrets,
} from "@tributary/auth";
import {
  type AwsKeyPair,
  type Moto,
  randomKeyPair,
  type S3StandIn,
  type SecretsManagerStandIn,
  startMoto,
  startS3StandIn,
  startSecretsManagerStandIn,
} from "@tributary/testing";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { asSecret, cleanEnv } from "../test/helpers.js";
import { awsCredentials, awsSecretsManagerBackend, s3Client, s3Exists, s3Upload } from "./index.js";

let s3: S3StandIn;
let sm: SecretsManagerStandIn;
let moto: Moto;
let dropHome: () => Promise<void>;
const bucket = "creds";

beforeAll(async () => {
  [s3, sm, moto] = await Promise.all([
    startS3StandIn({ buckets: [bucket], sts: { durationSeconds: 2 } }),
    startSecretsManagerStandIn(),
    startMoto(),
  ]);
}, 60_000);
afterAll(async () => {
  await Promise.all([s3?.close(), sm?.close(), moto?.close()]);
});
beforeEach(async () => {
  dropHome = await cleanEnv();
});
afterEach(async () => {
  await dropHome();
});

/** A fresh key pair the S3 stand-in accepts, so the request log shows which credential signed. */
function newKey(): AwsKeyPair {
  const key = randomKeyPair();
  s3.addKeyPair(key);
  return key;
}

function signedBy(): string | undefined {
  const auth = String(s3.requests.at(-1)?.headers.authorization ?? "");
  return /Credential=([^/]+)\//.exec(auth)?.[1];
}

const at = () => ({ endpoint: s3.url, forcePathStyle: true });

/** Checks one credential source end to end: a real signed request, and the source the provider reports. */
async function provesSource(
  options: Parameters<typeof awsCredentials>[0],
  key: AwsKeyPair,
  kind: SecretSource["kind"],
  detail?: string,
) {
  await s3Upload({ ...at(), ...options, bucket, key: "who.txt", body: "x" });
  expect(signedBy()).toBe(key.accessKeyId);
  const provider = await awsCredentials(options);
  expect(provider.source.kind).toBe(kind);
  if (detail) expect(provider.source.detail).toContain(detail);
  expect((await provider()).accessKeyId).toBe(key.accessKeyId);
}

describe("each place AWS_CREDENTIALS can come from, proven with a real request", () => {
  it("an argument in our shape, as an object, JSON text or a Secret", async () => {
    const key = newKey();
    await provesSource({ credentials: asSecret(key) }, key, "argument", "credentials");
    await provesSource({ credentials: JSON.stringify(asSecret(key)) }, key, "argument");
    await provesSource({ credentials: new Secret("AWS_CREDENTIALS", asSecret(key)) }, key, "argument");
  });

  it("an argument in the SDK's shape, or an SDK provider", async () => {
    const key = newKey();
    await provesSource(
      { credentials: { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey } },
      key,
      "argument",
    );
    await provesSource({ credentials: async () => key }, key, "argument", "SDK provider");
  });

  it("the run's secrets", async () => {
    const key = newKey();
    await withSecrets({ AWS_CREDENTIALS: asSecret(key) }, () => provesSource({}, key, "run"));
  });

  it("the env, flat", async () => {
    const key = newKey();
    process.env.TRIBUTARY__CONTEXT__SECRETS__AWS_CREDENTIALS = JSON.stringify(asSecret(key));
    await provesSource({}, key, "env", "TRIBUTARY__CONTEXT__SECRETS__AWS_CREDENTIALS");
  });

  it("the env, nested", async () => {
    const key = newKey();
    process.env.TRIBUTARY__CONTEXT__SECRETS__AWS_CREDENTIALS__ACCESS_KEY = key.accessKeyId;
    process.env.TRIBUTARY__CONTEXT__SECRETS__AWS_CREDENTIALS__SECRET_ACCESS_KEY = key.secretAccessKey;
    await provesSource({}, key, "env", "__<FIELD>");
  });

  it("the local store", async () => {
    const key = newKey();
    await localStore().set("AWS_CREDENTIALS", asSecret(key));
    await provesSource({}, key, "store", "secrets.json");
  });

  it("the Secrets Manager backend (stand-in), only for a declared name", async () => {
    const key = newKey();
    sm.setSecret("prod/AWS_CREDENTIALS", JSON.stringify(asSecret(key)));
    const backend = awsSecretsManagerBackend({
      endpoint: sm.url,
      prefix: "prod/",
      credentials: sm.keyPairs[0] as AwsKeyPair,
    });
    await withSecrets({}, () => provesSource({}, key, "backend", "aws-secrets-manager"), {
      declare: ["AWS_CREDENTIALS"],
      backends: [backend],
    });
    // Not declared: the backend is not asked, and the SDK default chain (empty here) fails instead.
    const reads = sm.reads.get("prod/AWS_CREDENTIALS");
    const error = await withSecrets({}, () => s3Exists({ ...at(), bucket, key: "who.txt" }), {
      backends: [backend],
    }).catch((e) => e);
    expect(error).toBeDefined();
    expect(sm.reads.get("prod/AWS_CREDENTIALS")).toBe(reads);
  });

  it("the Secrets Manager backend (moto), for S3 on moto", async () => {
    const smClient = new SecretsManagerClient({
      endpoint: moto.url,
      region: "us-east-1",
      credentials: moto.keyPair,
    });
    const name = `AWS_CREDENTIALS_${randomBytes(3).toString("hex").toUpperCase()}`;
    await smClient.send(
      new CreateSecretCommand({ Name: name, SecretString: JSON.stringify(asSecret(moto.keyPair)) }),
    );
    smClient.destroy();
    const admin = new S3Client({
      endpoint: moto.url,
      forcePathStyle: true,
      region: "us-east-1",
      credentials: moto.keyPair,
    });
    await admin.send(new CreateBucketCommand({ Bucket: "from-backend" }));
    await admin.send(new PutObjectCommand({ Bucket: "from-backend", Key: "k", Body: "v" }));
    admin.destroy();
    const backend = awsSecretsManagerBackend({ endpoint: moto.url, credentials: moto.keyPair });
    const found = await withSecrets(
      {},
      async () => {
        const provider = await awsCredentials({ secretName: name });
        expect(provider.source).toMatchObject({ kind: "backend" });
        return s3Exists({
          endpoint: moto.url,
          forcePathStyle: true,
          secretName: name,
          bucket: "from-backend",
          key: "k",
        });
      },
      { backends: [backend] },
    );
    expect(found).toBe(true);
  });

  it("the AWS SDK default chain, through AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY", async () => {
    const key = newKey();
    process.env.AWS_ACCESS_KEY_ID = key.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = key.secretAccessKey;
    await provesSource({}, key, "default-chain", "AWS SDK default provider chain");
  });

  it("an argument wins over the env; a named secret found nowhere is an error, never the default chain", async () => {
    const envKey = newKey();
    const argKey = newKey();
    process.env.TRIBUTARY__CONTEXT__SECRETS__AWS_CREDENTIALS = JSON.stringify(asSecret(envKey));
    await provesSource({ credentials: asSecret(argKey) }, argKey, "argument");

    process.env.AWS_ACCESS_KEY_ID = envKey.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = envKey.secretAccessKey;
    const before = s3.requests.length;
    const error = await s3Exists({ ...at(), secretName: "OTHER_AWS", bucket, key: "who.txt" }).catch(
      (e) => e,
    );
    expect(MissingCredentialsError.isInstance(error)).toBe(true);
    expect(error.message).toContain("OTHER_AWS");
    expect(s3.requests.length).toBe(before);
  });
});

describe("found nowhere", () => {
  it("not even by the SDK chain: a MissingCredentialsError listing every place tried, and no request", async () => {
    const before = s3.requests.length;
    const error = await s3Exists({ ...at(), bucket, key: "who.txt" }).catch((e) => e);
    expect(MissingCredentialsError.isInstance(error)).toBe(true);
    expect(error.message).toContain("TRIBUTARY__CONTEXT__SECRETS__AWS_CREDENTIALS");
    expect(error.message).toContain("tributary secrets set AWS_CREDENTIALS");
    expect(error.message).toContain("AWS_ACCESS_KEY_ID");
    expect(s3.requests.length).toBe(before);
  });
});

describe("clients", () => {
  it("1,000 task calls with the same credentials build one client", async () => {
    const key = newKey();
    process.env.TRIBUTARY__CONTEXT__SECRETS__AWS_CREDENTIALS = JSON.stringify(asSecret(key));
    const before = clientCache.stats().created;
    await s3Upload({ ...at(), bucket, key: "many.txt", body: "x" });
    for (let batch = 0; batch < 20; batch++) {
      const calls = Array.from({ length: 50 }, () => s3Exists({ ...at(), bucket, key: "many.txt" }));
      expect(await Promise.all(calls)).toEqual(Array(50).fill(true));
    }
    expect(clientCache.stats().created - before).toBe(1);
    // Another region is another client.
    await s3Client({ ...at(), region: "eu-west-1" });
    expect(clientCache.stats().created - before).toBe(2);
  }, 60_000);

  it("assumes ROLE_ARN through STS and never uses a cached client past its temporary credentials", async () => {
    const base = newKey();
    const secret: AwsCredentials = {
      ...asSecret(base),
      ROLE_ARN: "arn:aws:iam::123456789012:role/tributary-test",
      EXTERNAL_ID: "ext-id-1",
    };
    const options = { ...at(), credentials: secret, stsEndpoint: s3.url };
    const roles = s3.assumedRoles.length;
    await s3Upload({ ...options, bucket, key: "role.txt", body: "x" });
    expect(s3.assumedRoles.length).toBe(roles + 1);
    const first = s3.assumedRoles.at(-1);
    expect(first).toMatchObject({ roleArn: secret.ROLE_ARN, externalId: "ext-id-1" });
    expect(signedBy()).toBe(first?.accessKeyId);
    const client = await s3Client(options);

    // The stand-in's temporary keys live 2 s and are refused after: wait until the first has expired.
    await new Promise((r) => setTimeout(r, Math.max(0, (first?.expiresAt ?? 0) - Date.now()) + 50));
    expect(await s3Exists({ ...options, bucket, key: "role.txt" })).toBe(true);
    const second = s3.assumedRoles.at(-1);
    expect(second?.accessKeyId).not.toBe(first?.accessKeyId);
    expect(signedBy()).toBe(second?.accessKeyId);
    expect(await s3Client(options)).not.toBe(client);
  });
});
