import { randomBytes } from "node:crypto";
import {
  type AwsKeyPair,
  checkConventions,
  type LambdaStandIn,
  randomKeyPair,
  type SfnStandIn,
  type SsmStandIn,
  startLambdaStandIn,
  startSfnStandIn,
  startSsmStandIn,
} from "@tributary/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { asSecret, cleanEnv, type S3Target, standInTarget } from "../test/helpers.js";
import {
  lambdaInvoke,
  ServiceError,
  s3Copy,
  s3Delete,
  s3Download,
  s3Exists,
  s3Upload,
  sfnStartExecution,
  ssmGetParameters,
} from "./index.js";

it("the exported tasks follow docs/conventions.md", async () => {
  expect(
    await checkConventions({
      entry: new URL("./index.ts", import.meta.url),
      prefixes: ["s3", "lambda", "sfn", "ssm"],
    }),
  ).toEqual([]);
}, 60_000);

describe("the semantics of docs/conventions.md, against the S3 stand-in", () => {
  let target: S3Target;
  let dropHome: () => Promise<void>;
  const bucket = `conv-${randomBytes(4).toString("hex")}`;
  beforeAll(async () => {
    dropHome = await cleanEnv();
    target = await standInTarget();
    await target.createBucket(bucket);
  });
  afterAll(async () => {
    await target?.close();
    await dropHome?.();
  });
  const credentials = () => asSecret(target.key);

  it.each(["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"])(
    "takes the endpoint from %s, with path-style addressing, when no endpoint is given",
    async (variable) => {
      process.env[variable] = target.endpoint;
      try {
        const up = await s3Upload({ credentials: credentials(), bucket, key: `env/${variable}`, body: "x" });
        expect(up).toMatchObject({ bucket, key: `env/${variable}`, size: 1 });
        expect(await s3Exists({ credentials: credentials(), bucket, key: `env/${variable}` })).toBe(true);
      } finally {
        delete process.env[variable];
      }
    },
  );

  it("deletes idempotently, and with mustExist fails on a missing object without deleting the others", async () => {
    const conn = { endpoint: target.endpoint, credentials: credentials(), bucket };
    expect(await s3Delete({ ...conn, key: "never/was" })).toEqual({ deleted: ["never/was"] });
    await s3Upload({ ...conn, key: "keep/me", body: "x" });
    const error = await s3Delete({ ...conn, keys: ["keep/me", "never/was"], mustExist: true }).catch(
      (e) => e,
    );
    expect(ServiceError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: "NOT_FOUND", reason: "NoSuchKey" });
    expect(await s3Exists({ ...conn, key: "keep/me" })).toBe(true);
    expect(await s3Delete({ ...conn, key: "keep/me", mustExist: true })).toEqual({ deleted: ["keep/me"] });
  });

  it("downloads to a Buffer by default, copies from/to, and names a missing object with S3's reason", async () => {
    const conn = { endpoint: target.endpoint, credentials: credentials() };
    await s3Upload({ ...conn, bucket, key: "from.txt", body: "copied" });
    const copied = await s3Copy({ ...conn, from: { bucket, key: "from.txt" }, to: { key: "to.txt" } });
    expect(copied).toMatchObject({ bucket, key: "to.txt" });
    const down = await s3Download({ ...conn, bucket, key: "to.txt" });
    expect(down.body.toString()).toBe("copied");
    expect(down).toMatchObject({ bucket, key: "to.txt", size: 6 });
    const missing = await s3Download({ ...conn, bucket, key: "nope" }).catch((e) => e);
    expect(missing).toMatchObject({ code: "NOT_FOUND", reason: "NoSuchKey" });
  });
});

describe("the endpoint variables of Lambda, Step Functions and Parameter Store", () => {
  let lambda: LambdaStandIn;
  let sfn: SfnStandIn;
  let ssm: SsmStandIn;
  let dropHome: () => Promise<void>;
  beforeAll(async () => {
    dropHome = await cleanEnv();
    const key = randomKeyPair();
    [lambda, sfn, ssm] = await Promise.all([
      startLambdaStandIn({ keyPairs: [key], functions: { ping: () => "pong" } }),
      startSfnStandIn({ keyPairs: [key], stateMachines: { ping: () => "pong" } }),
      startSsmStandIn({ keyPairs: [key], parameters: { "/ping": "pong" } }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([lambda?.close(), sfn?.close(), ssm?.close()]);
    await dropHome?.();
  });
  const credentials = () => asSecret(lambda.keyPairs[0] as AwsKeyPair);
  const calls = {
    LAMBDA: () => lambdaInvoke({ credentials: credentials(), functionName: "ping" }).then((r) => r.payload),
    SFN: () =>
      sfnStartExecution({
        credentials: credentials(),
        stateMachineArn: sfn.arnOf("ping"),
        wait: true,
        pollIntervalMs: 1,
      }).then((r) => r.output),
    SSM: () =>
      ssmGetParameters({ credentials: credentials(), names: ["/ping"] }).then((r) => r.parameters[0]?.value),
  };
  const urlOf = (service: keyof typeof calls) =>
    ({ LAMBDA: lambda.url, SFN: sfn.url, SSM: ssm.url })[service];

  it.each(["LAMBDA", "SFN", "SSM"] as const)(
    "%s: takes AWS_ENDPOINT_URL_<SERVICE> over AWS_ENDPOINT_URL, and ignores the other services' variables",
    async (service) => {
      process.env.AWS_ENDPOINT_URL = "http://127.0.0.1:9";
      process.env.AWS_ENDPOINT_URL_S3 = urlOf(service);
      try {
        expect(await calls[service]().catch((e) => e.code)).toBe("NETWORK_ERROR");
        process.env[`AWS_ENDPOINT_URL_${service}`] = urlOf(service);
        expect(await calls[service]()).toBe("pong");
        delete process.env[`AWS_ENDPOINT_URL_${service}`];
        process.env.AWS_ENDPOINT_URL = urlOf(service);
        expect(await calls[service]()).toBe("pong");
      } finally {
        for (const v of ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", `AWS_ENDPOINT_URL_${service}`])
          delete process.env[v];
      }
    },
  );
});
