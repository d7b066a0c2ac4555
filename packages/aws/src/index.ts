export {
  CredentialRejectedError,
  InvalidSecretError,
  MissingCredentialsError,
  SecretBackendError,
  ServiceError,
  TributaryError,
  ValidationError,
} from "@tributary/auth";
export type { AwsBackendOptions } from "./aws-backend.js";
export type { AwsClientOptions, AwsSdkClientConfig } from "./aws-client.js";
export {
  type AwsCredentialOptions,
  type AwsCredentialProvider,
  type AwsCredentialsInput,
  awsCredentials,
  ROLE_REFRESH_MARGIN_MS,
  type SdkCredentialProvider,
  type SdkCredentials,
} from "./aws-credentials.js";
export { CREDENTIAL_ERROR_CODES } from "./aws-errors.js";
export { type AwsIdentityOptions, awsIdentity } from "./aws-identity.js";
export { LAMBDA_ENDPOINT_ENV, type LambdaConnectionOptions } from "./lambda-client.js";
export {
  LAMBDA_PAYLOAD_LIMITS,
  type LambdaInvokeOptions,
  type LambdaInvokeResult,
  lambdaInvoke,
} from "./lambda-invoke.js";
export {
  type LambdaFunctionInfo,
  type LambdaListOptions,
  type LambdaListResult,
  lambdaList,
} from "./lambda-list.js";
export { S3_ENDPOINT_ENV, type S3ClientOptions, type S3ConnectionOptions, s3Client } from "./s3-client.js";
export { type S3CopyOptions, type S3CopyResult, s3Copy } from "./s3-copy.js";
export { S3_DELETE_BATCH, type S3DeleteOptions, type S3DeleteResult, s3Delete } from "./s3-delete.js";
export {
  type S3DownloadBufferResult,
  type S3DownloadFileResult,
  type S3DownloadInfo,
  type S3DownloadOptions,
  type S3DownloadResult,
  type S3DownloadStreamResult,
  type S3DownloadTask,
  s3Download,
} from "./s3-download.js";
export { type S3ExistsOptions, s3Exists } from "./s3-exists.js";
export {
  type S3ListOptions,
  type S3ListPage,
  type S3ListResult,
  type S3ObjectInfo,
  s3List,
  s3ListPages,
} from "./s3-list.js";
export { type S3StorageKind, type S3StorageOptions, s3Storage, s3StorageKind } from "./s3-storage.js";
export { type S3UploadOptions, type S3UploadProgress, type S3UploadResult, s3Upload } from "./s3-upload.js";
export { type AwsSecretsManagerBackendOptions, awsSecretsManagerBackend } from "./secrets-manager-backend.js";
export { SFN_ENDPOINT_ENV, type SfnConnectionOptions } from "./sfn-client.js";
export {
  SFN_INPUT_LIMIT,
  type SfnDescribeExecutionOptions,
  type SfnExecution,
  type SfnStartExecutionOptions,
  sfnDescribeExecution,
  sfnStartExecution,
} from "./sfn-execution.js";
export { type SsmParameterStoreBackendOptions, ssmParameterStoreBackend } from "./ssm-backend.js";
export { SSM_ENDPOINT_ENV, type SsmConnectionOptions } from "./ssm-client.js";
export {
  type SsmGetParametersOptions,
  type SsmGetParametersResult,
  type SsmParameter,
  ssmGetParameters,
} from "./ssm-get-parameters.js";
