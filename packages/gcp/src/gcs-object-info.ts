import type { storage_v1 } from "@googleapis/storage";

/** What Tributary returns about a Cloud Storage object: the keys of docs/conventions.md, then Cloud Storage's own. */
export interface GcsObjectInfo {
  /** The bucket. */
  bucket: string;
  /** The object's key (Cloud Storage calls it the object name). */
  key: string;
  /** Size in bytes. */
  size: number;
  /** The object's ETag. */
  etag: string | undefined;
  /** The object's content type. */
  contentType: string | undefined;
  /** When it was last written. */
  lastModified: Date | undefined;
  /** The generation (a version number, as a string: it exceeds 2^53). */
  generation: string | undefined;
  /** Base64 MD5 of the content, when Cloud Storage computed one. */
  md5Hash: string | undefined;
  /** Custom metadata. */
  metadata: Record<string, string> | undefined;
}

/** Maps a `storage#object` resource onto `GcsObjectInfo`. */
export function toObjectInfo(
  resource: storage_v1.Schema$Object,
  fallback: { bucket: string; key: string },
): GcsObjectInfo {
  return {
    bucket: resource.bucket ?? fallback.bucket,
    key: resource.name ?? fallback.key,
    size: Number(resource.size ?? 0),
    etag: resource.etag ?? undefined,
    contentType: resource.contentType ?? undefined,
    lastModified: resource.updated ? new Date(resource.updated) : undefined,
    generation: resource.generation ?? undefined,
    md5Hash: resource.md5Hash ?? undefined,
    metadata: (resource.metadata as Record<string, string> | null | undefined) ?? undefined,
  };
}
