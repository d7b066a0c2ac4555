import { randomBytes } from "node:crypto";
import { truncateSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ListMultipartUploadsCommand, S3Client } from "@aws-sdk/client-s3";
import { ServiceError, ValidationError } from "@tributary/auth";
import { flow } from "@tributary/flow";
import { type S3StandIn, s3ErrorReply, startS3StandIn } from "@tributary/testing";
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { asSecret, cleanEnv } from "../test/helpers.js";
import { s3Delete, s3Download, s3List, s3Upload } from "./index.js";

let s3: S3StandIn;
let dir: string;
let dropHome: () => Promise<void>;
const bucket = "faults";
const conn = () => ({
  endpoint: s3.url,
  forcePathStyle: true,
  credentials: asSecret(s3.keyPairs[0] as never),
});

beforeAll(async () => {
  s3 = await startS3StandIn({ buckets: [bucket] });
  dir = await mkdtemp(join(tmpdir(), "tributary-aws-faults-"));
  dropHome = await cleanEnv();
});
afterAll(async () => {
  await s3.close();
  await rm(dir, { recursive: true, force: true });
  await dropHome();
});
beforeEach(() => s3.reset());

const count = (method: string, path: string) =>
  s3.requests.filter((r) => r.method === method && r.path === path).length;

describe("the SDK retries transient S3 errors", () => {
  it.each([
    { what: "500 InternalError", status: 500, code: "InternalError" },
    { what: "503 SlowDown", status: 503, code: "SlowDown" },
    { what: "503 ServiceUnavailable", status: 503, code: "ServiceUnavailable" },
  ])(
    "$what on upload, download and list",
    async ({ status, code }) => {
      const key = `retry/${code}.txt`;
      const path = `/${bucket}/${key}`;
      const fault = s3ErrorReply(status, code, "try again");
      s3.failNext(2, status, { ...fault, match: (r) => r.method === "PUT" });
      await s3Upload({ ...conn(), bucket, key, body: "survived" });
      expect(count("PUT", path)).toBe(3);

      s3.failNext(2, status, { ...fault, match: (r) => r.method === "GET" });
      const { body } = await s3Download({ ...conn(), bucket, key, as: "buffer" });
      expect(body.toString()).toBe("survived");
      expect(count("GET", path)).toBe(3);

      s3.failNext(1, status, { ...fault, match: (r) => r.method === "GET" });
      expect((await s3List({ ...conn(), bucket, prefix: "retry/" })).objects.map((o) => o.key)).toContain(
        key,
      );
    },
    30_000,
  ); // SlowDown is throttling: the SDK backs off from 500 ms.

  it("past the SDK's attempts, a retryable ServiceError", async () => {
    s3.failNext(3, 503, { ...s3ErrorReply(503, "SlowDown", "slow down"), match: (r) => r.method === "GET" });
    const error = await s3List({ ...conn(), bucket }).catch((e) => e);
    expect(ServiceError.isInstance(error)).toBe(true);
    expect(error.code).toBe("THROTTLED");
    expect(error.retryable).toBe(true);
  }, 30_000);
});

describe("batches", () => {
  it("deletes 2,500 keys in batches of 1000", async () => {
    const real = ["batch/a", "batch/b"];
    await Promise.all(real.map((key) => s3Upload({ ...conn(), bucket, key, body: "x" })));
    const keys = [...real, ...Array.from({ length: 2498 }, (_, i) => `batch/missing-${i}`)];
    s3.reset();
    const out = await s3Delete({ ...conn(), bucket, keys });
    expect(out.deleted).toHaveLength(2500);
    expect(s3.requests.filter((r) => r.method === "POST" && r.query.delete !== undefined)).toHaveLength(3);
    expect(s3.objectKeys(bucket).filter((k) => k.startsWith("batch/"))).toEqual([]);
  });
});

describe("interrupted transfers", () => {
  it("a connection reset mid-download leaves no file at the destination, nor a temp file", async () => {
    const data = randomBytes(2 * 1024 * 1024);
    await s3Upload({ ...conn(), bucket, key: "reset/big.bin", body: data });
    const destination = join(dir, "fresh.bin");
    s3.resetNext(1, { afterBytes: 256 * 1024, match: (r) => r.method === "GET" });
    const error = await s3Download({ ...conn(), bucket, key: "reset/big.bin", destination }).catch((e) => e);
    expect(ServiceError.isInstance(error)).toBe(true);
    expect(error.code).toBe("DOWNLOAD_INTERRUPTED");
    expect(error.retryable).toBe(true);
    expect(await readdir(dir)).toEqual([]);
  });

  it("a connection reset mid-download leaves an existing destination as it was", async () => {
    await s3Upload({ ...conn(), bucket, key: "reset/big2.bin", body: randomBytes(2 * 1024 * 1024) });
    const destination = join(dir, "existing.txt");
    await writeFile(destination, "the old contents");
    s3.resetNext(1, { afterBytes: 100_000, match: (r) => r.method === "GET" });
    await expect(s3Download({ ...conn(), bucket, key: "reset/big2.bin", destination })).rejects.toThrow(
      /broke off/,
    );
    expect(await readFile(destination, "utf8")).toBe("the old contents");
    expect(await readdir(dir)).toEqual(["existing.txt"]);
    await rm(destination);
  });

  it("a file part that fails is sent again: the object is the file, byte for byte", async () => {
    // 4 parts through 2 buffers, each reused: part 3 goes in the buffer part 1 had, and fails twice. Each retry
    // must send the bytes it had, not those of a part read into the buffer since.
    const data = randomBytes(16 * 1024 * 1024 + 123);
    const file = join(dir, "retried.bin");
    await writeFile(file, data);
    const key = "mpu/retried.bin";
    const fault = s3ErrorReply(503, "SlowDown", "try again");
    const path = `/${bucket}/${key}`;
    s3.failNext(2, 503, {
      ...fault,
      match: (r) => r.method === "PUT" && r.path === path && r.query.partNumber === "3",
    });
    const up = await s3Upload({ ...conn(), bucket, key, file, partSize: 5 * 1024 * 1024, queueSize: 2 });
    await rm(file);
    expect(up).toMatchObject({ multipart: true, size: data.length });
    const parts = s3.requests
      .filter((r) => r.method === "PUT" && r.path === path)
      .map((r) => `${r.query.partNumber}:${r.status}`);
    expect(parts.sort()).toEqual(["1:200", "2:200", "3:200", "3:503", "3:503", "4:200"]);
    expect((await s3.readObject(bucket, key))?.equals(data)).toBe(true);
  });

  it("a file that shrinks while it is uploaded fails, and no parts are left behind", async () => {
    const file = join(dir, "shrinking.bin");
    await writeFile(file, randomBytes(16 * 1024 * 1024));
    const key = "mpu/shrinking.bin";
    const error = await s3Upload({
      ...conn(),
      bucket,
      key,
      file,
      partSize: 5 * 1024 * 1024,
      queueSize: 1,
      // After the first part, the file loses its end: the later parts cannot be read whole.
      onProgress: () => truncateSync(file, 6 * 1024 * 1024),
    }).catch((e) => e);
    await rm(file);
    expect(ValidationError.isInstance(error)).toBe(true);
    expect(error.message).toMatch(/shrinking\.bin became shorter while it was uploaded/);
    expect(s3.openUploads()).toEqual([]);
    expect(s3.objectKeys(bucket)).not.toContain(key);
  });

  it("a file upload cancelled with its run is aborted: no parts are left behind", async () => {
    const file = join(dir, "cancelled.bin");
    await writeFile(file, randomBytes(16 * 1024 * 1024));
    const key = "mpu/cancelled.bin";
    const controller = new AbortController();
    let upload: Promise<unknown> | undefined;
    await flow({ name: "cancelled-upload" }, async () => {
      upload = s3Upload({
        ...conn(),
        bucket,
        key,
        file,
        partSize: 5 * 1024 * 1024,
        queueSize: 1,
        // Cancelled once the first part is in: the upload is under way, with a part stored.
        onProgress: () => controller.abort(),
      }).catch((e) => e);
      await upload;
    })
      .run({ signal: controller.signal })
      .catch(() => undefined);
    // The task fails at once with its run; its body aborts the upload on the way out.
    const error = await upload;
    await vi.waitFor(() => expect(s3.openUploads()).toEqual([]));
    await rm(file);
    expect((error as Error | undefined)?.name).toMatch(/Cancel|Abort/);
    expect(s3.requests.filter((r) => r.method === "PUT" && r.path === `/${bucket}/${key}`)).toHaveLength(1);
    expect(s3.objectKeys(bucket)).not.toContain(key);
  });

  it("an interrupted multipart upload is aborted: no parts are left behind", async () => {
    const file = join(dir, "upload.bin");
    await writeFile(file, randomBytes(16 * 1024 * 1024));
    const key = "mpu/interrupted.bin";
    // Every part upload (PUT to the key: the multipart create and complete are POSTs) has its connection reset.
    s3.resetNext(100, { match: (r) => r.method === "PUT" && r.path === `/${bucket}/${key}` });
    const error = await s3Upload({ ...conn(), bucket, key, file, partSize: 5 * 1024 * 1024 }).catch((e) => e);
    const aborts = s3.requests.filter((r) => r.method === "DELETE" && r.query.uploadId !== undefined);
    s3.reset();
    await rm(file);
    expect(ServiceError.isInstance(error)).toBe(true);
    expect(error.retryable).toBe(true);
    expect(aborts.map((r) => r.status)).toEqual([204]);
    expect(s3.openUploads()).toEqual([]);
    const client = new S3Client({
      endpoint: s3.url,
      forcePathStyle: true,
      region: "us-east-1",
      credentials: s3.keyPairs[0] as never,
    });
    const listed = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    client.destroy();
    expect(listed.Uploads ?? []).toEqual([]);
    expect(s3.objectKeys(bucket)).not.toContain(key);
  });
});
