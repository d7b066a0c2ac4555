export {
  DEFAULT_GCP_SCOPES,
  type GcpAuth,
  type GcpAuthClientLike,
  type GcpAuthOptions,
  type GcpAuthorizedUser,
  type GcpCredentialOptions,
  type GcpServiceAccountKey,
  gcpAuth,
} from "./gcp-auth.js";
export { GCS_DEFAULT_ENDPOINT, type GcsClient, type GcsClientOptions, gcsClient } from "./gcs-client.js";
export {
  downloadObject,
  type GcsDownloadedFile,
  type GcsDownloadOptions,
  type GcsDownloadResult,
} from "./gcs-download.js";
export type { GcsObjectInfo } from "./gcs-object-info.js";
export {
  copyObject,
  deleteObject,
  type GcsCopyOptions,
  type GcsDeleteOptions,
  type GcsListOptions,
  type GcsListPage,
  type GcsListResult,
  type GcsObjectOptions,
  gcsListPages,
  listObjects,
  objectExists,
} from "./gcs-objects.js";
export { type GcsStorageKind, type GcsStorageOptions, gcsStorage, gcsStorageKind } from "./gcs-storage.js";
export {
  type GcsDownloadTask,
  gcsCopy,
  gcsDelete,
  gcsDownload,
  gcsExists,
  gcsList,
  gcsUpload,
} from "./gcs-tasks.js";
export { type GcsCallContext, type GcsProgress, type GcsUploadOptions, uploadObject } from "./gcs-upload.js";
export {
  type GcpSecretManagerBackendOptions,
  gcpSecretManagerBackend,
  SECRET_MANAGER_DEFAULT_ENDPOINT,
} from "./secret-manager-backend.js";
