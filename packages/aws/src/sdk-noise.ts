import { taskContext } from "@tributary/flow";

let checked = false;

/**
 * The AWS SDK prints a nine-line `NodeVersionSupportWarning` on stderr in every process on Node 20. Tributary
 * says once, in the task's log at debug, what the warning says (the SDK's own switch,
 * `AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED`, is left alone when the user set it either way).
 */
export function quietNodeVersionWarning(): void {
  if (checked) return;
  checked = true;
  const major = Number(process.versions.node.split(".")[0]);
  if (major >= 22 || process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED !== undefined) return;
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
  taskContext()?.log.debug(
    `AWS SDK: versions published after the first week of January 2027 require Node 22 or later; this is Node ${process.versions.node}. Tributary supports Node 22 and 24.`,
  );
}
