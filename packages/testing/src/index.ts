export {
  type IamPolicy,
  type IamStatement,
  iamPolicyAllows,
  parseIamPolicy,
} from "./aws-policy.js";
export {
  type AwsServiceStandIn,
  type AwsServiceStandInOptions,
  STAND_IN_ACCOUNT,
  type StandInStsOptions,
} from "./aws-sts.js";
export {
  type BigQueryStandIn,
  type BigQueryStandInJob,
  type BigQueryStandInOptions,
  startBigQueryStandIn,
} from "./bigquery-stand-in.js";
export {
  type CheckConventionsOptions,
  checkConventions,
  EXPORTED_ERRORS,
  OPTION_SYNONYMS,
  STORAGE_OPERATIONS,
  type StorageOperation,
} from "./conventions.js";
export { fakeSlackToken } from "./fake-credentials.js";
export {
  type GitHubStandIn,
  type GitHubStandInApp,
  type GitHubStandInComment,
  type GitHubStandInInstallationToken,
  type GitHubStandInIssue,
  type GitHubStandInOptions,
  type GitHubStandInRepo,
  type GitHubStandInRepoSeed,
  type GitHubStandInToken,
  generateGitHubApp,
  generateGitHubToken,
  startGitHubStandIn,
} from "./github-stand-in.js";
export {
  type AccessBoundaryRule,
  accessBoundaryAllows,
  type GoogleStandIn,
  type GoogleStandInOptions,
  type StandInAuthorizedUser,
  type StandInObject,
  type StandInServiceAccountKey,
  type StandInWorkloadIdentityProvider,
  startGoogleStandIn,
} from "./google-stand-in.js";
export {
  type LambdaStandIn,
  type LambdaStandInContext,
  type LambdaStandInHandler,
  type LambdaStandInInvocation,
  type LambdaStandInOptions,
  startLambdaStandIn,
} from "./lambda-stand-in.js";
export { type Moto, type MotoOptions, startMoto } from "./moto.js";
export {
  createOidcIssuer,
  type OidcClaims,
  type OidcIssuer,
  type OidcRejection,
  verifyIdentityToken,
} from "./oidc-issuer.js";
export { type RedisServer, type RedisServerOptions, startRedis } from "./redis.js";
export {
  type AssumedRole,
  type AwsAuthorizeRequest,
  type S3StandIn,
  type S3StandInOptions,
  s3ErrorReply,
  startS3StandIn,
  xmlEscape,
} from "./s3-stand-in.js";
export { errorOutputs, failureOutputs, findSecretTraces, secretTraces } from "./secret-traces.js";
export {
  awsJsonErrorReply,
  type SecretsManagerStandIn,
  type SecretsManagerStandInOptions,
  startSecretsManagerStandIn,
} from "./secrets-manager-stand-in.js";
export {
  type SfnStandIn,
  type SfnStandInContext,
  type SfnStandInExecution,
  type SfnStandInHandler,
  type SfnStandInOptions,
  startSfnStandIn,
} from "./sfn-stand-in.js";
export { type AwsKeyPair, checkSigV4, randomKeyPair, type SigV4Check } from "./sigv4.js";
export {
  type SlackReceived,
  type SlackReceivedCall,
  type SlackReceivedFile,
  type SlackReceivedMessage,
  type SlackReceivedWebhook,
  type SlackStandIn,
  type SlackStandInChannel,
  type SlackStandInOptions,
  type SlackStandInRateLimit,
  startSlackStandIn,
} from "./slack-stand-in.js";
export {
  type SsmStandIn,
  type SsmStandInOptions,
  type SsmStandInParameter,
  startSsmStandIn,
} from "./ssm-stand-in.js";
export {
  echoRequestInto,
  type MatchedRequest,
  type RecordedRequest,
  type RequestEcho,
  type RequestMatcher,
  route,
  type StandIn,
  type StandInFault,
  type StandInHandler,
  type StandInOptions,
  type StandInReply,
  type StandInRequest,
  type StandInRoute,
  startStandIn,
} from "./stand-in.js";
