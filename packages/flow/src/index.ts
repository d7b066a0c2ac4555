export { logOncePerRun, type TaskContext, taskContext } from "./context.js";
export {
  type ParsedDeploymentAddress,
  parseDeploymentAddress,
  parseStorageAddress,
} from "./deployment-address.js";
export {
  BUNDLE_FILE,
  checkBundle,
  createManifest,
  DeploymentError,
  type DeploymentManifest,
  installedVersions,
  MANIFEST_FILE,
  parseManifest,
  sha256Hex,
  type UntrustedReason,
} from "./deployment-manifest.js";
export {
  DEPLOYMENT_PREDICATE_TYPE,
  type DeploymentPredicate,
  DSSE_PAYLOAD_TYPE,
  type DsseEnvelope,
  deploymentStatement,
  generateSigningKey,
  keyIdOf,
  preAuthEncoding,
  readSigningKey,
  readTrustedKey,
  readTrustPolicy,
  SIGNATURE_FILE,
  type SignatureCheck,
  type SigningKeyPair,
  STATEMENT_TYPE,
  signDeployment,
  type TrustedKey,
  type VerifiedSignature,
  verifyDeploymentSignature,
} from "./deployment-signature.js";
export { RunCancelledError, TaskTimeoutError } from "./errors.js";
export { type FileStorageOptions, fileStorage, fileStorageKind } from "./file-storage.js";
export {
  type Flow,
  type FlowContext,
  type FlowHook,
  type FlowOptions,
  flow,
  type RunOptions,
  type TaskFailureHook,
} from "./flow.js";
export { exportedFlows, importBundle, isFlow } from "./import-bundle.js";
export {
  configureLogging,
  createLogger,
  type LogFormat,
  type Logger,
  type LoggerOptions,
  type LogLevel,
  type LogRecord,
  type LogSink,
} from "./logger.js";
export {
  type ObjectStorageKind,
  type ObjectStorageKindSpec,
  type ObjectStorageSpec,
  objectStorage,
  objectStorageKind,
} from "./object-storage.js";
export type {
  HookError,
  ReportedError,
  RunReport,
  RunState,
  TaskRun,
  TaskRunState,
} from "./report.js";
export {
  type ReadManifestOptions,
  type RunDeploymentOptions,
  readDeploymentManifest,
  runDeployment,
  type VerifiedDeployment,
  verifyDeployment,
} from "./run-deployment.js";
export {
  checkDeploymentFile,
  checkDeploymentName,
  checkStorageSecrets,
  type DeploymentFile,
  type FlowStorage,
  joinKey,
  normalizePrefix,
  type StorageCallOptions,
  type StorageKind,
} from "./storage.js";
export { allStorageKinds, STORAGE_SCHEMES, storageKindsFor } from "./storage-kinds.js";
export { isRetryable, type Task, type TaskOptions, task } from "./task.js";
