import { ValidationError } from "@tributary/auth";
import { type Task, task } from "@tributary/flow";
import { defaultBranch } from "./github-branches.js";
import { checkClientOptions, clientOptionsOf, openGitHubCall } from "./github-call.js";
import type { GitHubClientOptions } from "./github-client.js";
import { checkOptionalString, parseRepo } from "./github-input.js";

/** The options of `githubDispatchWorkflow`. */
export interface GitHubDispatchWorkflowOptions extends GitHubClientOptions {
  /** The repository, `owner/name`. */
  repo: string;
  /** The workflow's file name (`deploy.yml`) or numeric id. It must have a `workflow_dispatch` trigger. */
  workflow: string | number;
  /** The branch or tag to run it on. Default: the default branch. */
  ref?: string;
  /** The workflow's `workflow_dispatch` inputs. */
  inputs?: Record<string, string | number | boolean>;
}

/** What `githubDispatchWorkflow` resolves to. */
export interface GitHubDispatchWorkflowResult {
  /** The workflow dispatched. */
  workflow: string | number;
  /** The ref it runs on. */
  ref: string;
}

/**
 * Triggers a GitHub Actions workflow (`workflow_dispatch`). Needs a credential with the Actions write permission.
 * @example
 * await githubDispatchWorkflow({ repo: "acme/app", workflow: "deploy.yml", inputs: { environment: "staging" } });
 */
export const githubDispatchWorkflow: Task<
  [options: GitHubDispatchWorkflowOptions],
  GitHubDispatchWorkflowResult
> = task(
  { name: "githubDispatchWorkflow" },
  async (options: GitHubDispatchWorkflowOptions): Promise<GitHubDispatchWorkflowResult> => {
    const { owner, repo, fullName } = parseRepo(options?.repo);
    const { workflow } = options;
    const validWorkflow =
      (typeof workflow === "number" && Number.isInteger(workflow) && workflow > 0) ||
      (typeof workflow === "string" && /^[^/\\\s]+\.ya?ml$/.test(workflow));
    if (!validWorkflow) {
      throw new ValidationError(
        "workflow",
        "give the workflow's file name (such as deploy.yml) or its numeric id",
      );
    }
    const ref = checkOptionalString("ref", options.ref);
    if (ref !== undefined && ref.trim() === "") throw new ValidationError("ref", "must not be empty");
    const inputs = options.inputs;
    if (
      inputs !== undefined &&
      (typeof inputs !== "object" ||
        inputs === null ||
        Array.isArray(inputs) ||
        Object.values(inputs).some((v) => !["string", "number", "boolean"].includes(typeof v)))
    ) {
      throw new ValidationError("inputs", "must be an object of strings, numbers and booleans");
    }
    checkClientOptions(options);
    const call = await openGitHubCall(clientOptionsOf(options), { repo, permissions: { actions: "write" } });
    const on = ref ?? (await defaultBranch(call, owner, repo));
    await call.run(`workflow ${workflow} in ${fullName}`, async (octokit, request) => {
      await octokit.rest.actions.createWorkflowDispatch({
        owner,
        repo,
        workflow_id: workflow,
        ref: on,
        ...(inputs ? { inputs } : {}),
        request,
      });
    });
    return { workflow, ref: on };
  },
);
