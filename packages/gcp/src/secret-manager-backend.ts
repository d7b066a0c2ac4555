import type { secretmanager_v1 } from "@googleapis/secretmanager";
import {
  CredentialRejectedError,
  clientCache,
  describeSource,
  getSecretDefinition,
  type SecretBackend,
  SecretBackendError,
  ServiceError,
  TributaryError,
  ValidationError,
  withSecrets,
} from "@tributary/auth";
import { type GcpAuth, type GcpCredentialOptions, resolveGcpAuth } from "./gcp-auth.js";
import { callGoogle } from "./gcp-errors.js";
import { checkEndpoint } from "./gcs-client.js";

/** Secret Manager's public endpoint. */
export const SECRET_MANAGER_DEFAULT_ENDPOINT = "https://secretmanager.googleapis.com";

/** The options of `gcpSecretManagerBackend`. */
export interface GcpSecretManagerBackendOptions extends GcpCredentialOptions {
  /** The project holding the secrets. Default: the key's `project_id`, then `GOOGLE_CLOUD_PROJECT`, then ADC's. */
  project?: string | undefined;
  /** The base URL of the Secret Manager API, for a stand-in. Default `https://secretmanager.googleapis.com`. */
  endpoint?: string | undefined;
  /** The version read. Default `"latest"`. */
  version?: string | undefined;
  /** Retries for throttling, server errors and dropped connections. Default 3. */
  retries?: number | undefined;
}

let secretManagerModule: Promise<typeof import("@googleapis/secretmanager")> | undefined;

const SECRET_ID = /^[A-Za-z0-9_-]{1,255}$/;

/**
 * A secret backend reading Google Cloud Secret Manager: `projects/<project>/secrets/<NAME>/versions/latest`. The
 * payload is decoded as UTF-8; names whose registered shape is an object (such as `AWS_CREDENTIALS`) are parsed as
 * JSON. A missing secret is "not found" (the resolution goes on); denied, throttled and disabled secrets are
 * `SecretBackendError`s naming the backend and the secret.
 *
 * Its own credentials: `credentials`, else `GCP_CREDENTIALS` from the run, the environment or the local store
 * (never from a backend), else Application Default Credentials.
 * @example
 * configureBackends([gcpSecretManagerBackend({ project: "my-project" })]);
 */
export function gcpSecretManagerBackend(options: GcpSecretManagerBackendOptions = {}): SecretBackend {
  if (
    options.project !== undefined &&
    (typeof options.project !== "string" || !/^[a-z][a-z0-9-:.]{2,}$/.test(options.project))
  ) {
    throw new ValidationError("project", "must be a Google Cloud project id such as `my-project-123`");
  }
  const endpoint = checkEndpoint(options.endpoint, SECRET_MANAGER_DEFAULT_ENDPOINT);
  const version = options.version ?? "latest";
  if (typeof version !== "string" || !/^(latest|[1-9]\d*)$/.test(version)) {
    throw new ValidationError("version", 'must be "latest" or a version number');
  }
  const retries = options.retries ?? 3;
  if (!Number.isInteger(retries) || retries < 0)
    throw new ValidationError("retries", "must be a whole number (0 or more)");
  let knownProject = options.project;
  const describe = () => `GCP Secret Manager (project ${knownProject ?? "from the credentials"})`;

  return {
    describe,
    async get(name) {
      if (!SECRET_ID.test(name)) return undefined;
      let auth: GcpAuth;
      try {
        // Backends are switched off while finding the backend's own credential, so it never asks itself.
        auth = await withSecrets(
          {},
          () =>
            resolveGcpAuth(
              { credentials: options.credentials, secretName: options.secretName },
              "gcpSecretManagerBackend({ credentials })",
            ),
          {
            backends: [],
          },
        );
      } catch (error) {
        if (TributaryError.isInstance(error) && !ServiceError.isInstance(error)) throw error;
        throw new SecretBackendError(
          "SECRET_BACKEND_CREDENTIAL_REJECTED",
          `${describe()}: no usable credential: ${(error as Error).message}`,
          describe(),
          name,
          {
            cause: error,
          },
        );
      }
      const project = options.project ?? (await auth.getProjectId());
      if (!project) {
        throw new SecretBackendError(
          "SECRET_BACKEND_NO_PROJECT",
          `${describe()}: no project to read secret ${name} from. Pass \`project\` to gcpSecretManagerBackend or set GOOGLE_CLOUD_PROJECT.`,
          describe(),
          name,
        );
      }
      knownProject = project;
      secretManagerModule ??= import("@googleapis/secretmanager");
      const { secretmanager } = await secretManagerModule;
      const client: secretmanager_v1.Secretmanager = clientCache.get(`gsm:${auth.cacheKey}:${endpoint}`, () =>
        secretmanager({ version: "v1", auth: auth.client as never, rootUrl: `${endpoint}/` }),
      );
      const resource = `projects/${project}/secrets/${name}/versions/${version}`;
      let payload: string | null | undefined;
      try {
        const res = await callGoogle(
          auth,
          { service: "Secret Manager", source: auth.source, resource, endpoint },
          () => client.projects.secrets.versions.access({ name: resource }, { retry: false }),
          { retries },
        );
        payload = res.data.payload?.data;
      } catch (error) {
        const where = describe();
        const reason = (error as { reason?: string }).reason;
        if (ServiceError.isInstance(error) && error.status === 404) return undefined;
        if (CredentialRejectedError.isInstance(error)) {
          throw new SecretBackendError(
            "SECRET_BACKEND_CREDENTIAL_REJECTED",
            `${where}: cannot read secret ${name}: ${error.message}`,
            where,
            name,
            { cause: error, reason },
          );
        }
        if (ServiceError.isInstance(error) && error.status === 403) {
          throw new SecretBackendError(
            "SECRET_BACKEND_ACCESS_DENIED",
            `${where} denied access to secret ${name} for the credential from ${describeSource(auth.source)}. Grant it roles/secretmanager.secretAccessor on ${resource.replace(/\/versions\/.*$/, "")}.`,
            where,
            name,
            { cause: error, reason },
          );
        }
        if (ServiceError.isInstance(error) && error.status === 429) {
          throw new SecretBackendError(
            "SECRET_BACKEND_THROTTLED",
            `${where} throttled reading secret ${name} (quota exceeded); retried ${retries} times. Try again later or raise the Secret Manager quota.`,
            where,
            name,
            { cause: error, retryable: true, reason },
          );
        }
        if (ServiceError.isInstance(error) && error.status === 400) {
          throw new SecretBackendError(
            "SECRET_BACKEND_VERSION_UNAVAILABLE",
            `${where}: secret ${name} has no readable ${version} version (disabled or destroyed): ${error.message}`,
            where,
            name,
            { cause: error, reason },
          );
        }
        throw new SecretBackendError(
          "SECRET_BACKEND_FAILED",
          `${where}: cannot read secret ${name}: ${(error as Error).message}`,
          where,
          name,
          {
            cause: error,
            reason,
            retryable: TributaryError.isInstance(error) ? error.retryable : false,
          },
        );
      }
      const bytes = Buffer.from(payload ?? "", "base64");
      let text: string;
      try {
        text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
      } catch {
        throw new SecretBackendError(
          "SECRET_BACKEND_NOT_TEXT",
          `${describe()}: secret ${name} is not UTF-8 text; Tributary secrets are text or JSON.`,
          describe(),
          name,
        );
      }
      if (getSecretDefinition(name)?.format === "json") {
        try {
          const value: unknown = JSON.parse(text);
          if (value && typeof value === "object" && !Array.isArray(value))
            return value as Record<string, unknown>;
        } catch {
          // Left as text: the resolution reports it as malformed, naming this backend.
        }
      }
      return text;
    },
  };
}
