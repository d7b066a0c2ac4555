import { ValidationError } from "@tributary/auth";

const BUCKET_RE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** @internal Checks an S3 bucket name the way S3 does, before any request. */
export function checkBucket(bucket: unknown, option = "bucket"): string {
  if (typeof bucket !== "string" || bucket === "") throw new ValidationError(option, "give the bucket name");
  if (!BUCKET_RE.test(bucket) || bucket.includes("..") || /^\d+\.\d+\.\d+\.\d+$/.test(bucket)) {
    throw new ValidationError(
      option,
      `"${bucket}" is not a valid S3 bucket name (3 to 63 lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit)`,
    );
  }
  return bucket;
}

/** @internal Checks an object key: a non-empty string of at most 1024 UTF-8 bytes. */
export function checkKey(key: unknown, option = "key"): string {
  if (typeof key !== "string" || key === "") throw new ValidationError(option, "give a non-empty object key");
  if (Buffer.byteLength(key, "utf8") > 1024)
    throw new ValidationError(option, "an object key is at most 1024 bytes");
  return key;
}
