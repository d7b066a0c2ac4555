import type { storage_v1 } from "@googleapis/storage";
import { ServiceError, ValidationError } from "@tributary/auth";
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
  /** The object name. */
  name: string;
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
  /** Stop after this many objects in all (`gcsList` only). Default: all of them. */
  maxResults?: number | undefined;
  /** Retries for throttling, server errors and dropped connections. Default 3. */
  retries?: number | undefined;
}

/** One page of a listing. */
export interface GcsListPage {
  /** Objects on this page. */
  objects: GcsObjectInfo[];
  /** "Folders" on this page, when `delimiter` is given. */
  prefixes: string[];
  /** The token of the next page; `undefined` on the last page. */
  nextPageToken: string | undefined;
}

/** What `gcsList` returns. */
export interface GcsListResult {
  /** The objects, in name order. */
  objects: GcsObjectInfo[];
  /** The "folders" found, when `delimiter` is given. */
  prefixes: string[];
  /** True when `maxResults` stopped the listing before its end. */
  truncated: boolean;
}

/** The options of `gcsCopy`. */
export interface GcsCopyOptions extends GcsObjectOptions {
  /** The destination bucket. Default: the source bucket. */
  destinationBucket?: string | undefined;
  /** The destination object name. Default: the source name. */
  destinationName?: string | undefined;
}

/** The options of `gcsDelete`. */
export interface GcsDeleteOptions extends GcsObjectOptions {
  /** Treat a missing object as deleted instead of an error. Default false. */
  ignoreNotFound?: boolean | undefined;
}

function checkRetries(retries: unknown): number {
  const value = retries ?? 3;
  if (!Number.isInteger(value) || (value as number) < 0)
    throw new ValidationError("retries", "must be a whole number (0 or more)");
  return value as number;
}

function checkObjectOptions(options: GcsObjectOptions): number {
  if (!options || typeof options !== "object") throw new ValidationError("options", "give { bucket, name }");
  checkBucket(options.bucket);
  checkObjectName(options.name);
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
 *   for (const o of page.objects) console.log(o.name, o.size);
 * }
 */
export async function* gcsListPages(
  options: GcsListOptions,
  context: GcsCallContext = {},
): AsyncGenerator<GcsListPage> {
  if (!options || typeof options !== "object") throw new ValidationError("options", "give { bucket }");
  const bucket = checkBucket(options.bucket);
  const retries = checkRetries(options.retries);
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
    yield {
      objects: (data.items ?? []).map((o) => toObjectInfo(o, { bucket, name: o.name ?? "" })),
      prefixes: data.prefixes ?? [],
      nextPageToken: data.nextPageToken ?? undefined,
    };
    pageToken = data.nextPageToken ?? undefined;
  } while (pageToken);
}

/**
 * Lists objects (and, with `delimiter`, "folders") in a bucket, following every page up to `maxResults`.
 * @example
 * const { objects, prefixes } = await listObjects({ bucket: "reports", prefix: "2024/", delimiter: "/" });
 */
export async function listObjects(
  options: GcsListOptions,
  context: GcsCallContext = {},
): Promise<GcsListResult> {
  const max = options?.maxResults;
  if (max !== undefined && (!Number.isInteger(max) || max < 1))
    throw new ValidationError("maxResults", "must be a whole number of 1 or more");
  const objects: GcsObjectInfo[] = [];
  const prefixes: string[] = [];
  for await (const page of gcsListPages(options, context)) {
    objects.push(...page.objects);
    prefixes.push(...page.prefixes);
    if (max !== undefined && objects.length >= max) {
      return {
        objects: objects.slice(0, max),
        prefixes,
        truncated: objects.length > max || page.nextPageToken !== undefined,
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
  const client = await gcsClient(options, { bucket: options.bucket, object: options.name, access });
  try {
    await callGoogle(
      client.auth,
      contextFor(client, gsUri(options.bucket, options.name)),
      () => call(client, { bucket: options.bucket, object: options.name }),
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

/** Deletes an object. Returns `{ deleted: false }` for a missing object when `ignoreNotFound` is set. */
export async function deleteObject(
  options: GcsDeleteOptions,
  context: GcsCallContext = {},
): Promise<{ deleted: boolean }> {
  const deleted = await onObject(
    options,
    context,
    options.ignoreNotFound === true,
    "delete",
    (client, params) => client.storage.objects.delete(params, optionsFor(context.signal)),
  );
  return { deleted };
}

/** Copies an object, within a bucket or across buckets, with the rewrite API (large objects take several calls). */
export async function copyObject(
  options: GcsCopyOptions,
  context: GcsCallContext = {},
): Promise<GcsObjectInfo> {
  const retries = checkObjectOptions(options);
  const destinationBucket = checkBucket(options.destinationBucket ?? options.bucket, "destinationBucket");
  const destinationName = checkObjectName(options.destinationName ?? options.name, "destinationName");
  if (destinationBucket === options.bucket && destinationName === options.name) {
    throw new ValidationError(
      "destinationName",
      "the destination is the source; give destinationBucket or destinationName",
    );
  }
  const client = await gcsClient(options, [
    { bucket: options.bucket, object: options.name, access: "read" },
    { bucket: destinationBucket, object: destinationName, access: "write" },
  ]);
  const ctx = contextFor(
    client,
    `${gsUri(options.bucket, options.name)} → ${gsUri(destinationBucket, destinationName)}`,
  );
  let rewriteToken: string | undefined;
  for (;;) {
    const token = rewriteToken;
    const res = await callGoogle(
      client.auth,
      ctx,
      () =>
        client.storage.objects.rewrite(
          {
            sourceBucket: options.bucket,
            sourceObject: options.name,
            destinationBucket,
            destinationObject: destinationName,
            ...(token ? { rewriteToken: token } : {}),
          },
          optionsFor(context.signal),
        ),
      { retries, signal: context.signal },
    );
    if (res.data.done && res.data.resource) {
      return toObjectInfo(res.data.resource, { bucket: destinationBucket, name: destinationName });
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
