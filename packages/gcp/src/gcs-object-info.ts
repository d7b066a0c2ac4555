import type { storage_v1 } from "@googleapis/storage";

/** What Tributary returns about a Cloud Storage object. */
export interface GcsObjectInfo {
  /** The bucket. */
  bucket: string;
  /** The object name. */
  name: string;
  /** Size in bytes. */
  size: number;
  /** The object's content type. */
  contentType: string | undefined;
  /** The generation (a version number, as a string: it exceeds 2^53). */
  generation: string | undefined;
  /** Base64 MD5 of the content, when Cloud Storage computed one. */
  md5Hash: string | undefined;
  /** Last update time (ISO 8601). */
  updated: string | undefined;
  /** Custom metadata. */
  metadata: Record<string, string> | undefined;
}

/** Maps a `storage#object` resource onto `GcsObjectInfo`. */
export function toObjectInfo(
  resource: storage_v1.Schema$Object,
  fallback: { bucket: string; name: string },
): GcsObjectInfo {
  return {
    bucket: resource.bucket ?? fallback.bucket,
    name: resource.name ?? fallback.name,
    size: Number(resource.size ?? 0),
    contentType: resource.contentType ?? undefined,
    generation: resource.generation ?? undefined,
    md5Hash: resource.md5Hash ?? undefined,
    updated: resource.updated ?? undefined,
    metadata: (resource.metadata as Record<string, string> | null | undefined) ?? undefined,
  };
}
