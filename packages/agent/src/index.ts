export {
  AGENT_KEY_PREFIX,
  type Agent,
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
export {
  checkRedis,
  describeRedisUrl,
  REDIS_URL_ENV,
  RedisUnreachableError,
  redisUrl,
} from "./redis-url.js";
export { isAllowedRunVariable, RUN_ENV_ALLOW_LIST, runEnvironment } from "./run-environment.js";
export {
  type EnqueueOptions,
  listAgents,
  openRunQueue,
  type QueuedRunState,
  type RunQueue,
  type RunQueueOptions,
  type RunRecord,
  RunWaitTimeoutError,
} from "./run-queue.js";
