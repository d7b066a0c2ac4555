export type { StandardSchemaV1 } from "@standard-schema/spec";
export { configureBackends, configuredBackends, directoryBackend, type SecretBackend } from "./backend.js";
export {
  checkSecretInput,
  headerValueProblem,
  isWellFormedText,
  MAX_SECRET_DEPTH,
  MAX_SECRET_VALUE_BYTES,
  parseSecretJson,
  secretInputIssues,
  secretSizeProblem,
} from "./check-secret-input.js";
export {
  assertSecretValue,
  checkSecretValue,
  formatIssues,
  type SecretValueCheck,
} from "./check-secret-value.js";
export {
  type CacheEntryOptions,
  type ClientCache,
  type ClientCacheOptions,
  type ClientCacheStats,
  clientCache,
  createClientCache,
  credentialFingerprint,
} from "./client-cache.js";
export {
  currentRun,
  type ResolveListener,
  type RunInfo,
  type WithSecretsOptions,
  withSecrets,
} from "./context.js";
export { probeAwsDefaultChain, probeGoogleAdc } from "./default-chain-probe.js";
export {
  type AwsCredentials,
  awsCredentialsSchema,
  defaultSecrets,
  type GcpCredentials,
  type GithubAppCredentials,
  gcpCredentialsSchema,
  githubAccessTokenSchema,
  githubAppCredentialsSchema,
  slackBotTokenSchema,
  slackWebhookUrlSchema,
  tributarySigningKeySchema,
} from "./default-secrets.js";
export { didYouMeanLines, type NamePlace, namesSetNearby, registeredNameLike } from "./did-you-mean.js";
export {
  CredentialRejectedError,
  InvalidSecretError,
  MissingCredentialsError,
  SecretBackendError,
  type SecretFieldIssue,
  SecretNotAllowedError,
  SecretStoreError,
  ServiceError,
  type SourceAttempt,
  TributaryError,
  type TributaryErrorOptions,
  ValidationError,
} from "./errors.js";
export {
  describeIdentity,
  type Identity,
  type IdentityProbe,
  type IdentityProbeOptions,
  identityProbeNames,
  registerIdentityProbe,
} from "./identity.js";
export {
  createMaskerScope,
  isSensitiveKey,
  MaskerScope,
  maskValue,
  type RegisterOptions,
  registerSecretValue,
} from "./mask.js";
export {
  type MaskerStats,
  MIN_MASKED_LENGTH,
  mask,
  maskerStats,
  REDACTED,
  RETAINED_SCOPES,
  resetMasker,
} from "./masked-values.js";
export { closestName, editDistance, looksLike } from "./name-likeness.js";
export { processSingleton } from "./process-singleton.js";
export {
  defineSecret,
  getSecretDefinition,
  listSecrets,
  type SecretRegistry,
  type SecretValue,
} from "./registry.js";
export {
  type DefaultChainResolution,
  findSecret,
  type Resolution,
  type ResolveOptions,
  resolveSecret,
} from "./resolve-secret.js";
export { SanitizedCause, type SanitizedCauseFields, sanitizeCause } from "./sanitize-cause.js";
export { checkSchema, type SchemaCheck } from "./schema.js";
export { Secret } from "./secret.js";
export {
  assertSecretName,
  type DefaultChainProbe,
  type DefineSecretOptions,
  type SecretDefinition,
  type SecretFallback,
  type SecretFields,
  secretDefinition,
} from "./secret-definition.js";
export { looksSecretField, registerSecret, secretStrings } from "./secret-strings.js";
export { secretsTableMarkdown } from "./secrets-table.js";
export {
  describeProvenance,
  describeSource,
  ENV_PREFIX,
  type SecretSource,
  type SecretSourceKind,
} from "./source.js";
export { type LocalStore, type LocalStoreOptions, localStore, storeHome } from "./store.js";
export { STALE_LOCK_MS } from "./store-lock.js";
