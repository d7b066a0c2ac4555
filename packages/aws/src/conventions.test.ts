import { randomBytes } from "node:crypto";
import { checkConventions } from "@tributary/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { asSecret, cleanEnv, type S3Target, standInTarget } from "../test/helpers.js";
import { ServiceError, s3Copy, s3Delete, s3Download, s3Exists, s3Upload } from "./index.js";

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
