export { type CliIo, type CliReadable, type CliWritable, EXIT_CODES } from "./cli-io.js";
export {
  DeployError,
  type DeployFlowOptions,
  type DeployFlowResult,
  deployFlow,
} from "./deploy.js";
export { formatRunReport } from "./format-report.js";
export type { SecretReport, SecretStatus } from "./inspect-secret.js";
export { runCli } from "./run-cli.js";
export { CLI_VERSION } from "./usage.js";
