import type { InProcessRunContext, QueuedRun } from "@tributary/agent";
import type { RunReport } from "@tributary/flow";
import { allStorageKinds } from "./storage-kinds.js";

/**
 * What `agent start --isolation in-process` runs each queued run with: `runDeployment` in the agent's process,
 * with every storage kind, the agent's `-e` values as the run's secrets, no secret backends, and the agent's
 * `leastPrivilege` default. The storage kinds (and so the cloud SDKs) are loaded here, before the agent takes a
 * run: the first run does not wait for them, and a broken install stops the agent at start.
 */
export async function inProcessRunner(
  leastPrivilege?: boolean,
): Promise<(run: QueuedRun, context: InProcessRunContext) => Promise<RunReport>> {
  const [{ runDeployment }, kinds] = await Promise.all([import("@tributary/flow"), allStorageKinds()]);
  return (run, { secrets, signal, log }) =>
    runDeployment(run.address, {
      params: run.params,
      runId: run.runId,
      secrets,
      signal,
      backends: [],
      kinds,
      // The run's lines go to the agent, which prints them and keeps them (masked) in the run's record.
      logger: { sink: log },
      ...(leastPrivilege !== undefined ? { leastPrivilege } : {}),
    });
}
