import { CreateFunctionCommand, InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { registerSecretValue } from "@tributary/auth";
import { flow } from "@tributary/flow";
import {
  type AwsKeyPair,
  awsJsonErrorReply,
  createOidcIssuer,
  failureOutputs,
  findSecretTraces,
  type LambdaStandIn,
  type Moto,
  randomKeyPair,
  startLambdaStandIn,
  startMoto,
} from "@tributary/testing";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { asSecret, cleanEnv } from "../test/helpers.js";
import {
  CredentialRejectedError,
  LAMBDA_PAYLOAD_LIMITS,
  lambdaInvoke,
  lambdaList,
  ServiceError,
  ValidationError,
} from "./index.js";

let lambda: LambdaStandIn;
let dropHome: () => Promise<void>;
const oidc = createOidcIssuer();
const AUDIENCE = "sts.amazonaws.com";

beforeAll(async () => {
  dropHome = await cleanEnv();
  lambda = await startLambdaStandIn({
    sts: { webIdentity: { publicKey: oidc.publicKey, audience: AUDIENCE } },
    functions: {
      double: (event) => ({ doubled: ((event as { n: number }).n ?? 0) * 2 }),
      bytes: () => Buffer.from([0xff, 0x00, 0x01]),
      echo: (event, context) => {
        context.log(`event ${JSON.stringify(event)}`);
        return { event, qualifier: context.qualifier };
      },
      fails: () => {
        const error = new Error("bad input: token=super-secret-token-value");
        error.name = "InputError";
        throw error;
      },
      other: () => "other",
    },
  });
});
afterAll(async () => {
  await lambda?.close();
  await dropHome?.();
});
beforeEach(() => lambda.reset());

/** Runs `fn` in a flow run given `secrets` and returns what it returned (or threw). */
async function inRun<T>(secrets: Record<string, unknown>, fn: () => Promise<T>): Promise<T> {
  let out = { error: new Error("the run did not start") } as { value: T } | { error: unknown };
  await flow({ name: "in-run" }, async () => {
    out = await fn().then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    );
  }).run({ secrets });
  if ("error" in out) throw out.error;
  return out.value;
}

const conn = () => ({ endpoint: lambda.url, credentials: asSecret(lambda.keyPairs[0] as never) });

describe("lambdaInvoke against the Lambda stand-in", () => {
  it("sends JSON or bytes and parses a JSON answer, or returns the bytes", async () => {
    const out = await lambdaInvoke({ ...conn(), functionName: "double", payload: { n: 21 } });
    expect(out).toMatchObject({ statusCode: 200, payload: { doubled: 42 }, executedVersion: "$LATEST" });
    const raw = await lambdaInvoke({ ...conn(), functionName: "bytes", payload: Buffer.from("x") });
    expect(raw.payload).toEqual(Buffer.from([0xff, 0x00, 0x01]));
    expect(lambda.invocations.at(-1)?.payload.toString()).toBe("x");
  });

  it("invokes a qualifier, returns the log tail decoded and masked, and answers Event with 202 and DryRun with 204", async () => {
    const out = await inRun({}, () => {
      registerSecretValue("s3cr3t-run-value");
      return lambdaInvoke({
        ...conn(),
        functionName: "echo",
        qualifier: "7",
        payload: { k: "s3cr3t-run-value" },
        logTail: true,
      });
    });
    expect(out.payload).toMatchObject({ qualifier: "7" });
    expect(out.executedVersion).toBe("7");
    expect(out.logTail).toMatch(/^START RequestId/);
    expect(out.logTail).toContain("[redacted]");
    expect(out.logTail).not.toContain("s3cr3t-run-value");
    expect(
      await lambdaInvoke({ ...conn(), functionName: "double", invocationType: "Event", payload: {} }),
    ).toMatchObject({ statusCode: 202, payload: undefined });
    expect(await lambdaInvoke({ ...conn(), functionName: "double", invocationType: "DryRun" })).toMatchObject(
      {
        statusCode: 204,
      },
    );
    expect(lambda.invocations.slice(-2).map((i) => i.invocationType)).toEqual(["RequestResponse", "Event"]);
  });

  it("makes a function error a FUNCTION_ERROR with the errorType as reason, or data with throwOnFunctionError: false", async () => {
    const error = await inRun({}, () => {
      registerSecretValue("super-secret-token-value");
      return lambdaInvoke({ ...conn(), functionName: "fails" });
    }).catch((e) => e);
    expect(ServiceError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: "FUNCTION_ERROR", reason: "InputError" });
    expect(error.message).toContain("bad input: token=[redacted]");
    const data = await lambdaInvoke({ ...conn(), functionName: "fails", throwOnFunctionError: false });
    expect(data).toMatchObject({ functionError: "Unhandled", payload: { errorType: "InputError" } });
  });

  it.each([
    { invocationType: "RequestResponse" as const, size: LAMBDA_PAYLOAD_LIMITS.RequestResponse },
    { invocationType: "Event" as const, size: LAMBDA_PAYLOAD_LIMITS.Event },
  ])(
    "refuses a $invocationType payload past $size bytes before any call",
    async ({ invocationType, size }) => {
      const error = await lambdaInvoke({
        ...conn(),
        functionName: "double",
        invocationType,
        payload: Buffer.alloc(size + 1),
      }).catch((e) => e);
      expect(ValidationError.isInstance(error)).toBe(true);
      expect(error.message).toContain("payload");
      expect(lambda.requests).toHaveLength(0);
    },
  );

  it.each([
    [{ functionName: "" }, "functionName"],
    [{ functionName: "has space" }, "functionName"],
    [{ functionName: "double", qualifier: "a:b" }, "qualifier"],
    [{ functionName: "double", invocationType: "Later" }, "invocationType"],
  ])("refuses bad input %j before any call", async (input, option) => {
    const error = await lambdaInvoke({ ...conn(), ...(input as { functionName: string }) }).catch((e) => e);
    expect(error).toMatchObject({ name: "ValidationError", option });
    expect(lambda.requests).toHaveLength(0);
  });

  it("retries a throttled invoke", async () => {
    lambda.failNext(1, 429, awsJsonErrorReply("TooManyRequestsException", "Rate exceeded"));
    const out = await lambdaInvoke({ ...conn(), functionName: "double", payload: { n: 1 } });
    expect(out.payload).toEqual({ doubled: 2 });
    expect(lambda.requests).toHaveLength(2);
  });

  it("names a missing function NOT_FOUND with Lambda's reason", async () => {
    const error = await lambdaInvoke({ ...conn(), functionName: "nowhere" }).catch((e) => e);
    expect(error).toMatchObject({ code: "NOT_FOUND", reason: "ResourceNotFoundException" });
  });

  it("refuses a wrong key as a CredentialRejectedError naming its source, with no key material in any output", async () => {
    const key = randomKeyPair();
    const secret = {
      ACCESS_KEY: (lambda.keyPairs[0] as { accessKeyId: string }).accessKeyId,
      SECRET_ACCESS_KEY: key.secretAccessKey,
    };
    const outputs = await failureOutputs(
      (body, sink) =>
        flow({ name: "refused", logger: { level: "debug", sink } }, body).run({
          secrets: { AWS_CREDENTIALS: secret },
        }),
      () => lambdaInvoke({ endpoint: lambda.url, functionName: "double" }),
    );
    const error = await inRun({ AWS_CREDENTIALS: secret }, () =>
      lambdaInvoke({ endpoint: lambda.url, functionName: "double" }),
    ).catch((e) => e);
    expect(error).toMatchObject({ name: "CredentialRejectedError", reason: "InvalidSignatureException" });
    expect(error.message).toContain("rejected the credential from run (run ");
    expect(findSecretTraces(outputs, { SECRET_ACCESS_KEY: key.secretAccessKey })).toEqual([]);
  });

  it("takes the endpoint from AWS_ENDPOINT_URL_LAMBDA, then AWS_ENDPOINT_URL", async () => {
    for (const variable of ["AWS_ENDPOINT_URL_LAMBDA", "AWS_ENDPOINT_URL"]) {
      process.env[variable] = lambda.url;
      try {
        const out = await lambdaInvoke({
          credentials: conn().credentials,
          functionName: "double",
          payload: { n: 2 },
        });
        expect(out.payload).toEqual({ doubled: 4 });
      } finally {
        delete process.env[variable];
      }
    }
  });

  it("uses a ready client as it is, and refuses something that is not one", async () => {
    const client = new LambdaClient({
      endpoint: lambda.url,
      region: "us-east-1",
      credentials: lambda.keyPairs[0] as AwsKeyPair,
    });
    expect((await lambdaInvoke({ client, functionName: "double", payload: { n: 5 } })).payload).toEqual({
      doubled: 10,
    });
    client.destroy();
    const error = await lambdaInvoke({ client: {} as never, functionName: "double" }).catch((e) => e);
    expect(error).toMatchObject({ name: "ValidationError", option: "client" });
    expect(error.message).toContain("LambdaClient");
  });

  it("lists functions across pages, and stops at limit", async () => {
    const all = await lambdaList(conn());
    expect(all.functions.map((f) => f.name)).toEqual(["bytes", "double", "echo", "fails", "other"]);
    expect(all.truncated).toBe(false);
    const some = await lambdaList({ ...conn(), limit: 2 });
    expect(some).toMatchObject({ truncated: true, functions: [{ name: "bytes" }, { name: "double" }] });
  });
});

describe("lambdaInvoke with leastPrivilege and a role", () => {
  let minted = 0;
  const role = () => ({
    ROLE_ARN: "arn:aws:iam::123456789012:role/invoker",
    WEB_IDENTITY_TOKEN: oidc.token({ subject: "etl", audience: AUDIENCE, claims: { jti: `l${++minted}` } }),
  });

  it("scopes the credential to the one function (and qualifier): A works, the same credential is refused on B", async () => {
    const scopedOn = {
      endpoint: lambda.url,
      stsEndpoint: lambda.url,
      credentials: role(),
      leastPrivilege: true,
    };
    const out = await lambdaInvoke({ ...scopedOn, functionName: "double", payload: { n: 3 } });
    expect(out.payload).toEqual({ doubled: 6 });
    const issued = lambda.assumedRoles.at(-1);
    expect(JSON.stringify(issued?.policy)).toContain("lambda:InvokeFunction");
    const key = lambda.keyPairs.find((k) => k.accessKeyId === issued?.accessKeyId);
    const scoped = new LambdaClient({ endpoint: lambda.url, region: "us-east-1", credentials: key as never });
    const call = (FunctionName: string, Qualifier?: string) =>
      scoped.send(new InvokeCommand({ FunctionName, ...(Qualifier ? { Qualifier } : {}) })).then(
        (r) => r.StatusCode,
        (e: { name: string }) => e.name,
      );
    expect(await call("double")).toBe(200);
    expect(await call("other")).toBe("AccessDeniedException");
    expect(await call("double", "2")).toBe("AccessDeniedException");
    scoped.destroy();
  });
});

describe("lambdaInvoke against moto with IAM enforced", () => {
  let moto: Moto;
  beforeAll(async () => {
    moto = await startMoto();
    const config = await fetch(`${moto.url}/moto-api/config`, {
      method: "POST",
      body: JSON.stringify({ lambda: { use_docker: false } }),
    });
    expect(config.ok).toBe(true);
    const roleArn = await moto.createRole("lambda-runner", "lambda.amazonaws.com");
    const admin = new LambdaClient({ endpoint: moto.url, region: "us-east-1", credentials: moto.keyPair });
    for (const name of ["echo-a", "echo-b"]) {
      await admin.send(
        new CreateFunctionCommand({
          FunctionName: name,
          Runtime: "nodejs22.x",
          Role: roleArn,
          Handler: "index.handler",
          // An empty zip: with use_docker off moto never runs the code, its invoke echoes the payload.
          Code: { ZipFile: Buffer.from("UEsFBgAAAAAAAAAAAAAAAAAAAAAAAA==", "base64") },
        }),
      );
    }
    admin.destroy();
  }, 120_000);
  afterAll(async () => {
    await moto?.close();
  });

  it("invokes (moto echoes the payload) and lists with the admin key", async () => {
    const out = await lambdaInvoke({
      endpoint: moto.url,
      credentials: asSecret(moto.keyPair),
      functionName: "echo-a",
      payload: { hello: "moto" },
    });
    expect(out).toMatchObject({ statusCode: 200, payload: { hello: "moto" } });
    const listed = await lambdaList({ endpoint: moto.url, credentials: asSecret(moto.keyPair) });
    expect(listed.functions.map((f) => f.name).sort()).toEqual(["echo-a", "echo-b"]);
  });

  it("a user without lambda:InvokeFunction is refused (moto's bare 403); a wrong secret is a CredentialRejectedError", async () => {
    // moto names Lambda's actions after the API operations (`lambda:Invoke`) and checks them against Resource "*"
    // only, and answers 500 when a user other than an allow-all one is allowed: scoping by function is tested
    // against the stand-in above.
    const key = await moto.createUser("list-only", {
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Action: "lambda:ListFunctions", Resource: "*" }],
    });
    const as = { endpoint: moto.url, credentials: asSecret(key), maxAttempts: 1 };
    const refused = await lambdaInvoke({ ...as, functionName: "echo-a" }).catch((e) => e);
    expect(CredentialRejectedError.isInstance(refused)).toBe(true);
    expect(refused.message).toContain("403 Forbidden on invoking echo-a");
    const wrong = await lambdaInvoke({
      ...as,
      credentials: { ...asSecret(key), SECRET_ACCESS_KEY: randomKeyPair().secretAccessKey },
      functionName: "echo-a",
    }).catch((e) => e);
    expect(CredentialRejectedError.isInstance(wrong)).toBe(true);
    expect(wrong.message).toContain("from argument (credentials)");
    expect(wrong.message).not.toContain(key.secretAccessKey);
  });
});
