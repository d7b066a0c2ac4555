import type { InProcessRunContext, QueuedRun } from "@tributary/agent";
import type { RunReport } from "@tributary/flow";
import { allStorageKinds } from "./storage-kinds.js";

/**
 * What `agent start --isolation in-process` runs each queued run with: `runDeployment` in the agent's process,
 * with every storage kind, the agent's `-e` values as the run's secrets, no secret backends, and the agent's
 * `leastPrivilege` default.
 */
export function inProcessRunner(
  leastPrivilege?: boolean,
): (run: QueuedRun, context: InProcessRunContext) => Promise<RunReport> {
  return async (run, { secrets, signal }) => {
    const [{ runDeployment }, kinds] = await Promise.all([import("@tributary/flow"), allStorageKinds()]);
    return runDeployment(run.address, {
      params: run.params,
      runId: run.runId,
      secrets,
      signal,
      backends: [],
      kinds,
      ...(leastPrivilege !== undefined ? { leastPrivilege } : {}),
    });
  };
}
