import { task, taskContext } from "@tributary/flow";
import { toAwsError } from "./aws-errors.js";
import { type S3ConnectionOptions, s3Connection } from "./s3-client.js";
import { checkBucket, checkKey } from "./validate.js";

/** The options of `s3Exists`. */
export interface S3ExistsOptions extends S3ConnectionOptions {
  /** The bucket. */
  bucket: string;
  /** The object key. */
  key: string;
}

/**
 * Tells whether an object exists (`HeadObject`): `false` on 404, an error on anything else (a refused credential
 * is a `CredentialRejectedError`, never `false`).
 * @example
 * if (!(await s3Exists({ bucket: "reports", key: "today.csv" }))) await build();
 */
export const s3Exists = task({ name: "s3Exists" }, async (options: S3ExistsOptions): Promise<boolean> => {
  const bucket = checkBucket(options.bucket);
  const key = checkKey(options.key);
  const { client, source, sdk } = await s3Connection(options, [{ actions: ["s3:GetObject"], bucket, key }]);
  const signal = taskContext()?.signal;
  try {
    await client.send(
      new sdk.HeadObjectCommand({ Bucket: bucket, Key: key }),
      signal ? { abortSignal: signal } : {},
    );
    return true;
  } catch (error) {
    const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
    if (e.$metadata?.httpStatusCode === 404 || e.name === "NotFound" || e.name === "NoSuchKey") return false;
    throw toAwsError(error, "S3", source, `checking s3://${bucket}/${key}`, signal);
  }
});
