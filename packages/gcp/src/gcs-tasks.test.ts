import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { CredentialRejectedError, ServiceError, ValidationError } from "@tributary/auth";
import { describe, expect, it } from "vitest";
import { useGoogle } from "../test/helpers.js";
import {
  type GcsProgress,
  gcsCopy,
  gcsDelete,
  gcsDownload,
  gcsExists,
  gcsList,
  gcsListPages,
  gcsUpload,
} from "./index.js";

const env = useGoogle();
const KiB = 1024;
const MiB = 1024 * KiB;
const opts = () => ({ credentials: env.key(), endpoint: env.google().url, bucket: env.bucket });

/** A stream of `data` in small pieces, as a network or a generator would give it. */
function piecewise(data: Buffer, piece = 64 * KiB): Readable {
  return Readable.from(
    (function* () {
      for (let i = 0; i < data.length; i += piece) yield data.subarray(i, i + piece);
    })(),
  );
}

describe("gcsUpload", () => {
  const data = randomBytes(300 * KiB);
  const cases: Array<{ name: string; source: () => object; expected: Buffer; type: string }> = [
    {
      name: "a string",
      source: () => ({ body: "héllo" }),
      expected: Buffer.from("héllo"),
      type: "text/plain; charset=utf-8",
    },
    { name: "a Buffer", source: () => ({ body: data }), expected: data, type: "application/octet-stream" },
    {
      name: "a file",
      source: () => {
        const file = join(env.dir(), "in.csv");
        writeFileSync(file, data);
        return { file };
      },
      expected: data,
      type: "text/csv",
    },
    {
      name: "a stream",
      source: () => ({ body: piecewise(data) }),
      expected: data,
      type: "application/octet-stream",
    },
  ];

  it.each(cases)(
    "uploads $name in one request below the threshold",
    async ({ name, source, expected, type }) => {
      const google = env.google();
      const object = `one/${name}`;
      const info = await gcsUpload({ ...opts(), key: object, ...source() });
      expect(info).toMatchObject({
        bucket: env.bucket,
        key: object,
        size: expected.length,
        contentType: type,
      });
      expect((await google.readObject(env.bucket, object))?.equals(expected)).toBe(true);
      const uploads = google.requests.filter((r) => r.path.startsWith("/upload/"));
      expect(uploads.map((r) => r.query.uploadType)).toEqual(["multipart"]);
    },
  );

  it.each([
    ["a file", "file"],
    ["a Buffer", "buffer"],
    ["a stream of unknown size", "stream"],
  ])("uploads %s through a resumable session above the threshold, with progress", async (_label, kind) => {
    const google = env.google();
    const big = randomBytes(3 * MiB + 123);
    const file = join(env.dir(), "big.bin");
    writeFileSync(file, big);
    const source = kind === "file" ? { file } : kind === "buffer" ? { body: big } : { body: piecewise(big) };
    const progress: GcsProgress[] = [];
    const info = await gcsUpload({
      ...opts(),
      key: `resumable/${kind}`,
      ...source,
      contentType: "application/x-test",
      metadata: { origin: "test" },
      resumableThreshold: 1 * MiB,
      chunkSize: 1 * MiB,
      onProgress: (p) => progress.push(p),
    });
    expect(info).toMatchObject({
      size: big.length,
      contentType: "application/x-test",
      metadata: { origin: "test" },
    });
    expect((await google.readObject(env.bucket, `resumable/${kind}`))?.equals(big)).toBe(true);
    const uploads = google.requests.filter((r) => r.path.startsWith("/upload/"));
    expect(uploads[0]?.query.uploadType).toBe("resumable");
    expect(uploads.filter((r) => r.method === "PUT").length).toBe(kind === "stream" ? 4 : 1);
    const bytes = progress.map((p) => p.bytes);
    expect(bytes).toEqual([...bytes].sort((a, b) => a - b));
    expect(bytes.at(-1)).toBe(big.length);
    expect(progress.length).toBeGreaterThan(2);
  });

  it("resumes a dropped resumable upload from what was kept, without starting over", async () => {
    const google = env.google();
    const big = randomBytes(4 * MiB);
    const file = join(env.dir(), "drop.bin");
    writeFileSync(file, big);
    google.dropUploadAfter(1.3 * MiB);
    await gcsUpload({ ...opts(), key: "dropped/file", file, resumableThreshold: 0 });
    expect((await google.readObject(env.bucket, "dropped/file"))?.equals(big)).toBe(true);
    const puts = google.requests.filter((r) => r.method === "PUT");
    // The cut request, a status query, then the rest from the last whole 256 KiB the stand-in kept (1.25 MiB).
    expect(puts.map((r) => [r.status, r.headers["content-range"]])).toEqual([
      [0, `bytes 0-${big.length - 1}/${big.length}`],
      [308, `bytes */${big.length}`],
      [200, `bytes ${1.25 * MiB}-${big.length - 1}/${big.length}`],
    ]);
  });

  it("resumes a dropped chunk of a stream upload", async () => {
    const google = env.google();
    const big = randomBytes(3 * MiB + 7);
    google.dropUploadAfter(600 * KiB);
    await gcsUpload({
      ...opts(),
      key: "dropped/stream",
      body: piecewise(big),
      resumableThreshold: 0,
      chunkSize: 1 * MiB,
    });
    expect((await google.readObject(env.bucket, "dropped/stream"))?.equals(big)).toBe(true);
    const ranges = google.requests.filter((r) => r.method === "PUT").map((r) => r.headers["content-range"]);
    expect(ranges.slice(0, 3)).toEqual([
      "bytes 0-1048575/*",
      "bytes */*",
      `bytes ${512 * KiB}-${1.5 * MiB - 1}/*`,
    ]);
  });

  it("refuses bad input before any request", async () => {
    const google = env.google();
    const bad: Array<[object, string]> = [
      [{ bucket: "Bad_Bucket!", key: "x", body: "x" }, "bucket"],
      [{ bucket: "gs://test-bucket", key: "x", body: "x" }, "bucket"],
      [{ key: "", body: "x" }, "key"],
      [{ key: "a\nb", body: "x" }, "key"],
      [{ key: "x" }, "file/body"],
      [{ key: "x", body: "x", file: "/etc/hostname" }, "file/body"],
      [{ key: "x", file: join(env.dir(), "missing.csv") }, "file"],
      [{ key: "x", body: "x", chunkSize: 1000 }, "chunkSize"],
      [{ key: "x", body: "x", contentType: "not a type" }, "contentType"],
      [{ key: "x", body: "x", endpoint: "ftp://example.com" }, "endpoint"],
    ];
    for (const [input, option] of bad) {
      const error = await gcsUpload({ ...opts(), ...input } as never).catch((e) => e);
      expect(ValidationError.isInstance(error), `${option}: ${error}`).toBe(true);
      expect(error.option).toBe(option);
    }
    expect(google.requests).toHaveLength(0);
  });
});

describe("gcsDownload", () => {
  const data = randomBytes(2 * MiB + 11);

  it("returns a Buffer, a stream, or writes a file", async () => {
    const google = env.google();
    await google.putObject(env.bucket, "dl/data.bin", data);
    const buffer = await gcsDownload({ ...opts(), key: "dl/data.bin" });
    expect(buffer.body.equals(data)).toBe(true);
    expect(buffer).toMatchObject({ bucket: env.bucket, key: "dl/data.bin", size: data.length });
    const stream = await gcsDownload({ ...opts(), key: "dl/data.bin", as: "stream" });
    const chunks: Buffer[] = [];
    for await (const chunk of stream.body) chunks.push(chunk as Buffer);
    expect(Buffer.concat(chunks).equals(data)).toBe(true);
    const destination = join(env.dir(), "out.bin");
    const written = await gcsDownload({ ...opts(), key: "dl/data.bin", destination });
    expect(written).toMatchObject({ path: destination, size: data.length, key: "dl/data.bin" });
    expect(readFileSync(destination).equals(data)).toBe(true);
  });

  it("resumes a dropped download with a Range request for the rest", async () => {
    const google = env.google();
    await google.putObject(env.bucket, "dl/resume.bin", data);
    google.resetNext(1, { afterBytes: 700 * KiB, match: (r) => r.method === "GET" });
    const destination = join(env.dir(), "resumed.bin");
    await gcsDownload({ ...opts(), key: "dl/resume.bin", destination });
    expect(readFileSync(destination).equals(data)).toBe(true);
    const gets = google.requests.filter((r) => r.method === "GET");
    expect(gets).toHaveLength(2);
    expect(gets[1]?.headers.range).toMatch(/^bytes=\d+-$/);
    expect(Number(/=(\d+)-/.exec(String(gets[1]?.headers.range))?.[1])).toBeGreaterThan(0);
  });

  it("a failed download leaves no file at the destination (and no temp file)", async () => {
    const google = env.google();
    await google.putObject(env.bucket, "dl/fail.bin", data);
    const destination = join(env.dir(), "failed.bin");
    google.resetNext(2, { afterBytes: 300 * KiB, match: (r) => r.method === "GET" });
    const error = await gcsDownload({ ...opts(), key: "dl/fail.bin", destination, retries: 1 }).catch(
      (e) => e,
    );
    expect(ServiceError.isInstance(error)).toBe(true);
    expect(error.retryable).toBe(true);
    expect(existsSync(destination)).toBe(false);
    expect(readdirSync(env.dir()).filter((f) => f.includes("failed"))).toEqual([]);

    const missing = await gcsDownload({ ...opts(), key: "dl/none", destination }).catch((e) => e);
    expect(missing).toMatchObject({ code: "NOT_FOUND", status: 404 });
    expect(existsSync(destination)).toBe(false);
  });

  it("keeps an existing file when the download fails", async () => {
    const google = env.google();
    await google.putObject(env.bucket, "dl/keep.bin", data);
    const destination = join(env.dir(), "keep.bin");
    writeFileSync(destination, "previous");
    google.resetNext(1, { afterBytes: 100 * KiB, match: (r) => r.method === "GET" });
    await expect(gcsDownload({ ...opts(), key: "dl/keep.bin", destination, retries: 0 })).rejects.toThrow();
    expect(readFileSync(destination, "utf8")).toBe("previous");
  });

  it("refuses a destination in a missing folder before any request", async () => {
    const google = env.google();
    const error = await gcsDownload({
      ...opts(),
      key: "x",
      destination: join(env.dir(), "no/such/dir/f"),
    }).catch((e) => e);
    expect(ValidationError.isInstance(error)).toBe(true);
    expect(google.requests).toHaveLength(0);
  });
});

describe("gcsList, gcsExists, gcsCopy, gcsDelete", () => {
  it("lists with prefix and delimiter, page by page", async () => {
    const google = env.google();
    for (const name of ["l/a.txt", "l/b.txt", "l/c.txt", "l/sub/d.txt", "l/sub/e.txt", "other.txt"]) {
      await google.putObject(env.bucket, name, name);
    }
    const all = await gcsList({ ...opts(), prefix: "l/" });
    expect(all.objects.map((o) => o.key)).toEqual([
      "l/a.txt",
      "l/b.txt",
      "l/c.txt",
      "l/sub/d.txt",
      "l/sub/e.txt",
    ]);
    const folders = await gcsList({ ...opts(), prefix: "l/", delimiter: "/" });
    expect(folders.objects.map((o) => o.key)).toEqual(["l/a.txt", "l/b.txt", "l/c.txt"]);
    expect(folders.prefixes).toEqual(["l/sub/"]);
    const pages: string[][] = [];
    for await (const page of gcsListPages({ ...opts(), prefix: "l/", pageSize: 2 })) {
      pages.push(page.objects.map((o) => o.key));
    }
    expect(pages).toEqual([["l/a.txt", "l/b.txt"], ["l/c.txt", "l/sub/d.txt"], ["l/sub/e.txt"]]);
    const limited = await gcsList({ ...opts(), prefix: "l/", pageSize: 2, limit: 3 });
    expect(limited.objects).toHaveLength(3);
    expect(limited.truncated).toBe(true);
    const limitedPages: Array<[string[], boolean]> = [];
    for await (const page of gcsListPages({ ...opts(), prefix: "l/", pageSize: 2, limit: 3 })) {
      limitedPages.push([page.objects.map((o) => o.key), page.more]);
    }
    expect(limitedPages).toEqual([
      [["l/a.txt", "l/b.txt"], true],
      [["l/c.txt"], true],
    ]);
  });

  it("tells existence, copies across buckets and deletes", async () => {
    const google = env.google();
    google.createBucket("archive-bucket");
    await google.putObject(env.bucket, "c/src.txt", "copy me", { contentType: "text/plain" });
    expect(await gcsExists({ ...opts(), key: "c/src.txt" })).toBe(true);
    expect(await gcsExists({ ...opts(), key: "c/none.txt" })).toBe(false);
    const copy = await gcsCopy({
      ...opts(),
      from: { bucket: env.bucket, key: "c/src.txt" },
      to: { bucket: "archive-bucket", key: "c/copy.txt" },
    });
    expect(copy).toMatchObject({
      bucket: "archive-bucket",
      key: "c/copy.txt",
      size: 7,
      contentType: "text/plain",
    });
    expect((await google.readObject("archive-bucket", "c/copy.txt"))?.toString()).toBe("copy me");
    expect(await gcsDelete({ ...opts(), key: "c/src.txt" })).toEqual({ deleted: ["c/src.txt"] });
    expect(google.objectNames(env.bucket)).not.toContain("c/src.txt");
    expect(await gcsDelete({ ...opts(), key: "c/src.txt" })).toEqual({ deleted: ["c/src.txt"] });
    const error = await gcsDelete({ ...opts(), key: "c/src.txt", mustExist: true }).catch((e) => e);
    expect(error).toMatchObject({ code: "NOT_FOUND", status: 404, retryable: false, reason: "notFound" });
    expect(error.message).toContain("c/src.txt");
  });

  it("names a missing bucket and a denied credential clearly", async () => {
    const google = env.google();
    const missing = await gcsList({ ...opts(), bucket: "no-such-bucket" }).catch((e) => e);
    expect(missing).toMatchObject({ code: "NOT_FOUND" });
    expect(missing.message).toContain("The specified bucket does not exist");
    google.denyAccess(env.key().client_email, `/storage/v1/b/${env.bucket}/o/secret`);
    const denied = await gcsExists({ ...opts(), key: "secret/x" }).catch((e) => e);
    expect(denied).toMatchObject({ code: "ACCESS_DENIED", status: 403, retryable: false });
    expect(denied.message).toContain("argument (credentials)");
  });
});

describe("faults", () => {
  it.each([429, 503])("retries a %i and succeeds", async (status) => {
    const google = env.google();
    await google.putObject(env.bucket, "f/x.txt", "x");
    google.failNext(2, status, {
      headers: { "Retry-After": "0" },
      match: (r) => r.path.startsWith("/storage/"),
    });
    expect(await gcsExists({ ...opts(), key: "f/x.txt" })).toBe(true);
    expect(google.requests.filter((r) => r.path.startsWith("/storage/")).map((r) => r.status)).toEqual([
      status,
      status,
      200,
    ]);
  });

  it("retries a throttled upload and a throttled session start", async () => {
    const google = env.google();
    google.failNext(1, 429, { headers: { "Retry-After": "0" }, match: (r) => r.path.startsWith("/upload/") });
    await gcsUpload({ ...opts(), key: "f/small", body: "small" });
    google.failNext(1, 503, { headers: { "Retry-After": "0" }, match: (r) => r.path.startsWith("/upload/") });
    await gcsUpload({ ...opts(), key: "f/big", body: randomBytes(300 * KiB), resumableThreshold: 0 });
    expect(google.objectNames(env.bucket)).toEqual(expect.arrayContaining(["f/small", "f/big"]));
  });

  it("gives up after `retries` with a retryable ServiceError", async () => {
    const google = env.google();
    google.failNext(3, 503, {
      headers: { "Retry-After": "0" },
      match: (r) => r.path.startsWith("/storage/"),
    });
    const error = await gcsExists({ ...opts(), key: "f/x.txt", retries: 2 }).catch((e) => e);
    expect(error).toMatchObject({ code: "SERVICE_UNAVAILABLE", status: 503, retryable: true });
  });

  it("a 401 from Cloud Storage with a fresh token is a CredentialRejectedError", async () => {
    const google = env.google();
    google.failNext(5, 401, {
      body: { error: { code: 401, message: "Invalid Credentials", status: "UNAUTHENTICATED" } },
    });
    const error = await gcsExists({ ...opts(), key: "f/x.txt" }).catch((e) => e);
    expect(CredentialRejectedError.isInstance(error)).toBe(true);
    expect(error.service).toBe("Cloud Storage");
  });
});

describe("tokens", () => {
  it("1,000 task calls make one token exchange; an expired token is refreshed once", async () => {
    const google = env.google();
    const key = await google.createServiceAccount();
    await google.putObject(env.bucket, "t/x.txt", "x");
    const before = google.tokensIssued;
    const call = () =>
      gcsExists({ credentials: key, endpoint: google.url, bucket: env.bucket, key: "t/x.txt" });
    const run = async (count: number, concurrency: number) => {
      let next = 0;
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (next++ < count) expect(await call()).toBe(true);
        }),
      );
    };
    await run(1000, 25);
    expect(google.tokensIssued - before).toBe(1);
    google.expireTokens();
    await run(100, 25);
    expect(google.tokensIssued - before).toBe(2);
  }, 60_000);
});
