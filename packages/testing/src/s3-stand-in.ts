import { createHash, randomBytes, randomUUID } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { copyFile, mkdtemp, rm } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable, Transform, type TransformCallback } from "node:stream";
import { pipeline } from "node:stream/promises";
import {
  type AssumedRole,
  type AwsAuthorizeRequest,
  awsStandInAuth,
  type StandInStsOptions,
  xmlEscape,
} from "./aws-sts.js";
import { type AwsKeyPair, randomKeyPair } from "./sigv4.js";
import { route, type StandIn, type StandInReply, type StandInRequest, startStandIn } from "./stand-in.js";

export type { AssumedRole, AwsAuthorizeRequest };
export { xmlEscape };

/** The options of `startS3StandIn`. */
export interface S3StandInOptions {
  /** The key pairs accepted. Default: one random pair (see `keyPairs` on the stand-in). */
  keyPairs?: AwsKeyPair[];
  /** Buckets to create at start. */
  buckets?: string[];
  /** Return false to answer `AccessDenied` (an IAM policy stand-in). Default: everything allowed. */
  authorize?: (request: AwsAuthorizeRequest) => boolean;
  /**
   * Also answer STS (`POST /`, service `sts`): `AssumeRole`, `AssumeRoleWithWebIdentity` and `GetCallerIdentity`.
   * Role assumptions issue temporary key pairs that the stand-in then accepts until they expire; a session `Policy`
   * passed with them is enforced on every S3 call signed with the issued key. `durationSeconds` overrides the
   * lifetime asked for (to test refresh). `webIdentity` is the OIDC provider trusted for
   * `AssumeRoleWithWebIdentity`: the token's RS256 signature, audience and expiry are checked as STS does.
   */
  sts?: StandInStsOptions;
  /** Where object data is kept (on disk, never in memory). Default: a fresh temp folder, removed on close. */
  dataDir?: string;
  /** Stand-in name for logs. Default `s3`. */
  name?: string;
}

/** A running S3 stand-in: a `StandIn` (request log, fault injection) plus a view of what it stores. */
export interface S3StandIn extends StandIn {
  /** The key pairs accepted (add more with `addKeyPair`). `keyPairs[0]` is the default one. */
  readonly keyPairs: AwsKeyPair[];
  /** Accepts one more key pair. */
  addKeyPair(key: AwsKeyPair): void;
  /** Creates a bucket directly (no request). */
  createBucket(name: string): void;
  /** The object keys in a bucket, sorted. */
  objectKeys(bucket: string): string[];
  /** An object's bytes, or `undefined`. */
  readObject(bucket: string, key: string): Promise<Buffer | undefined>;
  /** Multipart uploads started and neither completed nor aborted. */
  openUploads(): { bucket: string; key: string; uploadId: string; parts: number }[];
  /** Every `AssumeRole` answered, in order. */
  readonly assumedRoles: AssumedRole[];
}

interface Segment {
  path: string;
  size: number;
}
interface StoredObject {
  segments: Segment[];
  size: number;
  etag: string;
  contentType: string;
  metadata: Record<string, string>;
  lastModified: Date;
}
interface Upload {
  bucket: string;
  key: string;
  uploadId: string;
  contentType: string;
  metadata: Record<string, string>;
  initiated: Date;
  parts: Map<number, Segment & { etag: string }>;
}

const XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/";
const BUCKET_RE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

function xmlUnescape(text: string): string {
  return text
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#(\d+);/g, (_, n) => String.fromCodePoint(Number(n)))
    .replace(/&#x([0-9a-f]+);/gi, (_, n) => String.fromCodePoint(Number.parseInt(n, 16)))
    .replace(/&amp;/g, "&");
}

/**
 * An S3 error reply with the XML body S3 sends. Use it with `failNext` to inject S3 errors such as `SlowDown`.
 * @example
 * s3.failNext(2, 503, s3ErrorReply(503, "SlowDown", "Please reduce your request rate."));
 */
export function s3ErrorReply(
  status: number,
  code: string,
  message: string,
  resource = "/",
): { status: number; headers: Record<string, string>; body: string } {
  const requestId = randomBytes(8).toString("hex").toUpperCase();
  return {
    status,
    headers: { "content-type": "application/xml", "x-amz-request-id": requestId },
    body: `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${xmlEscape(message)}</Message><Resource>${xmlEscape(resource)}</Resource><RequestId>${requestId}</RequestId></Error>`,
  };
}

class S3Failure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Decodes an `aws-chunked` body (`STREAMING-…` payloads), dropping chunk signatures and trailers. */
class AwsChunkedDecoder extends Transform {
  private state: "size" | "data" | "crlf" | "trailer" = "size";
  private line = Buffer.alloc(0);
  private remaining = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.state === "data") {
        const take = Math.min(this.remaining, chunk.length - offset);
        this.push(chunk.subarray(offset, offset + take));
        offset += take;
        this.remaining -= take;
        if (this.remaining === 0) this.state = "crlf";
      } else if (this.state === "crlf") {
        const take = Math.min(2 - this.line.length, chunk.length - offset);
        this.line = Buffer.concat([this.line, chunk.subarray(offset, offset + take)]);
        offset += take;
        if (this.line.length === 2) {
          this.line = Buffer.alloc(0);
          this.state = "size";
        }
      } else if (this.state === "size") {
        const end = chunk.indexOf("\r\n", offset);
        if (end < 0) {
          this.line = Buffer.concat([this.line, chunk.subarray(offset)]);
          if (this.line.length > 4096) {
            done(new S3Failure(400, "IncompleteBody", "bad aws-chunked framing"));
            return;
          }
          offset = chunk.length;
          break;
        }
        const header = Buffer.concat([this.line, chunk.subarray(offset, end)]).toString("latin1");
        this.line = Buffer.alloc(0);
        offset = end + 2;
        const size = Number.parseInt(header.split(";")[0] ?? "", 16);
        if (!Number.isFinite(size)) {
          done(new S3Failure(400, "IncompleteBody", "bad aws-chunked size"));
          return;
        }
        if (size === 0) this.state = "trailer";
        else {
          this.remaining = size;
          this.state = "data";
        }
      } else {
        offset = chunk.length;
      }
    }
    done();
  }
}

function hashing(onEnd: (size: number, md5: string, sha256: string | undefined) => void, sha: boolean) {
  const md5 = createHash("md5");
  const sha256 = sha ? createHash("sha256") : undefined;
  let size = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      md5.update(chunk);
      sha256?.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
    flush(done) {
      onEnd(size, md5.digest("hex"), sha256?.digest("hex"));
      done();
    },
  });
}

function rawPathOf(req: IncomingMessage): string {
  return (req.url ?? "/").split("?")[0] ?? "/";
}

function metadataOf(headers: IncomingMessage["headers"]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (k.startsWith("x-amz-meta-") && typeof v === "string") out[k.slice(11)] = v;
  }
  return out;
}

/**
 * Starts an S3 stand-in: CreateBucket, PutObject, multipart upload (create, part, complete, abort, list),
 * GetObject with Range, HeadObject, ListObjectsV2 (prefix, delimiter, pagination), DeleteObject(s), CopyObject,
 * with the XML errors S3 sends. Every request's SigV4 signature is recomputed with `@smithy/signature-v4`: an
 * unknown key is `InvalidAccessKeyId`, a wrong secret `SignatureDoesNotMatch`. Object data is kept in temp files.
 * Point the SDK at it with `endpoint: s3.url, forcePathStyle: true`.
 * @example
 * const s3 = await startS3StandIn({ buckets: ["reports"] });
 * const client = new S3Client({ endpoint: s3.url, forcePathStyle: true, region: "us-east-1",
 *   credentials: s3.keyPairs[0] });
 */
export async function startS3StandIn(options: S3StandInOptions = {}): Promise<S3StandIn> {
  const keyPairs: AwsKeyPair[] = options.keyPairs ? [...options.keyPairs] : [randomKeyPair()];
  const ownDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), "tributary-s3-")));
  const buckets = new Map<string, Map<string, StoredObject>>();
  const uploads = new Map<string, Upload>();
  const auth = awsStandInAuth(keyPairs, options.authorize ?? (() => true), options.sts);
  for (const b of options.buckets ?? []) buckets.set(b, new Map());

  const newPath = () => join(dataDir, randomUUID());
  const removeSegments = (segments: Segment[]) => {
    for (const s of segments) void rm(s.path, { force: true });
  };

  const bucketOf = (name: string) => {
    const b = buckets.get(name);
    if (!b) throw new S3Failure(404, "NoSuchBucket", "The specified bucket does not exist");
    return b;
  };

  async function receive(req: IncomingMessage): Promise<Segment & { etag: string }> {
    const declared = String(req.headers["x-amz-content-sha256"] ?? "");
    const chunked =
      declared.startsWith("STREAMING-") ||
      String(req.headers["content-encoding"] ?? "").includes("aws-chunked");
    const checkSha = /^[0-9a-f]{64}$/.test(declared);
    const path = newPath();
    let result: { size: number; md5: string; sha: string | undefined } | undefined;
    try {
      const hash = hashing((size, md5, sha) => {
        result = { size, md5, sha };
      }, checkSha);
      const out = createWriteStream(path, { highWaterMark: 1 << 20 });
      if (chunked) await pipeline(req, new AwsChunkedDecoder(), hash, out);
      else await pipeline(req, hash, out);
    } catch (error) {
      await rm(path, { force: true });
      throw error instanceof S3Failure
        ? error
        : new S3Failure(400, "IncompleteBody", "The request body was cut short");
    }
    const r = result as { size: number; md5: string; sha: string | undefined };
    const fail = async (code: string, message: string) => {
      await rm(path, { force: true });
      return new S3Failure(400, code, message);
    };
    if (checkSha && r.sha !== declared) {
      throw await fail(
        "XAmzContentSHA256Mismatch",
        "The provided 'x-amz-content-sha256' header does not match what was computed.",
      );
    }
    const contentMd5 = req.headers["content-md5"];
    if (typeof contentMd5 === "string" && Buffer.from(contentMd5, "base64").toString("hex") !== r.md5) {
      throw await fail("BadDigest", "The Content-MD5 you specified did not match what we received.");
    }
    const decoded = req.headers["x-amz-decoded-content-length"];
    if (chunked && decoded !== undefined && Number(decoded) !== r.size) {
      throw await fail(
        "IncompleteBody",
        "You did not provide the number of bytes specified by the Content-Length HTTP header.",
      );
    }
    return { path, size: r.size, etag: r.md5 };
  }

  function objectStream(obj: StoredObject, start: number, end: number): Readable {
    async function* read() {
      let base = 0;
      for (const seg of obj.segments) {
        const segStart = Math.max(start - base, 0);
        const segEnd = Math.min(end - base, seg.size - 1);
        if (segStart <= segEnd && segEnd >= 0) {
          yield* createReadStream(seg.path, { start: segStart, end: segEnd, highWaterMark: 1 << 20 });
        }
        base += seg.size;
        if (base > end) break;
      }
    }
    return Readable.from(read(), { objectMode: false });
  }

  function objectHeaders(obj: StoredObject): Record<string, string | number> {
    const headers: Record<string, string | number> = {
      etag: `"${obj.etag}"`,
      "last-modified": obj.lastModified.toUTCString(),
      "content-type": obj.contentType,
      "accept-ranges": "bytes",
    };
    for (const [k, v] of Object.entries(obj.metadata)) headers[`x-amz-meta-${k}`] = v;
    return headers;
  }

  const xml = (body: string, status = 200): StandInReply => ({
    status,
    headers: { "content-type": "application/xml" },
    body: `<?xml version="1.0" encoding="UTF-8"?>\n${body}`,
  });

  async function handle(request: StandInRequest, res: ServerResponse): Promise<StandInReply | undefined> {
    const req = request.raw;
    const method = request.method;
    const rawPath = rawPathOf(req);
    const q = request.url.searchParams;
    if (await auth.isSts(request)) return auth.answerSts(request);
    const check = await auth.check(request, { uriEscapePath: false });
    if (!check.ok)
      throw new S3Failure(
        check.code === "AuthorizationHeaderMalformed" ? 400 : 403,
        check.code,
        check.message,
      );
    if (req.headers["x-amz-content-sha256"] === undefined) {
      throw new S3Failure(
        400,
        "InvalidRequest",
        "Missing required header for this request: x-amz-content-sha256",
      );
    }
    const slash = rawPath.indexOf("/", 1);
    const bucketName = decodeURIComponent(slash < 0 ? rawPath.slice(1) : rawPath.slice(1, slash));
    const key = slash < 0 ? "" : decodeURIComponent(rawPath.slice(slash + 1));
    const allow = (action: string, resource: string, context?: Record<string, string>) => {
      const arn = resource === "*" ? "*" : `arn:aws:s3:::${resource}`;
      if (!auth.allows(check.key.accessKeyId, action, arn, resource, context)) {
        throw new S3Failure(403, "AccessDenied", "Access Denied");
      }
    };

    if (!bucketName) {
      if (method !== "GET")
        throw new S3Failure(405, "MethodNotAllowed", "The specified method is not allowed");
      allow("s3:ListAllMyBuckets", "*");
      const list = [...buckets.keys()]
        .sort()
        .map(
          (b) =>
            `<Bucket><Name>${xmlEscape(b)}</Name><CreationDate>${new Date().toISOString()}</CreationDate></Bucket>`,
        );
      return xml(
        `<ListAllMyBucketsResult xmlns="${XMLNS}"><Owner><ID>stand-in</ID></Owner><Buckets>${list.join("")}</Buckets></ListAllMyBucketsResult>`,
      );
    }

    if (!key) {
      if (method === "PUT") {
        allow("s3:CreateBucket", bucketName);
        req.resume();
        if (!BUCKET_RE.test(bucketName))
          throw new S3Failure(400, "InvalidBucketName", "The specified bucket is not valid.");
        if (buckets.has(bucketName)) {
          throw new S3Failure(
            409,
            "BucketAlreadyOwnedByYou",
            "Your previous request to create the named bucket succeeded and you already own it.",
          );
        }
        buckets.set(bucketName, new Map());
        return { status: 200, headers: { location: `/${bucketName}` } };
      }
      if (method === "HEAD") {
        allow("s3:ListBucket", bucketName);
        bucketOf(bucketName);
        return { status: 200 };
      }
      if (method === "DELETE") {
        allow("s3:DeleteBucket", bucketName);
        if (bucketOf(bucketName).size > 0)
          throw new S3Failure(409, "BucketNotEmpty", "The bucket you tried to delete is not empty");
        buckets.delete(bucketName);
        return { status: 204 };
      }
      if (method === "POST" && q.has("delete")) {
        const bucket = bucketOf(bucketName);
        const body = (await request.body()).toString("utf8");
        const keys = [...body.matchAll(/<Object>[\s\S]*?<Key>([\s\S]*?)<\/Key>[\s\S]*?<\/Object>/g)].map(
          (m) => xmlUnescape(m[1] ?? ""),
        );
        if (keys.length === 0 || keys.length > 1000) {
          throw new S3Failure(
            400,
            "MalformedXML",
            "The XML you provided was not well-formed or did not validate against our published schema",
          );
        }
        const quiet = /<Quiet>true<\/Quiet>/.test(body);
        const results: string[] = [];
        for (const k of keys) {
          // As S3 does: each key is authorized on its own, and a refused one is reported, even when quiet.
          try {
            allow("s3:DeleteObject", `${bucketName}/${k}`);
          } catch {
            results.push(
              `<Error><Key>${xmlEscape(k)}</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`,
            );
            continue;
          }
          const obj = bucket.get(k);
          if (obj) {
            bucket.delete(k);
            removeSegments(obj.segments);
          }
          if (!quiet) results.push(`<Deleted><Key>${xmlEscape(k)}</Key></Deleted>`);
        }
        return xml(`<DeleteResult xmlns="${XMLNS}">${results.join("")}</DeleteResult>`);
      }
      if (method === "GET" && q.has("uploads")) {
        allow("s3:ListBucketMultipartUploads", bucketName);
        bucketOf(bucketName);
        const prefix = q.get("prefix") ?? "";
        const open = [...uploads.values()]
          .filter((u) => u.bucket === bucketName && u.key.startsWith(prefix))
          .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
        const items = open.map(
          (u) =>
            `<Upload><Key>${xmlEscape(u.key)}</Key><UploadId>${u.uploadId}</UploadId><Initiated>${u.initiated.toISOString()}</Initiated><StorageClass>STANDARD</StorageClass></Upload>`,
        );
        return xml(
          `<ListMultipartUploadsResult xmlns="${XMLNS}"><Bucket>${xmlEscape(bucketName)}</Bucket><Prefix>${xmlEscape(prefix)}</Prefix><MaxUploads>1000</MaxUploads><IsTruncated>false</IsTruncated>${items.join("")}</ListMultipartUploadsResult>`,
        );
      }
      if (method === "GET" && q.get("list-type") === "2") {
        allow("s3:ListBucket", bucketName, { "s3:prefix": q.get("prefix") ?? "" });
        return listV2(bucketName, q);
      }
      if (method === "GET" && q.has("location")) {
        bucketOf(bucketName);
        return xml(`<LocationConstraint xmlns="${XMLNS}"/>`);
      }
      throw new S3Failure(
        501,
        "NotImplemented",
        `The S3 stand-in does not implement ${method} on a bucket with this query`,
      );
    }

    if (method === "PUT" && q.has("partNumber") && q.has("uploadId")) {
      allow("s3:PutObject", `${bucketName}/${key}`);
      bucketOf(bucketName);
      const upload = uploads.get(q.get("uploadId") ?? "");
      if (!upload || upload.bucket !== bucketName || upload.key !== key) {
        req.resume();
        throw new S3Failure(404, "NoSuchUpload", "The specified upload does not exist.");
      }
      const partNumber = Number(q.get("partNumber"));
      if (!Number.isInteger(partNumber) || partNumber < 1 || partNumber > 10000) {
        req.resume();
        throw new S3Failure(
          400,
          "InvalidArgument",
          "Part number must be an integer between 1 and 10000, inclusive",
        );
      }
      const part = await receive(req);
      if (!uploads.has(upload.uploadId)) {
        removeSegments([part]);
        throw new S3Failure(404, "NoSuchUpload", "The specified upload does not exist.");
      }
      const prev = upload.parts.get(partNumber);
      if (prev) removeSegments([prev]);
      upload.parts.set(partNumber, part);
      return { status: 200, headers: { etag: `"${part.etag}"` } };
    }
    if (method === "PUT" && req.headers["x-amz-copy-source"]) {
      req.resume();
      const raw = String(req.headers["x-amz-copy-source"]).split("?")[0]?.replace(/^\//, "") ?? "";
      const cut = raw.indexOf("/");
      const srcBucket = decodeURIComponent(raw.slice(0, cut));
      const srcKey = decodeURIComponent(raw.slice(cut + 1));
      allow("s3:GetObject", `${srcBucket}/${srcKey}`);
      allow("s3:PutObject", `${bucketName}/${key}`);
      const src = bucketOf(srcBucket).get(srcKey);
      const dest = bucketOf(bucketName);
      if (cut < 0 || !src) throw new S3Failure(404, "NoSuchKey", "The specified key does not exist.");
      const segments: Segment[] = [];
      for (const s of src.segments) {
        const path = newPath();
        await copyFile(s.path, path);
        segments.push({ path, size: s.size });
      }
      const replace = req.headers["x-amz-metadata-directive"] === "REPLACE";
      const obj: StoredObject = {
        ...src,
        segments,
        lastModified: new Date(),
        ...(replace
          ? {
              contentType: String(req.headers["content-type"] ?? "binary/octet-stream"),
              metadata: metadataOf(req.headers),
            }
          : {}),
      };
      const old = dest.get(key);
      dest.set(key, obj);
      if (old) removeSegments(old.segments);
      return xml(
        `<CopyObjectResult><ETag>"${obj.etag}"</ETag><LastModified>${obj.lastModified.toISOString()}</LastModified></CopyObjectResult>`,
      );
    }
    if (method === "PUT") {
      allow("s3:PutObject", `${bucketName}/${key}`);
      const bucket = bucketOf(bucketName);
      const data = await receive(req);
      const old = bucket.get(key);
      bucket.set(key, {
        segments: [{ path: data.path, size: data.size }],
        size: data.size,
        etag: data.etag,
        contentType: String(req.headers["content-type"] ?? "binary/octet-stream"),
        metadata: metadataOf(req.headers),
        lastModified: new Date(),
      });
      if (old) removeSegments(old.segments);
      return { status: 200, headers: { etag: `"${data.etag}"` } };
    }
    if (method === "POST" && q.has("uploads")) {
      allow("s3:PutObject", `${bucketName}/${key}`);
      req.resume();
      bucketOf(bucketName);
      const uploadId = randomBytes(24).toString("base64url");
      uploads.set(uploadId, {
        bucket: bucketName,
        key,
        uploadId,
        contentType: String(req.headers["content-type"] ?? "binary/octet-stream"),
        metadata: metadataOf(req.headers),
        initiated: new Date(),
        parts: new Map(),
      });
      return xml(
        `<InitiateMultipartUploadResult xmlns="${XMLNS}"><Bucket>${xmlEscape(bucketName)}</Bucket><Key>${xmlEscape(key)}</Key><UploadId>${uploadId}</UploadId></InitiateMultipartUploadResult>`,
      );
    }
    if (method === "POST" && q.has("uploadId")) {
      allow("s3:PutObject", `${bucketName}/${key}`);
      const bucket = bucketOf(bucketName);
      const upload = uploads.get(q.get("uploadId") ?? "");
      if (!upload || upload.bucket !== bucketName || upload.key !== key) {
        throw new S3Failure(404, "NoSuchUpload", "The specified upload does not exist.");
      }
      const body = (await request.body()).toString("utf8");
      const listed = [...body.matchAll(/<Part>([\s\S]*?)<\/Part>/g)].map((m) => ({
        number: Number(/<PartNumber>(\d+)<\/PartNumber>/.exec(m[1] ?? "")?.[1]),
        etag: xmlUnescape(/<ETag>([\s\S]*?)<\/ETag>/.exec(m[1] ?? "")?.[1] ?? "").replace(/"/g, ""),
      }));
      if (listed.length === 0) throw new S3Failure(400, "MalformedXML", "You must specify at least one part");
      const segments: Segment[] = [];
      const md5s: Buffer[] = [];
      let last = 0;
      for (const [i, p] of listed.entries()) {
        if (p.number <= last)
          throw new S3Failure(400, "InvalidPartOrder", "The list of parts was not in ascending order.");
        last = p.number;
        const part = upload.parts.get(p.number);
        if (!part || part.etag !== p.etag) {
          throw new S3Failure(400, "InvalidPart", "One or more of the specified parts could not be found.");
        }
        if (i < listed.length - 1 && part.size < 5 * 1024 * 1024) {
          throw new S3Failure(
            400,
            "EntityTooSmall",
            "Your proposed upload is smaller than the minimum allowed object size.",
          );
        }
        segments.push({ path: part.path, size: part.size });
        md5s.push(Buffer.from(part.etag, "hex"));
      }
      const used = new Set(segments.map((s) => s.path));
      removeSegments([...upload.parts.values()].filter((p) => !used.has(p.path)));
      uploads.delete(upload.uploadId);
      const etag = `${createHash("md5").update(Buffer.concat(md5s)).digest("hex")}-${segments.length}`;
      const old = bucket.get(key);
      bucket.set(key, {
        segments,
        size: segments.reduce((n, s) => n + s.size, 0),
        etag,
        contentType: upload.contentType,
        metadata: upload.metadata,
        lastModified: new Date(),
      });
      if (old) removeSegments(old.segments);
      return xml(
        `<CompleteMultipartUploadResult xmlns="${XMLNS}"><Location>/${xmlEscape(bucketName)}/${xmlEscape(key)}</Location><Bucket>${xmlEscape(bucketName)}</Bucket><Key>${xmlEscape(key)}</Key><ETag>"${etag}"</ETag></CompleteMultipartUploadResult>`,
      );
    }
    if (method === "DELETE" && q.has("uploadId")) {
      allow("s3:AbortMultipartUpload", `${bucketName}/${key}`);
      bucketOf(bucketName);
      const upload = uploads.get(q.get("uploadId") ?? "");
      if (!upload || upload.bucket !== bucketName || upload.key !== key) {
        throw new S3Failure(404, "NoSuchUpload", "The specified upload does not exist.");
      }
      uploads.delete(upload.uploadId);
      removeSegments([...upload.parts.values()]);
      return { status: 204 };
    }
    if (method === "DELETE") {
      allow("s3:DeleteObject", `${bucketName}/${key}`);
      const bucket = bucketOf(bucketName);
      const obj = bucket.get(key);
      if (obj) {
        bucket.delete(key);
        removeSegments(obj.segments);
      }
      return { status: 204 };
    }
    if (method === "GET" || method === "HEAD") {
      allow("s3:GetObject", `${bucketName}/${key}`);
      const obj = bucketOf(bucketName).get(key);
      if (!obj) throw new S3Failure(404, "NoSuchKey", "The specified key does not exist.");
      const headers = objectHeaders(obj);
      const range = req.headers.range;
      let start = 0;
      let end = obj.size - 1;
      let status = 200;
      if (typeof range === "string") {
        const m = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
        if (m && (m[1] || m[2])) {
          if (m[1]) {
            start = Number(m[1]);
            end = m[2] ? Math.min(Number(m[2]), obj.size - 1) : obj.size - 1;
          } else {
            start = Math.max(obj.size - Number(m[2]), 0);
          }
          if (start >= obj.size || start > end) {
            headers["content-range"] = `bytes */${obj.size}`;
            throw new S3Failure(416, "InvalidRange", "The requested range is not satisfiable");
          }
          status = 206;
          headers["content-range"] = `bytes ${start}-${end}/${obj.size}`;
        }
      }
      headers["content-length"] = Math.max(end - start + 1, 0);
      if (method === "HEAD") {
        res.writeHead(status, headers);
        res.end();
        return undefined;
      }
      if (obj.size === 0) return { status, headers, body: Buffer.alloc(0) };
      return { status, headers, body: objectStream(obj, start, end) };
    }
    throw new S3Failure(
      405,
      "MethodNotAllowed",
      "The specified method is not allowed against this resource.",
    );
  }

  function listV2(bucketName: string, q: URLSearchParams): StandInReply {
    const bucket = bucketOf(bucketName);
    const prefix = q.get("prefix") ?? "";
    const delimiter = q.get("delimiter") ?? "";
    const maxKeys = Math.min(Number(q.get("max-keys") ?? 1000), 1000);
    const encode = q.get("encoding-type") === "url";
    const enc = (s: string) => xmlEscape(encode ? encodeURIComponent(s).replace(/%2F/g, "/") : s);
    const token = q.get("continuation-token");
    let after = q.get("start-after") ?? "";
    let skipPrefix = "";
    if (token) {
      try {
        const t = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as {
          after: string;
          cp: boolean;
        };
        after = t.after;
        if (t.cp) skipPrefix = t.after;
      } catch {
        throw new S3Failure(400, "InvalidArgument", "The continuation token provided is incorrect");
      }
    }
    const keys = [...bucket.keys()].filter((k) => k.startsWith(prefix) && k > after).sort();
    const contents: string[] = [];
    const prefixes: string[] = [];
    let count = 0;
    let truncated = false;
    let last: { after: string; cp: boolean } | undefined;
    for (const k of keys) {
      if (skipPrefix && k.startsWith(skipPrefix)) continue;
      let cp: string | undefined;
      if (delimiter) {
        const idx = k.indexOf(delimiter, prefix.length);
        if (idx >= 0) cp = k.slice(0, idx + delimiter.length);
      }
      if (cp !== undefined && last?.cp && last.after === cp) continue;
      if (count >= maxKeys) {
        truncated = true;
        break;
      }
      count++;
      if (cp !== undefined) {
        prefixes.push(`<CommonPrefixes><Prefix>${enc(cp)}</Prefix></CommonPrefixes>`);
        last = { after: cp, cp: true };
      } else {
        const obj = bucket.get(k) as StoredObject;
        contents.push(
          `<Contents><Key>${enc(k)}</Key><LastModified>${obj.lastModified.toISOString()}</LastModified><ETag>"${obj.etag}"</ETag><Size>${obj.size}</Size><StorageClass>STANDARD</StorageClass></Contents>`,
        );
        last = { after: k, cp: false };
      }
    }
    const next = truncated && last ? Buffer.from(JSON.stringify(last)).toString("base64url") : undefined;
    return xml(
      `<ListBucketResult xmlns="${XMLNS}"><Name>${xmlEscape(bucketName)}</Name><Prefix>${enc(prefix)}</Prefix>${delimiter ? `<Delimiter>${enc(delimiter)}</Delimiter>` : ""}<MaxKeys>${maxKeys}</MaxKeys><KeyCount>${count}</KeyCount>${encode ? "<EncodingType>url</EncodingType>" : ""}<IsTruncated>${truncated}</IsTruncated>${token ? `<ContinuationToken>${xmlEscape(token)}</ContinuationToken>` : ""}${next ? `<NextContinuationToken>${next}</NextContinuationToken>` : ""}${contents.join("")}${prefixes.join("")}</ListBucketResult>`,
    );
  }

  const standIn = await startStandIn(
    [
      route("*", /^\/.*$/, async (request, res) => {
        try {
          return await handle(request, res);
        } catch (error) {
          if (!(error instanceof S3Failure)) throw error;
          if (!request.raw.readableEnded) request.raw.resume();
          const reply = s3ErrorReply(error.status, error.code, error.message, request.path);
          if (request.method === "HEAD") return { status: error.status, headers: reply.headers };
          return reply;
        }
      }),
    ],
    { name: options.name ?? "s3" },
  );

  return {
    ...standIn,
    keyPairs,
    assumedRoles: auth.assumedRoles,
    addKeyPair: (key) => {
      keyPairs.push(key);
    },
    createBucket: (name) => {
      if (!buckets.has(name)) buckets.set(name, new Map());
    },
    objectKeys: (bucket) => [...(buckets.get(bucket)?.keys() ?? [])].sort(),
    readObject: async (bucket, key) => {
      const obj = buckets.get(bucket)?.get(key);
      if (!obj) return undefined;
      if (obj.size === 0) return Buffer.alloc(0);
      const chunks: Buffer[] = [];
      for await (const c of objectStream(obj, 0, obj.size - 1)) chunks.push(c as Buffer);
      return Buffer.concat(chunks);
    },
    openUploads: () =>
      [...uploads.values()].map((u) => ({
        bucket: u.bucket,
        key: u.key,
        uploadId: u.uploadId,
        parts: u.parts.size,
      })),
    close: async () => {
      await standIn.close();
      if (ownDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
