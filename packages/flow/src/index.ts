export { type TaskContext, taskContext } from "./context.js";
export { RunCancelledError, TaskTimeoutError } from "./errors.js";
export {
  type Flow,
  type FlowContext,
  type FlowHook,
  type FlowOptions,
  flow,
  type RunOptions,
  type TaskFailureHook,
} from "./flow.js";
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
export type {
  HookError,
  ReportedError,
  RunReport,
  RunState,
  TaskRun,
  TaskRunState,
} from "./report.js";
export type { FlowStorage } from "./storage.js";
export { isRetryable, type Task, type TaskOptions, task } from "./task.js";
