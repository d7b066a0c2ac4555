import type { InProcessRunContext, QueuedRun } from "@tributary/agent";
import type { RunReport } from "@tributary/flow";
import { pullFailure } from "./run-command.js";

/**
 * What `agent start --isolation in-process` runs each queued run with: `runDeployment` in the agent's process,
 * with every storage kind, the agent's `-e` values as the run's secrets, no secret backends, and the agent's
 * `leastPrivilege` default and trust policy. A deployment that cannot be pulled or is not trusted is a failed
 * report, as `tributary run --json` prints it for a child-process run. The storage kinds (and so the cloud SDKs)
 * are loaded here, before the agent takes a run: the first run does not wait for them, and a broken install stops
 * the agent at start.
 */
export async function inProcessRunner(
  leastPrivilege?: boolean,
  trustedKeys?: readonly string[],
): Promise<(run: QueuedRun, context: InProcessRunContext) => Promise<RunReport>> {
  const { allStorageKinds, parseDeploymentAddress, runDeployment } = await import("@tributary/flow");
  const kinds = await allStorageKinds();
  return (run, { secrets, signal, log }) => {
    const started = Date.now();
    return runDeployment(run.address, {
      params: run.params,
      runId: run.runId,
      secrets,
      signal,
      backends: [],
      kinds,
      // The run's lines go to the agent, which prints them and keeps them (masked) in the run's record.
      logger: { sink: log },
      ...(leastPrivilege !== undefined ? { leastPrivilege } : {}),
      ...(trustedKeys !== undefined ? { trustedKeys } : {}),
    }).catch((error: unknown) => {
      if (signal.aborted) throw error;
      // As a child-process run reports it: a failed report with the error's name and code (UNTRUSTED_DEPLOYMENT …).
      return pullFailure(parseDeploymentAddress(run.address, kinds).name, run.runId, started, error);
    });
  };
}
