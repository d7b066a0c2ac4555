export {
  AGENT_KEY_PREFIX,
  type Agent,
  type AgentClosed,
  type AgentInfo,
  type AgentOptions,
  type ChildRunCommand,
  type InProcessRunContext,
  type Isolation,
  QUEUE_PREFIX,
  RunFailedError,
  startAgent,
} from "./agent.js";
export {
  checkParamsHoldNoSecret,
  checkQueuedRun,
  type QueuedRun,
  resolvableSecretValues,
  SecretInParamsError,
} from "./queued-run.js";
export { REDIS_STOP_MS } from "./redis-stop.js";
export {
  checkRedis,
  describeRedisUrl,
  REDIS_URL_ENV,
  RedisUnreachableError,
  redisUrl,
} from "./redis-url.js";
export { isAllowedRunVariable, RUN_ENV_ALLOW_LIST, runEnvironment } from "./run-environment.js";
export {
  type QueuedRunState,
  RUN_STATES,
  type RunDetail,
  type RunFilter,
  type RunRecord,
} from "./run-history.js";
export {
  isRunId,
  parseDuration,
  RUN_ID_PATTERN,
  RUN_ID_RULE,
  scheduledRunId,
} from "./run-ids.js";
export {
  type CredentialSourceKind,
  type CredentialUse,
  provenanceOf,
  RUN_LOG_MAX_BYTES,
  RUN_LOG_MAX_LINES,
} from "./run-log.js";
export {
  type EnqueueOptions,
  listAgents,
  openRunQueue,
  type RunEvent,
  type RunQueue,
  type RunQueueOptions,
  RunWaitTimeoutError,
} from "./run-queue.js";
export {
  checkCron,
  nextCronTimes,
  SCHEDULE_KEY_PREFIX,
  type ScheduleInfo,
  type ScheduleOptions,
  type Schedules,
  type ScheduleWithRuns,
} from "./schedules.js";
