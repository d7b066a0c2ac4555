import { Readable } from "node:stream";
import { ValidationError } from "@tributary/auth";
import {
  type FlowStorage,
  objectStorage,
  objectStorageKind,
  type StorageCallOptions,
  type StorageKind,
} from "@tributary/flow";
import { callGoogle, type GoogleCallContext } from "./gcp-errors.js";
import { type GcsClient, type GcsClientOptions, gcsClient } from "./gcs-client.js";
import { checkBucket, gsUri } from "./gcs-names.js";

/** The names a storage declares unless told: none with explicit credentials, else `secretName` or `GCP_CREDENTIALS`. */
function defaultSecrets(connection: GcsClientOptions): readonly string[] {
  if (connection.credentials !== undefined) return Object.freeze([]);
  return Object.freeze([connection.secretName ?? "GCP_CREDENTIALS"]);
}

/** The options of `gcsStorage`: where deployments live, the secrets to declare, and the GCS client's options. */
export interface GcsStorageOptions extends GcsClientOptions {
  /** The bucket (without `gs://`). */
  bucket: string;
  /** An object name prefix such as `prod/`; each deployment is `<prefix><flow>/`. Default: the bucket's root. */
  prefix?: string;
  /**
   * Secret names declared for every run and resolved before the pull. Default: `secretName` when given, else
   * `GCP_CREDENTIALS`; none when `credentials` is given.
   */
  secrets?: readonly string[];
}

/**
 * A Cloud Storage bucket as flow storage: the deployment `nightly` is the objects `<prefix>nightly/manifest.json`
 * and `<prefix>nightly/flow.mjs`, at the address `gs://<bucket>/<prefix>nightly`. Reads and writes go through
 * `gcsClient` with the same options as the GCS tasks: the credential comes from `GCP_CREDENTIALS` (or
 * `secretName`) in the run's secret scope, and `STORAGE_EMULATOR_HOST` is honoured.
 * @example
 * const nightly = flow(
 *   { name: "nightly", storage: gcsStorage({ bucket: "flows", secrets: ["GCP_CREDENTIALS"] }) },
 *   async ({ log }) => log.info("hello"),
 * );
 */
export function gcsStorage(options: GcsStorageOptions): FlowStorage {
  if (!options || typeof options !== "object")
    throw new ValidationError("options", "give { bucket, prefix? }");
  const { bucket: rawBucket, prefix, secrets, ...connection } = options;
  const bucket = checkBucket(rawBucket);
  const context = (client: GcsClient, name: string): GoogleCallContext => ({
    service: "Cloud Storage",
    source: client.auth.source,
    resource: gsUri(bucket, name),
    endpoint: client.endpoint,
  });
  const signal = (call: StorageCallOptions) => (call.signal ? { signal: call.signal } : {});
  return objectStorage({
    scheme: "gs",
    bucket,
    prefix,
    secrets,
    defaultSecrets: defaultSecrets(connection),
    connect: () => gcsClient(connection),
    async put(client, target, bytes, contentType, call) {
      await callGoogle(
        client.auth,
        context(client, target),
        () =>
          client.storage.objects.insert(
            {
              bucket,
              name: target,
              requestBody: { name: target, contentType },
              media: { mimeType: contentType, body: Readable.from([Buffer.from(bytes)]) },
            },
            // Media uploads ignore the client's rootUrl unless it is given again here.
            { rootUrl: `${client.endpoint}/`, retry: false, ...signal(call) },
          ),
        { signal: call.signal },
      );
    },
    async get(client, target, call) {
      const response = await callGoogle(
        client.auth,
        context(client, target),
        () =>
          client.storage.objects.get(
            { bucket, object: target, alt: "media" },
            { responseType: "arraybuffer", retry: false, ...signal(call) },
          ),
        { signal: call.signal },
      );
      return new Uint8Array(response.data as unknown as ArrayBuffer);
    },
  });
}

/** The `gs://` storage kind, with connection options applied to every storage it builds. */
export interface GcsStorageKind extends StorageKind {
  /** A kind whose storages use these GCS client options (an endpoint, a `secretName` …). */
  configure(options: GcsClientOptions): GcsStorageKind;
}

/**
 * The `gs://` kind for `runDeployment` and the CLI: `gs://flows/prod/nightly` is the deployment `nightly` in
 * `gcsStorage({ bucket: "flows", prefix: "prod/" })`, declaring `GCP_CREDENTIALS`.
 * @example
 * await runDeployment("gs://flows/prod/nightly", { kinds: [gcsStorageKind] });
 */
export const gcsStorageKind: GcsStorageKind = objectStorageKind<GcsClientOptions>({
  scheme: "gs",
  noBucket: "a gs:// address starts with the bucket: gs://bucket/prefix/flow",
  defaultSecrets,
  checkBucket,
  storage: (connection, bucket, prefix) => gcsStorage({ ...connection, bucket, prefix }),
});
