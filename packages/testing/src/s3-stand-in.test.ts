import { createHash } from "node:crypto";
import { Hash } from "@smithy/hash-node";
import { HttpRequest } from "@smithy/protocol-http";
import { SignatureV4 } from "@smithy/signature-v4";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AwsKeyPair, randomKeyPair, type S3StandIn, startS3StandIn } from "./index.js";

const Sha256 = Hash.bind(null, "sha256");
const sha256 = (b: string | Buffer) => createHash("sha256").update(b).digest("hex");

let s3: S3StandIn;
let key: AwsKeyPair;
beforeAll(async () => {
  s3 = await startS3StandIn({ buckets: ["b1"], sts: { durationSeconds: 1 } });
  key = s3.keyPairs[0] as AwsKeyPair;
});
afterAll(() => s3.close());

interface Call {
  method?: string;
  path: string;
  query?: Record<string, string>;
  headers?: Record<string, string>;
  body?: string | Buffer;
  key?: AwsKeyPair;
  service?: string;
  contentSha?: string;
  unsigned?: boolean;
}

/** Signs a request the way the AWS SDK does and sends it. */
async function call(c: Call): Promise<{ status: number; text: string; headers: Headers }> {
  const url = new URL(s3.url);
  const body = c.body === undefined ? undefined : Buffer.from(c.body);
  const request = new HttpRequest({
    method: c.method ?? "GET",
    protocol: "http:",
    hostname: url.hostname,
    port: Number(url.port),
    path: c.path,
    query: c.query ?? {},
    headers: {
      host: url.host,
      "x-amz-content-sha256": c.contentSha ?? sha256(body ?? ""),
      ...(c.headers ?? {}),
    },
    ...(body ? { body } : {}),
  });
  const signer = new SignatureV4({
    credentials: c.key ?? key,
    region: "us-east-1",
    service: c.service ?? "s3",
    sha256: Sha256,
    uriEscapePath: false,
  });
  const signed = c.unsigned ? request : await signer.sign(request);
  const qs = new URLSearchParams(c.query ?? {}).toString();
  const response = await fetch(`${s3.url}${c.path}${qs ? `?${qs}` : ""}`, {
    method: signed.method,
    headers: Object.fromEntries(Object.entries(signed.headers).filter(([h]) => h !== "host")),
    ...(body ? { body } : {}),
  });
  return { status: response.status, text: await response.text(), headers: response.headers };
}

const code = (xml: string) => /<Code>([^<]+)<\/Code>/.exec(xml)?.[1];

describe("S3 stand-in: SigV4", () => {
  it.each([
    { what: "the right key", make: () => ({}), status: 200, error: undefined },
    {
      what: "a wrong secret",
      make: () => ({ key: { ...key, secretAccessKey: "wrong" } }),
      status: 403,
      error: "SignatureDoesNotMatch",
    },
    {
      what: "an unknown key",
      make: () => ({ key: randomKeyPair() }),
      status: 403,
      error: "InvalidAccessKeyId",
    },
    { what: "no signature", make: () => ({ unsigned: true }), status: 403, error: "AccessDenied" },
  ])("$what → $status $error", async ({ make, status, error }) => {
    const out = await call({ path: "/b1", query: { "list-type": "2" }, ...make() });
    expect(out.status).toBe(status);
    if (error) expect(code(out.text)).toBe(error);
    else expect(out.text).toContain("<ListBucketResult");
  });

  it("refuses a body that does not match x-amz-content-sha256", async () => {
    const out = await call({ method: "PUT", path: "/b1/x", body: "abc", contentSha: sha256("abd") });
    expect(out.status).toBe(400);
    expect(code(out.text)).toBe("XAmzContentSHA256Mismatch");
    expect(s3.objectKeys("b1")).not.toContain("x");
  });
});

describe("S3 stand-in: objects", () => {
  it("stores a signed PUT and serves it whole, by range and by HEAD", async () => {
    expect(
      (
        await call({
          method: "PUT",
          path: "/b1/dir/a%20b.txt",
          body: "0123456789",
          headers: { "content-type": "text/plain" },
        })
      ).status,
    ).toBe(200);
    expect((await s3.readObject("b1", "dir/a b.txt"))?.toString()).toBe("0123456789");
    const range = await call({ path: "/b1/dir/a%20b.txt", headers: { range: "bytes=2-4" } });
    expect(range.status).toBe(206);
    expect(range.text).toBe("234");
    expect(range.headers.get("content-range")).toBe("bytes 2-4/10");
    const suffix = await call({ path: "/b1/dir/a%20b.txt", headers: { range: "bytes=-3" } });
    expect(suffix.text).toBe("789");
    const head = await call({ method: "HEAD", path: "/b1/dir/a%20b.txt" });
    expect(head.headers.get("content-length")).toBe("10");
    expect(head.headers.get("content-type")).toBe("text/plain");
    const bad = await call({ path: "/b1/dir/a%20b.txt", headers: { range: "bytes=20-30" } });
    expect([bad.status, code(bad.text)]).toEqual([416, "InvalidRange"]);
  });

  it("decodes aws-chunked bodies with trailers (STREAMING-UNSIGNED-PAYLOAD-TRAILER)", async () => {
    const chunked = "5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n";
    const out = await call({
      method: "PUT",
      path: "/b1/chunked.txt",
      body: chunked,
      contentSha: "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
      headers: {
        "content-encoding": "aws-chunked",
        "x-amz-decoded-content-length": "11",
        "x-amz-trailer": "x-amz-checksum-crc32",
      },
    });
    expect(out.status).toBe(200);
    expect((await s3.readObject("b1", "chunked.txt"))?.toString()).toBe("hello world");
  });

  it("answers S3's XML errors for a missing key and bucket", async () => {
    const key404 = await call({ path: "/b1/nope" });
    expect([key404.status, code(key404.text)]).toEqual([404, "NoSuchKey"]);
    const bucket404 = await call({ path: "/nobucket/k" });
    expect([bucket404.status, code(bucket404.text)]).toEqual([404, "NoSuchBucket"]);
  });

  it("lists with prefix, delimiter and continuation tokens", async () => {
    for (const k of ["l/a", "l/b/1", "l/b/2", "l/c", "l/d/1"])
      await call({ method: "PUT", path: `/b1/${k}`, body: k });
    const keys: string[] = [];
    const prefixes: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const query: Record<string, string> = {
        "list-type": "2",
        prefix: "l/",
        delimiter: "/",
        "max-keys": "2",
      };
      if (token) query["continuation-token"] = token;
      const out = await call({ path: "/b1", query });
      pages++;
      keys.push(...[...out.text.matchAll(/<Key>([^<]+)<\/Key>/g)].map((m) => m[1] as string));
      prefixes.push(
        ...[...out.text.matchAll(/<CommonPrefixes><Prefix>([^<]+)<\/Prefix>/g)].map((m) => m[1] as string),
      );
      token = /<NextContinuationToken>([^<]+)</.exec(out.text)?.[1];
    } while (token);
    expect(keys).toEqual(["l/a", "l/c"]);
    expect(prefixes).toEqual(["l/b/", "l/d/"]);
    expect(pages).toBe(2);
  });

  it("runs a multipart upload, refusing small non-final parts, and aborts", async () => {
    const init = await call({ method: "POST", path: "/b1/mp", query: { uploads: "" } });
    const uploadId = /<UploadId>([^<]+)</.exec(init.text)?.[1] as string;
    expect(s3.openUploads()).toEqual([{ bucket: "b1", key: "mp", uploadId, parts: 0 }]);
    const part = (n: number, body: string) =>
      call({ method: "PUT", path: "/b1/mp", query: { partNumber: String(n), uploadId }, body });
    const e1 = (await part(1, "small")).headers.get("etag");
    const e2 = (await part(2, "last")).headers.get("etag");
    const complete = (parts: string) =>
      call({
        method: "POST",
        path: "/b1/mp",
        query: { uploadId },
        body: `<CompleteMultipartUpload>${parts}</CompleteMultipartUpload>`,
      });
    const tooSmall = await complete(
      `<Part><PartNumber>1</PartNumber><ETag>${e1}</ETag></Part><Part><PartNumber>2</PartNumber><ETag>${e2}</ETag></Part>`,
    );
    expect(code(tooSmall.text)).toBe("EntityTooSmall");
    const one = await complete(`<Part><PartNumber>1</PartNumber><ETag>${e1}</ETag></Part>`);
    expect(one.status).toBe(200);
    expect((await s3.readObject("b1", "mp"))?.toString()).toBe("small");

    const again = await call({ method: "POST", path: "/b1/mp2", query: { uploads: "" } });
    const id2 = /<UploadId>([^<]+)</.exec(again.text)?.[1] as string;
    expect((await call({ method: "DELETE", path: "/b1/mp2", query: { uploadId: id2 } })).status).toBe(204);
    expect(s3.openUploads()).toEqual([]);
  });

  it("copies and deletes many", async () => {
    await call({ method: "PUT", path: "/b1/src", body: "copied" });
    const copy = await call({ method: "PUT", path: "/b1/dst", headers: { "x-amz-copy-source": "/b1/src" } });
    expect(copy.text).toContain("<CopyObjectResult>");
    expect((await s3.readObject("b1", "dst"))?.toString()).toBe("copied");
    const del = await call({
      method: "POST",
      path: "/b1",
      query: { delete: "" },
      body: "<Delete><Object><Key>src</Key></Object><Object><Key>dst</Key></Object></Delete>",
    });
    expect(del.text).toContain("<Deleted><Key>src</Key></Deleted>");
    expect(s3.objectKeys("b1")).not.toContain("dst");
  });

  it("applies injected faults before checking anything", async () => {
    s3.failNext(1, 503);
    expect((await call({ path: "/b1", query: { "list-type": "2" } })).status).toBe(503);
    expect((await call({ path: "/b1", query: { "list-type": "2" } })).status).toBe(200);
  });
});

describe("S3 stand-in: STS AssumeRole", () => {
  it("issues temporary keys it accepts until they expire", async () => {
    const form = new URLSearchParams({
      Action: "AssumeRole",
      Version: "2011-06-15",
      RoleArn: "arn:aws:iam::123456789012:role/r",
      RoleSessionName: "s",
    }).toString();
    const url = new URL(s3.url);
    const signer = new SignatureV4({ credentials: key, region: "us-east-1", service: "sts", sha256: Sha256 });
    const signed = await signer.sign(
      new HttpRequest({
        method: "POST",
        protocol: "http:",
        hostname: url.hostname,
        port: Number(url.port),
        path: "/",
        headers: { host: url.host, "content-type": "application/x-www-form-urlencoded" },
        body: form,
      }),
    );
    const response = await fetch(`${s3.url}/`, {
      method: "POST",
      headers: Object.fromEntries(Object.entries(signed.headers).filter(([h]) => h !== "host")),
      body: form,
    });
    const xml = await response.text();
    const temp: AwsKeyPair = {
      accessKeyId: /<AccessKeyId>([^<]+)</.exec(xml)?.[1] as string,
      secretAccessKey: /<SecretAccessKey>([^<]+)</.exec(xml)?.[1] as string,
      sessionToken: /<SessionToken>([^<]+)</.exec(xml)?.[1] as string,
    };
    expect(s3.assumedRoles.at(-1)?.roleArn).toBe("arn:aws:iam::123456789012:role/r");
    const ok = await call({ path: "/b1", query: { "list-type": "2" }, key: temp });
    expect(ok.status).toBe(200);
    const noToken = await call({
      path: "/b1",
      query: { "list-type": "2" },
      key: { ...temp, sessionToken: undefined } as never,
    });
    expect(code(noToken.text)).toBe("InvalidToken");
    await new Promise((r) =>
      setTimeout(r, Math.max(0, (s3.assumedRoles.at(-1)?.expiresAt ?? 0) - Date.now()) + 20),
    );
    const expired = await call({ path: "/b1", query: { "list-type": "2" }, key: temp });
    expect([expired.status, code(expired.text)]).toEqual([403, "ExpiredToken"]);
  });
});
