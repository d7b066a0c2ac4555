/**
 * Where a flow lives, and the secrets needed to reach it. The storage kinds themselves (GCS, S3, a Git
 * repository …) come with their integrations; any object of this shape works.
 *
 * Secrets it declares are declared for every run of the flow, like the flow's own `secrets`: they are loaded
 * from the configured backends when the run starts, before any task. An agent that pulls the flow calls `load()`
 * inside the same secret scope, so the storage can use them to fetch the flow itself.
 * @example
 * const storage: FlowStorage = {
 *   kind: "gcs",
 *   secrets: ["GCP_CREDENTIALS"],
 *   describe: () => "gs://flows/nightly.js",
 * };
 * const nightly = flow({ name: "nightly", storage }, async () => {});
 */
export interface FlowStorage {
  /** The kind of place, such as `"gcs"`, `"s3"` or `"local"`. */
  kind: string;
  /** Secret names the storage needs; declared for every run of the flow. */
  secrets?: readonly string[];
  /** A short description of where the flow lives, for logs and reports. Never includes a credential. */
  describe(): string;
  /** Fetches the flow (its module or code) from the storage; called by agents, not by `flow.run()`. */
  load?(): Promise<unknown>;
}
