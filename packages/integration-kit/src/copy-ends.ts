import { ValidationError } from "@tributary/auth";

/** The object a copy reads, in every storage integration. */
export interface CopyFrom {
  /** The bucket. */
  bucket: string;
  /** The object key. */
  key: string;
}

/** Where a copy writes: each part defaults to the source's. */
export interface CopyTo {
  /** The bucket. Default: the source bucket. */
  bucket?: string | undefined;
  /** The object key. Default: the source key. */
  key?: string | undefined;
}

/**
 * Checks the `from` and `to` of a copy before any request and fills `to` from `from`: both must be objects, and the
 * destination may not be the source unless `sameObjectAllowed` (a copy that only replaces metadata).
 * @example
 * const { from, to } = checkCopyEnds(options, (b, o) => checkBucket(b, o), (k, o) => checkKey(k, o));
 */
export function checkCopyEnds(
  options: { from: CopyFrom; to: CopyTo },
  checkBucket: (bucket: unknown, option: string) => string,
  checkKey: (key: unknown, option: string) => string,
  sameObjectAllowed = false,
): { from: { bucket: string; key: string }; to: { bucket: string; key: string } } {
  if (!options || typeof options !== "object") throw new ValidationError("options", "give { from, to }");
  for (const end of ["from", "to"] as const) {
    const value = options[end];
    if (!value || typeof value !== "object") {
      throw new ValidationError(end, 'must be an object such as { bucket: "reports", key: "a.csv" }');
    }
  }
  const from = {
    bucket: checkBucket(options.from.bucket, "from.bucket"),
    key: checkKey(options.from.key, "from.key"),
  };
  const to = {
    bucket: checkBucket(options.to.bucket ?? from.bucket, "to.bucket"),
    key: checkKey(options.to.key ?? from.key, "to.key"),
  };
  if (!sameObjectAllowed && to.bucket === from.bucket && to.key === from.key) {
    throw new ValidationError("to", "is the source itself; give another `to.bucket` or `to.key`");
  }
  return { from, to };
}
