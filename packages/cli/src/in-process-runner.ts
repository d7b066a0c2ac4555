import type { InProcessRunContext, QueuedRun } from "@tributary/agent";
import type { RunReport, StorageKind } from "@tributary/flow";
import { allStorageKinds } from "./storage-kinds.js";

/**
 * What `agent start --isolation in-process` runs each queued run with: `runDeployment` in the agent's process,
 * with every storage kind, the agent's `-e` values as the run's secrets, no secret backends, and the agent's
 * `leastPrivilege` default.
 */
export function inProcessRunner(
  leastPrivilege?: boolean,
): (run: QueuedRun, context: InProcessRunContext) => Promise<RunReport> {
  // Loaded once, at the first run: the kinds are the same for every run, and so is the parsed address.
  let loading: Promise<[typeof import("@tributary/flow"), StorageKind[]]> | undefined;
  return async (run, { secrets, signal }) => {
    if (!loading) {
      loading = Promise.all([import("@tributary/flow"), allStorageKinds()]);
      loading.catch(() => {
        loading = undefined;
      });
    }
    const [{ runDeployment }, kinds] = await loading;
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
