import { ServiceError, ValidationError } from "@tributary/auth";
import { task, taskContext } from "@tributary/flow";
import { toAwsError } from "./aws-errors.js";
import { type S3ConnectionOptions, s3Connection } from "./s3-client.js";
import type { S3Scope } from "./s3-scope.js";
import { checkBucket, checkKey } from "./validate.js";

/** The options of `s3Delete`. Give `key` or `keys`. */
export interface S3DeleteOptions extends S3ConnectionOptions {
  /** The bucket. */
  bucket: string;
  /** One key. */
  key?: string;
  /** Many keys: deleted in batches of 1000 (`DeleteObjects`). */
  keys?: readonly string[];
  /** Fail with `NOT_FOUND`, deleting nothing, when an object does not exist. Default false: a missing object is fine. */
  mustExist?: boolean;
}

/** What `s3Delete` returns. */
export interface S3DeleteResult {
  /** The keys that no longer exist (with `mustExist` unset, a key that never existed counts). */
  deleted: string[];
}

/** S3's limit of keys per `DeleteObjects` request. */
export const S3_DELETE_BATCH = 1000;

/** STS refuses a session policy longer than 2,048 characters: keys are listed one by one while they fit in this. */
const POLICY_KEYS_BUDGET = 1700;

/**
 * What a delete touches: `s3:DeleteObject` (and, for `mustExist`, the `s3:GetObject` that `HeadObject` needs) on its
 * keys, listed one by one when they fit in a session policy, else on the longest prefix they share.
 */
function deleteScope(bucket: string, keys: readonly string[], mustExist: boolean | undefined): S3Scope {
  const actions = mustExist ? ["s3:DeleteObject", "s3:GetObject"] : ["s3:DeleteObject"];
  if (keys.length === 1) return { actions, bucket, key: keys[0] };
  let size = 0;
  for (const key of keys) size += JSON.stringify(key).length + bucket.length + 16;
  if (size <= POLICY_KEYS_BUDGET) return { actions, bucket, keys };
  let prefix = keys[0] as string;
  for (const key of keys) {
    let i = 0;
    while (i < prefix.length && i < key.length && prefix.charCodeAt(i) === key.charCodeAt(i)) i++;
    prefix = prefix.slice(0, i);
  }
  return { actions, bucket, prefix };
}

/**
 * Deletes one object, or many in batches of 1000. Idempotent: deleting a missing object succeeds, unless
 * `mustExist` is set. A key S3 refused to delete fails the task with a `ServiceError` listing the keys and reasons.
 * @example
 * await s3Delete({ bucket: "tmp", keys: ["a.csv", "b.csv"] });
 */
export const s3Delete = task(
  { name: "s3Delete" },
  async (options: S3DeleteOptions): Promise<S3DeleteResult> => {
    const bucket = checkBucket(options.bucket);
    if ((options.key === undefined) === (options.keys === undefined)) {
      throw new ValidationError("key/keys", "give exactly one of `key` or `keys`");
    }
    if (options.keys !== undefined && !Array.isArray(options.keys)) {
      throw new ValidationError("keys", "must be an array of object keys");
    }
    const keys =
      options.key !== undefined
        ? [checkKey(options.key)]
        : (options.keys as string[]).map((k, i) => checkKey(k, `keys[${i}]`));
    if (options.mustExist !== undefined && typeof options.mustExist !== "boolean") {
      throw new ValidationError("mustExist", "must be true or false");
    }
    const { client, source, sdk } = await s3Connection(options, [
      deleteScope(bucket, keys, options.mustExist),
    ]);
    const signal = taskContext()?.signal;
    const send = signal ? { abortSignal: signal } : {};
    if (options.mustExist) {
      const missing: string[] = [];
      for (const key of keys) {
        try {
          await client.send(new sdk.HeadObjectCommand({ Bucket: bucket, Key: key }), send);
        } catch (error) {
          if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode !== 404) {
            throw toAwsError(error, "S3", source, `checking s3://${bucket}/${key}`, signal);
          }
          missing.push(key);
        }
      }
      if (missing.length > 0) {
        throw new ServiceError(
          "NOT_FOUND",
          "S3",
          `nothing deleted: ${missing.length} of ${keys.length} objects do not exist in s3://${bucket} (${missing
            .slice(0, 10)
            .join(", ")}${missing.length > 10 ? ", …" : ""})`,
          404,
          { reason: "NoSuchKey" },
        );
      }
    }
    if (options.key !== undefined) {
      try {
        await client.send(new sdk.DeleteObjectCommand({ Bucket: bucket, Key: options.key }), send);
      } catch (error) {
        throw toAwsError(error, "S3", source, `deleting s3://${bucket}/${options.key}`, signal);
      }
      return { deleted: [options.key] };
    }
    const deleted: string[] = [];
    const failed: { key: string; code: string }[] = [];
    for (let i = 0; i < keys.length; i += S3_DELETE_BATCH) {
      const batch = keys.slice(i, i + S3_DELETE_BATCH);
      try {
        const out = await client.send(
          new sdk.DeleteObjectsCommand({
            Bucket: bucket,
            Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true },
          }),
          send,
        );
        const errors = out.Errors ?? [];
        for (const e of errors) failed.push({ key: e.Key ?? "", code: e.Code ?? "Error" });
        const bad = new Set(errors.map((e) => e.Key));
        for (const k of batch) if (!bad.has(k)) deleted.push(k);
      } catch (error) {
        throw toAwsError(error, "S3", source, `deleting ${batch.length} objects from s3://${bucket}`, signal);
      }
    }
    if (failed.length > 0) {
      throw new ServiceError(
        "DELETE_FAILED",
        "S3",
        `could not delete ${failed.length} of ${keys.length} objects from s3://${bucket}: ${failed
          .slice(0, 10)
          .map((f) => `${f.key} (${f.code})`)
          .join(", ")}${failed.length > 10 ? ", …" : ""}`,
        undefined,
        { reason: failed[0]?.code },
      );
    }
    return { deleted };
  },
);
