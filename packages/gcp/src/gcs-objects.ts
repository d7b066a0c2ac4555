import type { storage_v1 } from "@googleapis/storage";
import { ServiceError, ValidationError } from "@tributary/auth";
import { type CopyFrom, type CopyTo, checkCopyEnds } from "@tributary/integration-kit";
import { callGoogle, type GoogleCallContext } from "./gcp-errors.js";
import { type GcsClient, type GcsClientOptions, gcsClient } from "./gcs-client.js";
import { checkBucket, checkObjectName, gsUri } from "./gcs-names.js";
import { type GcsObjectInfo, toObjectInfo } from "./gcs-object-info.js";
import type { GcsScope } from "./gcs-scope.js";
import type { GcsCallContext } from "./gcs-upload.js";

/** Options shared by the object tasks. */
export interface GcsObjectOptions extends GcsClientOptions {
  /** The bucket name (without `gs://`). */
  bucket: string;
  /** The object's key. */
  key: string;
  /** Retries for throttling, server errors and dropped connections. Default 3. */
  retries?: number | undefined;
}

/** The options of `gcsList` and `gcsListPages`. */
export interface GcsListOptions extends GcsClientOptions {
  /** The bucket name (without `gs://`). */
  bucket: string;
  /** Only names starting with this. */
  prefix?: string | undefined;
  /** Group names by this separator after `prefix` (usually `/`): grouped names come back as `prefixes`. */
  delimiter?: string | undefined;
  /** Objects per page (at most 1000). */
  pageSize?: number | undefined;
  /** Stop after this many objects in all. Default: all of them. */
  limit?: number | undefined;
  /** Retries for throttling, server errors and dropped connections. Default 3. */
  retries?: number | undefined;
}

/** One page of a listing. */
export interface GcsListPage {
  /** Objects on this page. */
  objects: GcsObjectInfo[];
  /** "Folders" on this page, when `delimiter` is given. */
  prefixes: string[];
  /** Whether Cloud Storage holds more entries after this page. */
  more: boolean;
}

/** What `gcsList` returns. */
export interface GcsListResult {
  /** The objects, in name order. */
  objects: GcsObjectInfo[];
  /** The "folders" found, when `delimiter` is given. */
  prefixes: string[];
  /** True when `limit` stopped the listing before its end. */
  truncated: boolean;
}

/** The options of `gcsCopy`. */
export interface GcsCopyOptions extends GcsClientOptions {
  /** The object to copy. */
  from: CopyFrom;
  /** Where to copy it: another bucket, another key, or both. */
  to: CopyTo;
  /** Retries for throttling, server errors and dropped connections. Default 3. */
  retries?: number | undefined;
}

/** The options of `gcsDelete`. Give `key` or `keys`. */
export interface GcsDeleteOptions extends GcsClientOptions {
  /** The bucket name (without `gs://`). */
  bucket: string;
  /** One key. */
  key?: string | undefined;
  /** Many keys, deleted one after the other. */
  keys?: readonly string[] | undefined;
  /** Fail with `NOT_FOUND`, deleting nothing, when an object does not exist. Default false: a missing object is fine. */
  mustExist?: boolean | undefined;
  /** Retries for throttling, server errors and dropped connections. Default 3. */
  retries?: number | undefined;
}

/** What `gcsDelete` returns. */
export interface GcsDeleteResult {
  /** The keys that no longer exist (with `mustExist` unset, a key that never existed counts). */
  deleted: string[];
}

function checkRetries(retries: unknown): number {
  const value = retries ?? 3;
  if (!Number.isInteger(value) || (value as number) < 0)
    throw new ValidationError("retries", "must be a whole number (0 or more)");
  return value as number;
}

function checkObjectOptions(options: GcsObjectOptions): number {
  if (!options || typeof options !== "object") throw new ValidationError("options", "give { bucket, key }");
  checkBucket(options.bucket);
  checkObjectName(options.key);
  return checkRetries(options.retries);
}

function contextFor(client: GcsClient, resource: string): GoogleCallContext {
  return { service: "Cloud Storage", source: client.auth.source, resource, endpoint: client.endpoint };
}

function optionsFor(signal: AbortSignal | undefined): { retry: false; signal?: AbortSignal } {
  return { retry: false, ...(signal ? { signal } : {}) };
}

/**
 * Lists a bucket page by page, as an async iterator: only one page is held at a time.
 * @example
 * for await (const page of gcsListPages({ bucket: "reports", prefix: "2024/", delimiter: "/" })) {
 *   for (const o of page.objects) console.log(o.key, o.size);
 * }
 */
export async function* gcsListPages(
  options: GcsListOptions,
  context: GcsCallContext = {},
): AsyncGenerator<GcsListPage> {
  if (!options || typeof options !== "object") throw new ValidationError("options", "give { bucket }");
  const bucket = checkBucket(options.bucket);
  const retries = checkRetries(options.retries);
  const limit = options.limit;
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1))
    throw new ValidationError("limit", "must be a whole number of 1 or more");
  let left = limit ?? Number.POSITIVE_INFINITY;
  if (options.prefix !== undefined && typeof options.prefix !== "string")
    throw new ValidationError("prefix", "must be a string");
  if (
    options.delimiter !== undefined &&
    (typeof options.delimiter !== "string" || options.delimiter === "")
  ) {
    throw new ValidationError("delimiter", "must be a non-empty string such as `/`");
  }
  if (
    options.pageSize !== undefined &&
    (!Number.isInteger(options.pageSize) || options.pageSize < 1 || options.pageSize > 1000)
  ) {
    throw new ValidationError("pageSize", "must be a whole number from 1 to 1000");
  }
  const client = await gcsClient(options, { bucket, prefix: options.prefix ?? "", access: "read" });
  const ctx = contextFor(client, gsUri(bucket, options.prefix ? `${options.prefix}*` : undefined));
  let pageToken: string | undefined;
  do {
    const token = pageToken;
    const res = await callGoogle(
      client.auth,
      ctx,
      () =>
        client.storage.objects.list(
          {
            bucket,
            ...(options.prefix ? { prefix: options.prefix } : {}),
            ...(options.delimiter ? { delimiter: options.delimiter } : {}),
            ...(options.pageSize ? { maxResults: options.pageSize } : {}),
            ...(token ? { pageToken: token } : {}),
          },
          optionsFor(context.signal),
        ),
      { retries, signal: context.signal },
    );
    const data: storage_v1.Schema$Objects = res.data;
    const items = data.items ?? [];
    const objects = items.slice(0, left).map((o) => toObjectInfo(o, { bucket, key: o.name ?? "" }));
    left -= objects.length;
    yield {
      objects,
      prefixes: data.prefixes ?? [],
      more: Boolean(data.nextPageToken) || objects.length < items.length,
    };
    pageToken = left > 0 ? (data.nextPageToken ?? undefined) : undefined;
  } while (pageToken);
}

/**
 * Lists objects (and, with `delimiter`, "folders") in a bucket, following every page up to `limit`.
 * @example
 * const { objects, prefixes } = await listObjects({ bucket: "reports", prefix: "2024/", delimiter: "/" });
 */
export async function listObjects(
  options: GcsListOptions,
  context: GcsCallContext = {},
): Promise<GcsListResult> {
  const max = options?.limit;
  if (max !== undefined && (!Number.isInteger(max) || max < 1))
    throw new ValidationError("limit", "must be a whole number of 1 or more");
  const objects: GcsObjectInfo[] = [];
  const prefixes: string[] = [];
  for await (const page of gcsListPages(options, context)) {
    objects.push(...page.objects);
    prefixes.push(...page.prefixes);
    if (max !== undefined && objects.length >= max) {
      return {
        objects: objects.slice(0, max),
        prefixes,
        truncated: objects.length > max || page.more,
      };
    }
  }
  return { objects, prefixes, truncated: false };
}

/**
 * Runs one call on a single object: `true` when it succeeded; `false` when the object does not exist (404) and
 * `allowMissing` is set; other failures are errors.
 */
async function onObject(
  options: GcsObjectOptions,
  context: GcsCallContext,
  allowMissing: boolean,
  access: GcsScope["access"],
  call: (
    client: Awaited<ReturnType<typeof gcsClient>>,
    params: { bucket: string; object: string },
  ) => Promise<unknown>,
): Promise<boolean> {
  const retries = checkObjectOptions(options);
  const client = await gcsClient(options, { bucket: options.bucket, object: options.key, access });
  try {
    await callGoogle(
      client.auth,
      contextFor(client, gsUri(options.bucket, options.key)),
      () => call(client, { bucket: options.bucket, object: options.key }),
      { retries, signal: context.signal },
    );
    return true;
  } catch (error) {
    if (allowMissing && ServiceError.isInstance(error) && error.status === 404) return false;
    throw error;
  }
}

/** Tells whether an object exists (a 404 is `false`; other failures are errors). */
export function objectExists(options: GcsObjectOptions, context: GcsCallContext = {}): Promise<boolean> {
  return onObject(options, context, true, "read", (client, params) =>
    client.storage.objects.get(params, optionsFor(context.signal)),
  );
}

/**
 * Deletes one object or many, idempotently: a missing object counts as deleted, unless `mustExist` is set, when
 * every object is looked up first and a missing one fails the call with `NOT_FOUND` before anything is deleted.
 */
export async function deleteObjects(
  options: GcsDeleteOptions,
  context: GcsCallContext = {},
): Promise<GcsDeleteResult> {
  if (!options || typeof options !== "object") throw new ValidationError("options", "give { bucket, key }");
  if ((options.key === undefined) === (options.keys === undefined)) {
    throw new ValidationError("key/keys", "give exactly one of `key` or `keys`");
  }
  if (options.keys !== undefined && !Array.isArray(options.keys)) {
    throw new ValidationError("keys", "must be an array of object keys");
  }
  if (options.mustExist !== undefined && typeof options.mustExist !== "boolean") {
    throw new ValidationError("mustExist", "must be true or false");
  }
  const bucket = checkBucket(options.bucket);
  const keys =
    options.key !== undefined
      ? [checkObjectName(options.key)]
      : (options.keys as string[]).map((k, i) => checkObjectName(k, `keys[${i}]`));
  const { key: _key, keys: _keys, mustExist, ...rest } = options;
  if (mustExist) {
    const missing: string[] = [];
    for (const key of keys) if (!(await objectExists({ ...rest, bucket, key }, context))) missing.push(key);
    if (missing.length > 0) {
      throw new ServiceError(
        "NOT_FOUND",
        "Cloud Storage",
        `nothing deleted: ${missing.length} of ${keys.length} objects do not exist in ${gsUri(bucket)} (${missing
          .slice(0, 10)
          .join(", ")}${missing.length > 10 ? ", …" : ""})`,
        404,
        { reason: "notFound" },
      );
    }
  }
  for (const key of keys) {
    await onObject({ ...rest, bucket, key }, context, true, "delete", (client, params) =>
      client.storage.objects.delete(params, optionsFor(context.signal)),
    );
  }
  return { deleted: keys };
}

/** Copies an object, within a bucket or across buckets, with the rewrite API (large objects take several calls). */
export async function copyObject(
  options: GcsCopyOptions,
  context: GcsCallContext = {},
): Promise<GcsObjectInfo> {
  const { from, to } = checkCopyEnds(options, checkBucket, checkObjectName);
  const retries = checkRetries(options.retries);
  const client = await gcsClient(options, [
    { bucket: from.bucket, object: from.key, access: "read" },
    { bucket: to.bucket, object: to.key, access: "write" },
  ]);
  const ctx = contextFor(client, `${gsUri(from.bucket, from.key)} → ${gsUri(to.bucket, to.key)}`);
  let rewriteToken: string | undefined;
  for (;;) {
    const token = rewriteToken;
    const res = await callGoogle(
      client.auth,
      ctx,
      () =>
        client.storage.objects.rewrite(
          {
            sourceBucket: from.bucket,
            sourceObject: from.key,
            destinationBucket: to.bucket,
            destinationObject: to.key,
            ...(token ? { rewriteToken: token } : {}),
          },
          optionsFor(context.signal),
        ),
      { retries, signal: context.signal },
    );
    if (res.data.done && res.data.resource) {
      return toObjectInfo(res.data.resource, to);
    }
    rewriteToken = res.data.rewriteToken ?? undefined;
    if (!rewriteToken) {
      throw new ServiceError(
        "BAD_RESPONSE",
        "Cloud Storage",
        `${ctx.resource}: rewrite neither finished nor gave a token`,
      );
    }
  }
}
