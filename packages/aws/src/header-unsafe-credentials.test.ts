import { InvalidSecretError, withSecrets } from "@tributary/auth";
import { type S3StandIn, startS3StandIn } from "@tributary/testing";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { cleanEnv } from "../test/helpers.js";
import { s3Exists } from "./index.js";

let s3: S3StandIn;
let dropHome: () => Promise<void>;
beforeAll(async () => {
  s3 = await startS3StandIn({ buckets: ["header-checks"] });
});
afterAll(() => s3?.close());
beforeEach(async () => {
  dropHome = await cleanEnv();
});
afterEach(() => dropHome());

// A session token or key with a character HTTP headers cannot carry is refused before any request, with a typed error
// marked not retryable (so neither the SDK nor a task's retries try it again).
describe("AWS credentials holding a character HTTP headers cannot carry", () => {
  const key = () => s3.keyPairs[0] as { accessKeyId: string; secretAccessKey: string };
  const cases = [
    {
      what: "SESSION_TOKEN with a line break (our shape, run secrets)",
      field: "SESSION_TOKEN",
      run: () =>
        withSecrets(
          {
            AWS_CREDENTIALS: {
              ACCESS_KEY: key().accessKeyId,
              SECRET_ACCESS_KEY: key().secretAccessKey,
              SESSION_TOKEN: "tok\nen",
            },
          },
          () => s3Exists({ endpoint: s3.url, forcePathStyle: true, bucket: "header-checks", key: "k" }),
        ),
    },
    {
      what: "ACCESS_KEY with a non-ASCII character (our shape, argument)",
      field: "ACCESS_KEY",
      run: () =>
        s3Exists({
          endpoint: s3.url,
          forcePathStyle: true,
          bucket: "header-checks",
          key: "k",
          credentials: { ACCESS_KEY: `${key().accessKeyId}\u00c5`, SECRET_ACCESS_KEY: key().secretAccessKey },
        }),
    },
    {
      what: "sessionToken with a NUL (the SDK's shape, argument)",
      field: "sessionToken",
      run: () =>
        s3Exists({
          endpoint: s3.url,
          forcePathStyle: true,
          bucket: "header-checks",
          key: "k",
          credentials: { ...key(), sessionToken: "tok\u0000en" },
        }),
    },
  ];
  it.each(cases)("$what", async (c) => {
    const before = s3.requests.length;
    const error = await c.run().catch((e) => e);
    expect(InvalidSecretError.isInstance(error), String(error)).toBe(true);
    expect(error.retryable).toBe(false);
    expect(error.issues[0].field).toBe(c.field);
    expect(error.message).toContain("which an HTTP header cannot carry");
    expect(s3.requests.length).toBe(before);
  });
});
