import type { ListObjectsV2CommandOutput } from "@aws-sdk/client-s3";
import { ValidationError } from "@tributary/auth";
import { task, taskContext } from "@tributary/flow";
import { toAwsError } from "./aws-errors.js";
import { type S3ConnectionOptions, s3Connection } from "./s3-client.js";
import { checkBucket } from "./validate.js";

/** The options of `s3List` and `s3ListPages`. */
export interface S3ListOptions extends S3ConnectionOptions {
  /** The bucket. */
  bucket: string;
  /** Only keys starting with this. */
  prefix?: string;
  /** Group keys sharing a prefix up to this (usually `/`) into `prefixes`, like folders. */
  delimiter?: string;
  /** Keys per request (1 to 1000). Default 1000. */
  pageSize?: number;
  /** Stop after this many objects (and prefixes). Default: all. */
  limit?: number;
  /** An abort signal (tasks pass their own). */
  signal?: AbortSignal;
}

/** One object in a listing. */
export interface S3ObjectInfo {
  /** The bucket. */
  bucket: string;
  /** The object key. */
  key: string;
  /** Size in bytes. */
  size: number;
  /** The ETag, without quotes. */
  etag: string | undefined;
  /** When it was last written. */
  lastModified: Date | undefined;
}

/** One page of a listing. */
export interface S3ListPage {
  objects: S3ObjectInfo[];
  /** Common prefixes (with a `delimiter`). */
  prefixes: string[];
  /** Whether S3 holds more entries after this page. */
  more: boolean;
}

/** What `s3List` returns. */
export interface S3ListResult {
  objects: S3ObjectInfo[];
  prefixes: string[];
  /** True when `limit` cut the listing short. */
  truncated: boolean;
}

function checkCount(value: number | undefined, option: string, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new ValidationError(option, `must be a whole number from 1 to ${max}`);
  }
  return value;
}

/**
 * Lists a bucket page by page: an async iterator over every page (following continuation tokens), stopping at
 * `limit` entries when given.
 * @example
 * for await (const page of s3ListPages({ bucket: "logs", prefix: "2026/" })) {
 *   for (const object of page.objects) console.log(object.key, object.size);
 * }
 */
export async function* s3ListPages(options: S3ListOptions): AsyncGenerator<S3ListPage, void, undefined> {
  const bucket = checkBucket(options.bucket);
  const pageSize = checkCount(options.pageSize, "pageSize", 1000) ?? 1000;
  const limit = checkCount(options.limit, "limit", Number.MAX_SAFE_INTEGER);
  for (const option of ["prefix", "delimiter"] as const) {
    const v = options[option];
    if (v !== undefined && typeof v !== "string") throw new ValidationError(option, "must be a string");
  }
  if (options.delimiter === "")
    throw new ValidationError("delimiter", "must not be empty (leave it out instead)");
  const { client, source, sdk } = await s3Connection(options, [
    { actions: ["s3:ListBucket"], bucket, prefix: options.prefix ?? "" },
  ]);
  const signal = options.signal ?? taskContext()?.signal;
  let token: string | undefined;
  let left = limit ?? Number.POSITIVE_INFINITY;
  do {
    let out: ListObjectsV2CommandOutput;
    try {
      out = await client.send(
        new sdk.ListObjectsV2Command({
          Bucket: bucket,
          MaxKeys: Math.min(pageSize, left),
          ...(options.prefix ? { Prefix: options.prefix } : {}),
          ...(options.delimiter ? { Delimiter: options.delimiter } : {}),
          ...(token ? { ContinuationToken: token } : {}),
        }),
        signal ? { abortSignal: signal } : {},
      );
    } catch (error) {
      throw toAwsError(error, "S3", source, `listing s3://${bucket}/${options.prefix ?? ""}`, signal);
    }
    const page: S3ListPage = {
      objects: (out.Contents ?? []).map((o) => ({
        bucket,
        key: o.Key ?? "",
        size: o.Size ?? 0,
        etag: o.ETag?.replace(/"/g, ""),
        lastModified: o.LastModified,
      })),
      prefixes: (out.CommonPrefixes ?? []).map((p) => p.Prefix ?? ""),
      more: Boolean(out.IsTruncated && out.NextContinuationToken),
    };
    left -= page.objects.length + page.prefixes.length;
    token = page.more ? out.NextContinuationToken : undefined;
    yield page;
  } while (token && left > 0);
}

/**
 * Lists a bucket (all pages, or up to `limit` entries) and returns the objects and common prefixes.
 * @example
 * const { objects, prefixes } = await s3List({ bucket: "logs", prefix: "2026/", delimiter: "/" });
 */
export const s3List = task({ name: "s3List" }, async (options: S3ListOptions): Promise<S3ListResult> => {
  const result: S3ListResult = { objects: [], prefixes: [], truncated: false };
  for await (const page of s3ListPages(options)) {
    result.objects.push(...page.objects);
    result.prefixes.push(...page.prefixes);
    result.truncated = page.more;
  }
  return result;
});
