import {
  clientCache,
  credentialFingerprint,
  type GcpCredentials,
  MissingCredentialsError,
  type Resolution,
  registerSecretValue,
  resolveSecret,
  type Secret,
  type SecretSource,
  ValidationError,
} from "@tributary/auth";
import type { AuthClient, GoogleAuth } from "google-auth-library";

/** Google's token endpoint, where google-auth-library always posts grants, whatever `token_uri` says. */
const GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token";

/** The scope used when none is given: enough for Cloud Storage, BigQuery and Secret Manager. */
export const DEFAULT_GCP_SCOPES: readonly string[] = ["https://www.googleapis.com/auth/cloud-platform"];

/** A ready google-auth-library client (a `JWT`, `UserRefreshClient`, `Compute` …) or a `GoogleAuth`. */
export type GcpAuthClientLike = AuthClient | GoogleAuth;

/** A service-account key, as Google issues it (only these fields are read). */
export interface GcpServiceAccountKey {
  type: "service_account";
  client_email: string;
  private_key: string;
  private_key_id?: string | undefined;
  project_id?: string | undefined;
  client_id?: string | undefined;
  token_uri?: string | undefined;
}

/** An `authorized_user` file, as `gcloud auth application-default login` writes it. */
export interface GcpAuthorizedUser {
  type: "authorized_user";
  client_id: string;
  client_secret: string;
  refresh_token: string;
  quota_project_id?: string | undefined;
  token_uri?: string | undefined;
}

/** Where a GCP task or client gets its credentials. All optional: by default `GCP_CREDENTIALS`, then ADC. */
export interface GcpCredentialOptions {
  /**
   * A service-account key or `authorized_user` file (an object, its JSON text or a `Secret`), or a ready
   * google-auth-library client. Wins over every other source.
   */
  credentials?:
    | GcpServiceAccountKey
    | GcpAuthorizedUser
    | GcpCredentials
    | Secret<GcpCredentials>
    | string
    | GcpAuthClientLike
    | undefined;
  /** Read this secret name instead of `GCP_CREDENTIALS`; never falls back to Application Default Credentials. */
  secretName?: string | undefined;
}

/** The options of `gcpAuth`. */
export interface GcpAuthOptions extends GcpCredentialOptions {
  /** OAuth scopes. Default `https://www.googleapis.com/auth/cloud-platform`. */
  scopes?: readonly string[] | undefined;
  /** The Google Cloud project. Default: the key's `project_id`, then what ADC finds. */
  project?: string | undefined;
}

/** A resolved Google credential: the client that signs requests, where it came from, and its project. */
export interface GcpAuth {
  /** The google-auth-library client. Cached per credential: its tokens are shared by every task using it. */
  readonly client: AuthClient;
  /** Where the credential came from (safe to log). */
  readonly source: SecretSource;
  /** The cache key part naming this credential (a fingerprint, never the value). */
  readonly cacheKey: string;
  /** The project: the `project` option, then the key's `project_id`, then what ADC finds (`undefined` if none). */
  getProjectId(): Promise<string | undefined>;
}

interface CachedAuth {
  client: AuthClient;
  getProjectId: () => Promise<string | undefined>;
}

let googleAuthLibrary: Promise<typeof import("google-auth-library")> | undefined;
/** google-auth-library is loaded on first use, so importing `@tributary/gcp` stays cheap. */
export function loadGoogleAuthLibrary(): Promise<typeof import("google-auth-library")> {
  googleAuthLibrary ??= import("google-auth-library");
  return googleAuthLibrary;
}

function isAuthClient(value: unknown): value is GcpAuthClientLike {
  if (!value || typeof value !== "object") return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.request === "function" &&
    (typeof v.getRequestHeaders === "function" || typeof v.getClient === "function")
  );
}

/**
 * Points a client's token requests at `tokenUri`: google-auth-library always posts to Google's endpoint and
 * ignores `token_uri`, so the request is rewritten on the client's own transporter.
 */
function honourTokenUri(client: AuthClient, tokenUri: string | undefined): void {
  if (!tokenUri || tokenUri === GOOGLE_TOKEN_URL) return;
  client.transporter.interceptors.request.add({
    resolved: async (config) => {
      const url = config.url instanceof URL ? config.url.href : String(config.url);
      if (url === GOOGLE_TOKEN_URL || url.startsWith(`${GOOGLE_TOKEN_URL}?`)) {
        config.url = new URL(tokenUri + url.slice(GOOGLE_TOKEN_URL.length));
      }
      return config;
    },
  });
}

/**
 * Masks the access tokens a client sends. The client is cached and shared by runs, so each request registers its
 * token again: with the run that sends it (dropped with the run), or with the process outside runs.
 */
function maskAccessTokens(client: AuthClient): void {
  client.transporter.interceptors.request.add({
    resolved: async (config) => {
      const headers = config.headers as Headers | Record<string, unknown> | undefined;
      const value =
        typeof (headers as Headers | undefined)?.get === "function"
          ? (headers as Headers).get("authorization")
          : ((headers as Record<string, unknown> | undefined)?.Authorization ??
            (headers as Record<string, unknown> | undefined)?.authorization);
      if (typeof value === "string" && value.startsWith("Bearer ")) registerSecretValue(value.slice(7));
      return config;
    },
  });
}

async function clientFromKey(key: GcpCredentials, scopes: readonly string[]): Promise<AuthClient> {
  const { ExternalAccountClient, Impersonated, JWT, UserRefreshClient } = await loadGoogleAuthLibrary();
  if (key.type === "external_account") {
    // token_url and service_account_impersonation_url come from the file: the library honours both itself.
    const client = ExternalAccountClient.fromJSON({
      ...(key as Parameters<typeof ExternalAccountClient.fromJSON>[0]),
      scopes: [...scopes],
    });
    if (!client)
      throw new ValidationError("GCP_CREDENTIALS", "is not an external_account file the library accepts");
    return client;
  }
  if (key.type === "impersonated_service_account") {
    const url = new URL(key.service_account_impersonation_url);
    const target = /\/serviceAccounts\/([^/]+):generateAccessToken$/.exec(url.pathname)?.[1];
    if (!target) {
      throw new ValidationError(
        "GCP_CREDENTIALS.service_account_impersonation_url",
        "must end in /serviceAccounts/EMAIL:generateAccessToken",
      );
    }
    const sourceClient = await clientFromKey(key.source_credentials as GcpCredentials, DEFAULT_GCP_SCOPES);
    return new Impersonated({
      sourceClient,
      targetPrincipal: decodeURIComponent(target),
      targetScopes: [...scopes],
      delegates: key.delegates ?? [],
      // The IAM Credentials endpoint is the one the file names (Google's own, or a stand-in).
      endpoint: url.origin,
    });
  }
  let client: AuthClient;
  if (key.type === "service_account") {
    client = new JWT({
      email: key.client_email,
      key: key.private_key,
      ...(key.private_key_id ? { keyId: key.private_key_id } : {}),
      scopes: [...scopes],
    });
  } else {
    client = new UserRefreshClient({
      clientId: key.client_id,
      clientSecret: key.client_secret,
      refreshToken: key.refresh_token,
    });
    if (key.quota_project_id) client.quotaProjectId = key.quota_project_id;
  }
  honourTokenUri(client, key.token_uri);
  maskAccessTokens(client);
  return client;
}

async function clientFromAdc(
  scopes: readonly string[],
  tried: Resolution<unknown>["tried"],
): Promise<CachedAuth> {
  const { GoogleAuth } = await loadGoogleAuthLibrary();
  const auth = new GoogleAuth({ scopes: [...scopes] });
  let client: AuthClient;
  try {
    client = (await auth.getClient()) as AuthClient;
  } catch (error) {
    throw new MissingCredentialsError(
      "GCP_CREDENTIALS",
      [
        ...tried,
        {
          source: { kind: "default-chain", detail: "Google Application Default Credentials" },
          outcome: "none found",
          howToSet:
            "export GOOGLE_APPLICATION_CREDENTIALS=/path/to/key.json, or run `gcloud auth application-default login`",
        },
      ],
      { cause: error },
    );
  }
  const json = auth.jsonContent as { token_uri?: string } | null;
  honourTokenUri(client, typeof json?.token_uri === "string" ? json.token_uri : undefined);
  maskAccessTokens(client);
  return {
    client,
    getProjectId: () => auth.getProjectId().catch(() => undefined),
  };
}

const userClientIds = new WeakMap<object, number>();
let nextUserClientId = 0;

/** Caches a promise, forgetting it when it fails so the next call tries again. */
function cachedPromise<T>(key: string, create: () => Promise<T>): Promise<T> {
  const promise = clientCache.get(key, () => {
    const p = create();
    p.catch(() => clientCache.clear(key));
    return p;
  });
  return promise;
}

/**
 * Resolves Google credentials in Tributary's order — the `credentials` argument (a key or a ready client), then
 * `GCP_CREDENTIALS` (or `secretName`) from the run, the environment, the local store and declared backends, then
 * Application Default Credentials — and returns a cached google-auth-library client with its source. `token_uri`
 * in a key is honoured. A thousand calls with the same key share one client and one token.
 * @example
 * const { client, source } = await gcpAuth();
 * console.log(`GCP credentials from ${source.kind} (${source.detail})`);
 * const headers = await client.getRequestHeaders();
 */
export function gcpAuth(options: GcpAuthOptions = {}): Promise<GcpAuth> {
  return resolveGcpAuth(options, "credentials");
}

/**
 * @internal `gcpAuth`, with the name the `credentials` argument goes by in sources and logs: a backend's own
 * credential is named as the backend's, so a flow's log never reads as if the flow's credential came from it.
 */
export async function resolveGcpAuth(options: GcpAuthOptions, argument: string): Promise<GcpAuth> {
  const scopes = options.scopes ?? DEFAULT_GCP_SCOPES;
  if (!Array.isArray(scopes) || scopes.some((s) => typeof s !== "string" || s === "")) {
    throw new ValidationError("scopes", "must be a list of OAuth scope URLs");
  }
  if (
    options.project !== undefined &&
    (typeof options.project !== "string" || !/^[a-z][a-z0-9-:.]{2,}$/.test(options.project))
  ) {
    throw new ValidationError("project", "must be a Google Cloud project id such as `my-project-123`");
  }
  const scopeKey = [...scopes].sort().join(" ");
  const explicitProject = options.project;

  if (isAuthClient(options.credentials)) {
    const given = options.credentials;
    let id = userClientIds.get(given);
    if (id === undefined) {
      id = ++nextUserClientId;
      userClientIds.set(given, id);
    }
    const cacheKey = `client-${id}`;
    const cached = await cachedPromise<CachedAuth>(`gauth:${cacheKey}`, async () => {
      const { GoogleAuth } = await loadGoogleAuthLibrary();
      if (given instanceof GoogleAuth || typeof (given as unknown as GoogleAuth).getClient === "function") {
        const auth = given as unknown as GoogleAuth;
        return {
          client: (await auth.getClient()) as AuthClient,
          getProjectId: () => auth.getProjectId().catch(() => undefined),
        };
      }
      const client = given as AuthClient;
      return { client, getProjectId: async () => client.projectId ?? undefined };
    });
    return {
      client: cached.client,
      source: { kind: "argument", detail: `${argument} (a google-auth-library client)` },
      cacheKey,
      getProjectId: async () => explicitProject ?? (await cached.getProjectId()),
    };
  }

  const resolution = await resolveSecret("GCP_CREDENTIALS", {
    value: options.credentials as GcpCredentials | undefined,
    argument,
    secretName: options.secretName,
  });
  const key = resolution.value as GcpCredentials | undefined;
  if (key === undefined) {
    const adcPath = process.env.GOOGLE_APPLICATION_CREDENTIALS ?? "";
    const cacheKey = `adc-${credentialFingerprint({ adcPath })}`;
    const cached = await cachedPromise(`gauth:${cacheKey}:${scopeKey}`, () =>
      clientFromAdc(scopes, resolution.tried),
    );
    return {
      client: cached.client,
      source: {
        kind: "default-chain",
        detail: adcPath
          ? `Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS=${adcPath})`
          : "Application Default Credentials",
      },
      cacheKey,
      getProjectId: async () => explicitProject ?? (await cached.getProjectId()),
    };
  }
  const cacheKey = credentialFingerprint(key);
  const client = await cachedPromise(`gauth:${cacheKey}:${scopeKey}`, () => clientFromKey(key, scopes));
  const keyProject =
    key.type === "service_account"
      ? key.project_id
      : key.type === "impersonated_service_account"
        ? undefined
        : key.quota_project_id;
  return {
    client,
    source: resolution.source,
    cacheKey,
    getProjectId: async () =>
      explicitProject ?? keyProject ?? process.env.GOOGLE_CLOUD_PROJECT ?? process.env.GCLOUD_PROJECT,
  };
}
