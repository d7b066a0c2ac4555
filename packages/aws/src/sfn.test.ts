import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  SFNClient,
  StartExecutionCommand,
} from "@aws-sdk/client-sfn";
import { registerSecretValue } from "@tributary/auth";
import { flow } from "@tributary/flow";
import {
  awsJsonErrorReply,
  createOidcIssuer,
  type Moto,
  randomKeyPair,
  type SfnStandIn,
  startMoto,
  startSfnStandIn,
} from "@tributary/testing";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { asSecret, cleanEnv } from "../test/helpers.js";
import { CredentialRejectedError, ServiceError, sfnDescribeExecution, sfnStartExecution } from "./index.js";

let sfn: SfnStandIn;
let dropHome: () => Promise<void>;
const oidc = createOidcIssuer();
const AUDIENCE = "sts.amazonaws.com";
let release: () => void = () => {};
let started: () => void = () => {};
let stopped: () => void = () => {};

beforeAll(async () => {
  dropHome = await cleanEnv();
  sfn = await startSfnStandIn({
    sts: { webIdentity: { publicKey: oidc.publicKey, audience: AUDIENCE } },
    stateMachines: {
      sum: (input) => ({ total: (input as { values: number[] }).values.reduce((a, b) => a + b, 0) }),
      gated: () =>
        new Promise((resolve) => {
          release = () => resolve({ released: true });
        }),
      failing: () => {
        const error = new Error("row 7: password=hunter2-secret rejected");
        error.name = "States.TaskFailed";
        throw error;
      },
      endless: (_input, context) =>
        new Promise((_resolve, reject) => {
          started();
          context.signal.addEventListener("abort", () => {
            stopped();
            reject(new Error("stopped"));
          });
        }),
      other: () => "other",
    },
  });
});
afterAll(async () => {
  await sfn?.close();
  await dropHome?.();
});
beforeEach(() => sfn.reset());

const polled = () =>
  sfn.requests.some((r) => String(r.headers["x-amz-target"]).endsWith("DescribeExecution"));
const conn = () => ({
  endpoint: sfn.url,
  credentials: asSecret(sfn.keyPairs[0] as never),
  pollIntervalMs: 1,
});

/** Runs `fn` in a flow run and returns what it returned (or threw). */
async function inRun<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  let out = { error: new Error("the run did not start") } as { value: T } | { error: unknown };
  await flow({ name: "sfn" }, async () => {
    out = await fn().then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    );
  }).run(signal ? { signal } : {});
  if ("error" in out) throw out.error;
  return out.value;
}

describe("Step Functions tasks against the stand-in", () => {
  it("starts, waits and resolves the parsed output; describes the execution", async () => {
    const done = await sfnStartExecution({
      ...conn(),
      stateMachineArn: sfn.arnOf("sum"),
      input: { values: [1, 2, 3] },
      wait: true,
    });
    expect(done).toMatchObject({ status: "SUCCEEDED", output: { total: 6 } });
    expect(done.executionArn).toContain(":execution:sum:");
    const described = await sfnDescribeExecution({ ...conn(), executionArn: done.executionArn });
    expect(described).toMatchObject({ status: "SUCCEEDED", output: { total: 6 } });
  });

  it("is idempotent by name: a retried start with the same input returns the same execution; polls until it ends", async () => {
    const start = () =>
      sfnStartExecution({
        ...conn(),
        stateMachineArn: sfn.arnOf("gated"),
        name: "run-2026-12-07",
        input: { day: 7 },
      });
    const first = await start();
    expect(first).toMatchObject({ status: "RUNNING" });
    expect((await start()).executionArn).toBe(first.executionArn);
    const other = await sfnStartExecution({
      ...conn(),
      stateMachineArn: sfn.arnOf("gated"),
      name: "run-2026-12-07",
      input: { day: 8 },
    }).catch((e) => e);
    expect(other).toMatchObject({ reason: "ExecutionAlreadyExists" });
    expect(sfn.executions.filter((e) => e.name === "run-2026-12-07")).toHaveLength(1);
    const waiting = sfnStartExecution({
      ...conn(),
      stateMachineArn: sfn.arnOf("gated"),
      name: "run-2026-12-07",
      input: { day: 7 },
      wait: true,
    });
    // Idempotency holds while the execution runs: let it end only once the waiting start is polling.
    const polled = () =>
      sfn.requests.some((r) => String(r.headers["x-amz-target"]).endsWith("DescribeExecution"));
    while (!polled()) await new Promise((resolve) => setImmediate(resolve));
    release();
    expect(await waiting).toMatchObject({
      executionArn: first.executionArn,
      status: "SUCCEEDED",
      output: { released: true },
    });
  });

  it("makes a failed execution an EXECUTION_FAILED with AWS's error as reason and the cause masked", async () => {
    const error = await inRun(() => {
      registerSecretValue("hunter2-secret");
      return sfnStartExecution({ ...conn(), stateMachineArn: sfn.arnOf("failing"), wait: true });
    }).catch((e) => e);
    expect(ServiceError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code: "EXECUTION_FAILED", reason: "States.TaskFailed" });
    expect(error.message).toContain("FAILED: States.TaskFailed: row 7: password=[redacted] rejected");
  });

  it("stops the execution when the task is cancelled while it waits", async () => {
    const controller = new AbortController();
    const running = new Promise<void>((resolve) => {
      started = resolve;
    });
    const stopSeen = new Promise<void>((resolve) => {
      stopped = resolve;
    });
    const outcome = inRun(
      () =>
        sfnStartExecution({
          ...conn(),
          stateMachineArn: sfn.arnOf("endless"),
          wait: true,
          pollIntervalMs: 5,
        }),
      controller.signal,
    ).catch((e) => e);
    await running;
    // Cancel once the task waits (polls), not while its start is still in flight.
    while (!polled()) await new Promise((resolve) => setImmediate(resolve));
    controller.abort();
    const error = await outcome;
    expect(error.name).toMatch(/Cancel|Abort/);
    // The run ends at once; the task stops the execution on its way out.
    await stopSeen;
    const execution = sfn.executions.find((e) => e.stateMachineArn === sfn.arnOf("endless"));
    expect(sfn.stopped).toContain(execution?.executionArn);
    expect(execution?.status).toBe("ABORTED");
  });

  it("retries a throttled start; refuses bad input before any call; a wrong key is a CredentialRejectedError", async () => {
    sfn.failNext(1, 400, awsJsonErrorReply("ThrottlingException", "Rate exceeded"));
    expect(
      await sfnStartExecution({
        ...conn(),
        stateMachineArn: sfn.arnOf("sum"),
        input: { values: [1] },
        wait: true,
      }),
    ).toMatchObject({ output: { total: 1 } });
    sfn.reset();
    for (const bad of [
      { stateMachineArn: "etl" },
      { stateMachineArn: sfn.arnOf("sum"), name: "has space" },
      { stateMachineArn: sfn.arnOf("sum"), input: "x".repeat(256 * 1024) },
    ]) {
      expect((await sfnStartExecution({ ...conn(), ...bad }).catch((e) => e)).name).toBe("ValidationError");
    }
    expect((await sfnDescribeExecution({ ...conn(), executionArn: "nope" }).catch((e) => e)).name).toBe(
      "ValidationError",
    );
    expect(sfn.requests).toHaveLength(0);
    const wrong = await sfnStartExecution({
      ...conn(),
      credentials: { ...conn().credentials, SECRET_ACCESS_KEY: randomKeyPair().secretAccessKey },
      stateMachineArn: sfn.arnOf("sum"),
    }).catch((e) => e);
    expect(CredentialRejectedError.isInstance(wrong)).toBe(true);
    expect(wrong.message).toContain("from argument (credentials)");
  });

  it("with leastPrivilege and a role, starts and watches its state machine, and is refused on another", async () => {
    const out = await sfnStartExecution({
      endpoint: sfn.url,
      stsEndpoint: sfn.url,
      leastPrivilege: true,
      credentials: {
        ROLE_ARN: "arn:aws:iam::123456789012:role/etl",
        WEB_IDENTITY_TOKEN: oidc.token({ subject: "etl", audience: AUDIENCE }),
      },
      stateMachineArn: sfn.arnOf("sum"),
      input: { values: [2] },
      wait: true,
      pollIntervalMs: 1,
    });
    expect(out.output).toEqual({ total: 2 });
    const issued = sfn.assumedRoles.at(-1);
    const key = sfn.keyPairs.find((k) => k.accessKeyId === issued?.accessKeyId);
    const scoped = new SFNClient({ endpoint: sfn.url, region: "us-east-1", credentials: key as never });
    const start = (name: string) =>
      scoped
        .send(new StartExecutionCommand({ stateMachineArn: sfn.arnOf(name), input: '{"values":[1]}' }))
        .then(
          (r) => r.executionArn,
          (e: { name: string }) => e.name,
        );
    expect(await start("sum")).toContain(":execution:sum:");
    expect(await start("other")).toBe("AccessDeniedException");
    const otherRun = sfn.executions.find((e) => e.stateMachineArn === sfn.arnOf("gated"));
    expect(
      await scoped
        .send(new DescribeExecutionCommand({ executionArn: otherRun?.executionArn }))
        .catch((e) => e.name),
    ).toBe("AccessDeniedException");
    scoped.destroy();
  });
});

describe("Step Functions against moto with IAM enforced", () => {
  let moto: Moto;
  let stateMachineArn: string;
  beforeAll(async () => {
    moto = await startMoto();
    const config = await fetch(`${moto.url}/moto-api/config`, {
      method: "POST",
      body: JSON.stringify({ stepfunctions: { execute_state_machine: true } }),
    });
    expect(config.ok).toBe(true);
    const roleArn = await moto.createRole("sfn-runner", "states.amazonaws.com");
    const admin = new SFNClient({ endpoint: moto.url, region: "us-east-1", credentials: moto.keyPair });
    const created = await admin.send(
      new CreateStateMachineCommand({
        name: "passes",
        roleArn,
        definition: JSON.stringify({
          StartAt: "Tag",
          States: {
            Tag: { Type: "Pass", Result: "tagged", ResultPath: "$.tag", Next: "Done" },
            Done: { Type: "Pass", End: true },
          },
        }),
      }),
    );
    stateMachineArn = created.stateMachineArn as string;
    admin.destroy();
  }, 120_000);
  afterAll(async () => {
    await moto?.close();
  });

  // With execute_state_machine on, moto 5.2.1 starts one new execution per region: one start in this suite.
  it("runs Pass states to SUCCEEDED with the parsed output, and describes the execution", async () => {
    const as = { endpoint: moto.url, credentials: asSecret(moto.keyPair) };
    const done = await sfnStartExecution({
      ...as,
      stateMachineArn,
      input: { day: 7 },
      wait: true,
      pollIntervalMs: 50,
    });
    expect(done).toMatchObject({ status: "SUCCEEDED", output: { day: 7, tag: "tagged" } });
    const described = await sfnDescribeExecution({ ...as, executionArn: done.executionArn });
    expect(described.status).toBe("SUCCEEDED");
  });

  it("a user without states:StartExecution is refused (moto's bare 403) before any execution starts", async () => {
    const key = await moto.createUser("sfn-describer", {
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Action: "states:DescribeExecution", Resource: "*" }],
    });
    const refused = await sfnStartExecution({
      endpoint: moto.url,
      credentials: asSecret(key),
      maxAttempts: 1,
      stateMachineArn,
    }).catch((e) => e);
    expect(CredentialRejectedError.isInstance(refused)).toBe(true);
    expect(refused.message).toContain("403 Forbidden on starting");
  });
});
