import { ValidationError } from "@tributary/auth";

const BUCKET = /^[a-z0-9][a-z0-9._-]*[a-z0-9]$/;

/** Checks a bucket name by Cloud Storage's rules, before any request. */
export function checkBucket(bucket: unknown, option = "bucket"): string {
  if (typeof bucket !== "string" || bucket === "") throw new ValidationError(option, "must be a bucket name");
  if (bucket.startsWith("gs://")) {
    throw new ValidationError(
      option,
      `give the bucket name without gs:// (\`${bucket.slice(5).split("/")[0]}\`)`,
    );
  }
  const parts = bucket.split(".");
  if (
    !BUCKET.test(bucket) ||
    bucket.length < 3 ||
    bucket.length > 222 ||
    parts.some((p) => p.length === 0 || p.length > 63) ||
    (!bucket.includes(".") && bucket.length > 63) ||
    /^\d+\.\d+\.\d+\.\d+$/.test(bucket) ||
    bucket.startsWith("goog")
  ) {
    throw new ValidationError(
      option,
      `\`${bucket}\` is not a valid bucket name: 3-63 characters of lower-case letters, digits, -, _ and ., starting and ending with a letter or digit`,
    );
  }
  return bucket;
}

/** Checks an object name by Cloud Storage's rules, before any request. */
export function checkObjectName(name: unknown, option = "key"): string {
  if (typeof name !== "string" || name === "")
    throw new ValidationError(option, "must be a non-empty object name");
  if (Buffer.byteLength(name, "utf8") > 1024)
    throw new ValidationError(option, "must be at most 1024 bytes of UTF-8");
  if (/[\r\n]/.test(name)) throw new ValidationError(option, "must not contain line breaks");
  if (name === "." || name === "..") throw new ValidationError(option, "cannot be `.` or `..`");
  if (name.startsWith(".well-known/acme-challenge/")) {
    throw new ValidationError(option, "cannot start with .well-known/acme-challenge/");
  }
  return name;
}

/** `gs://bucket/name`, for messages. */
export function gsUri(bucket: string, name?: string): string {
  return name === undefined ? `gs://${bucket}` : `gs://${bucket}/${name}`;
}
