export {
  CredentialRejectedError,
  InvalidSecretError,
  MissingCredentialsError,
  SecretBackendError,
  ServiceError,
  TributaryError,
  ValidationError,
} from "@tributary/auth";
export {
  BIGQUERY_DEFAULT_ENDPOINT,
  BIGQUERY_ENDPOINT_ENV,
  type BigQueryClient,
  type BigQueryClientOptions,
  bigqueryClient,
} from "./bigquery-client.js";
export type {
  BigQueryInsertFailure,
  BigQueryInsertRowsOptions,
  BigQueryInsertRowsResult,
} from "./bigquery-insert-rows.js";
export type {
  BigQueryExtractOptions,
  BigQueryExtractResult,
  BigQueryFormat,
  BigQueryLoadOptions,
  BigQueryLoadResult,
} from "./bigquery-load.js";
export type {
  BigQueryQueryOptions,
  BigQueryQueryResult,
  BigQueryQueryStreamResult,
  BigQueryWriteDisposition,
} from "./bigquery-query.js";
export type {
  BigQueryCreateTableOptions,
  BigQueryCreateTableResult,
  BigQueryDeleteTableOptions,
  BigQueryDeleteTableResult,
  BigQueryPartitioning,
  BigQueryTableOptions,
} from "./bigquery-tables.js";
export {
  type BigQueryQueryTask,
  bigqueryCreateTable,
  bigqueryDeleteTable,
  bigqueryExtract,
  bigqueryInsertRows,
  bigqueryLoad,
  bigqueryQuery,
  bigqueryTableExists,
} from "./bigquery-tasks.js";
export type { BigQueryField, BigQueryParamType, Int64As } from "./bigquery-values.js";
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
export { gcpIdentity } from "./gcp-identity.js";
export { GCS_DEFAULT_ENDPOINT, type GcsClient, type GcsClientOptions, gcsClient } from "./gcs-client.js";
export type {
  GcsDownloadBufferResult,
  GcsDownloadFileResult,
  GcsDownloadInfo,
  GcsDownloadOptions,
  GcsDownloadResult,
  GcsDownloadStreamResult,
} from "./gcs-download.js";
export type { GcsObjectInfo } from "./gcs-object-info.js";
export {
  type GcsCopyOptions,
  type GcsDeleteOptions,
  type GcsDeleteResult,
  type GcsListOptions,
  type GcsListPage,
  type GcsListResult,
  type GcsObjectOptions,
  gcsListPages,
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
export type { GcsProgress, GcsUploadOptions } from "./gcs-upload.js";
export {
  type GcpSecretManagerBackendOptions,
  gcpSecretManagerBackend,
  SECRET_MANAGER_DEFAULT_ENDPOINT,
} from "./secret-manager-backend.js";
