import { flow } from "@tributary/flow";
import {
  failureOutputs,
  findSecretTraces,
  randomKeyPair,
  type S3StandIn,
  s3ErrorReply,
  startS3StandIn,
} from "@tributary/testing";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanEnv } from "../test/helpers.js";
import { s3List } from "./index.js";

let s3: S3StandIn;
let dropHome: () => Promise<void>;
beforeAll(async () => {
  s3 = await startS3StandIn({ buckets: ["echo"] });
  dropHome = await cleanEnv();
});
afterAll(async () => {
  await s3.close();
  await dropHome();
});

/** Runs `call` in a flow run given `secrets`, and returns every text its failure produced. */
const outputsOf = (secrets: Record<string, unknown>, call: () => Promise<unknown>) =>
  failureOutputs(
    (body, sink) => flow({ name: "no-leak", logger: { level: "debug", sink } }, body).run({ secrets }),
    call,
  );

describe("no credential in any output when S3 rejects it with a body that echoes the request", () => {
  it.each([
    { code: "InvalidAccessKeyId", message: "The AWS Access Key Id you provided does not exist. {{echo}}" },
    { code: "AccessDenied", message: "Access Denied for {{echo}}" },
  ])("$code", async ({ code, message }) => {
    await fc.assert(
      fc.asyncProperty(fc.boolean(), async (withSession) => {
        const key = randomKeyPair();
        const secret = {
          ACCESS_KEY: key.accessKeyId,
          SECRET_ACCESS_KEY: key.secretAccessKey,
          ...(withSession ? { SESSION_TOKEN: `IQoJb3JpZ2luX2Vj${randomKeyPair().secretAccessKey}` } : {}),
        };
        s3.failNext(1, 403, { ...s3ErrorReply(403, code, message), echo: true });
        const outputs = await outputsOf({ AWS_CREDENTIALS: secret }, () =>
          s3List({ endpoint: s3.url, forcePathStyle: true, bucket: "echo" }),
        );
        expect(outputs["inspect(error, { depth: Infinity })"]).toMatch(/InvalidAccessKeyId|access denied/);
        const { ACCESS_KEY: _id, ...secrets } = secret;
        expect(findSecretTraces(outputs, secrets)).toEqual([]);
      }),
      { numRuns: 6 },
    );
  });
});
