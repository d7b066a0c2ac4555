import type { storage_v1 } from "@googleapis/storage";
import {
  clientCache,
  credentialFingerprint,
  describeProvenance,
  type SecretSource,
  ValidationError,
} from "@tributary/auth";
import { logOncePerRun, taskContext } from "@tributary/flow";
import { pickEndpoint } from "@tributary/integration-kit";
import { type GcpAuth, type GcpAuthOptions, gcpAuth } from "./gcp-auth.js";
import {
  downscopedClient,
  type GcsLeastPrivilegeOptions,
  type GcsScope,
  gcsAccessBoundary,
} from "./gcs-scope.js";

/** Cloud Storage's public endpoint. */
export const GCS_DEFAULT_ENDPOINT = "https://storage.googleapis.com";

/** The options of `gcsClient`, also accepted by every GCS task. */
export interface GcsClientOptions extends GcpAuthOptions, GcsLeastPrivilegeOptions {
  /**
   * The base URL of the JSON API and uploads, for a stand-in or a compatible service (such as fake-gcs-server).
   * Default: `STORAGE_EMULATOR_HOST` when set, else `https://storage.googleapis.com`.
   */
  endpoint?: string | undefined;
}

/** A Cloud Storage client: the generated `@googleapis/storage` client, its credential, and its endpoint. */
export interface GcsClient {
  /** The `storage_v1.Storage` client from `@googleapis/storage`, pointed at `endpoint`. */
  readonly storage: storage_v1.Storage;
  /** The credential behind it and where it came from. */
  readonly auth: GcpAuth;
  /** The endpoint, without a trailing slash. */
  readonly endpoint: string;
}

let storageModule: Promise<typeof import("@googleapis/storage")> | undefined;

/** Checks and normalises an endpoint option (an http(s) base URL, no query); before any request. */
export function checkEndpoint(value: string | undefined, fallback: string, option = "endpoint"): string {
  const raw = value ?? fallback;
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`);
  } catch {
    throw new ValidationError(option, `must be a base URL such as ${fallback}`);
  }
  if ((url.protocol !== "https:" && url.protocol !== "http:") || url.search || url.hash || url.username) {
    throw new ValidationError(option, `must be a plain http(s) base URL such as ${fallback}`);
  }
  return url.href.replace(/\/+$/, "");
}

/**
 * Returns a Cloud Storage client for the resolved credentials, cached per credential fingerprint and endpoint:
 * every task with the same credentials shares one client and one token.
 * @example
 * const { storage } = await gcsClient({ endpoint: "http://127.0.0.1:4443" });
 * const { data } = await storage.objects.list({ bucket: "reports" });
 */
export async function gcsClient(
  options: GcsClientOptions = {},
  scope?: GcsScope | readonly GcsScope[],
): Promise<GcsClient> {
  const endpoint = pickEndpoint(options.endpoint, ["STORAGE_EMULATOR_HOST"]).url ?? GCS_DEFAULT_ENDPOINT;
  const full = await gcpAuth(options);
  const scopes = scope === undefined ? [] : Array.isArray(scope) ? scope : [scope as GcsScope];
  const auth =
    (options.leastPrivilege ?? taskContext()?.leastPrivilege) && scopes.length > 0
      ? await scoped(full, scopes, options.stsEndpoint)
      : full;
  storageModule ??= import("@googleapis/storage");
  const { storage } = await storageModule;
  const client = clientCache.get(`gcs:${auth.cacheKey}:${endpoint}`, () =>
    storage({
      version: "v1",
      auth: auth.client as never,
      rootUrl: `${endpoint}/`,
    }),
  );
  return { storage: client, auth, endpoint };
}

/** A downscoped credential for one credential, STS endpoint and scope; found again with one lookup. */
interface ScopedAuth {
  /** The source it was resolved from, before the scope is added to its words. */
  from: SecretSource;
  auth: Promise<GcpAuth>;
  /** The same, once exchanged: a cached call does not wait a tick for it. */
  ready?: GcpAuth;
  /** The run whose log last named it. */
  loggedRun?: string;
}

/**
 * Downscoped credentials by the credential's own client (cached, so the same object for the same credential; a new
 * one after `clientCache.clear()`), then by STS endpoint and scope: a cached call pays for a short key and two lookups.
 */
const scopedByClient = new WeakMap<object, Map<string, ScopedAuth>>();

function scopedAuth(
  full: GcpAuth,
  scopes: readonly GcsScope[],
  stsEndpoint: string | undefined,
  reuse: ScopedAuth | undefined,
  forget: () => void,
): ScopedAuth {
  const label = scopes.map((scope) => gcsAccessBoundary(scope).label).join("; ");
  const source = { ...full.source, detail: `${full.source.detail}, scoped to ${label}` };
  const cacheKey = `${full.cacheKey}:scoped-${credentialFingerprint([label, stsEndpoint ?? ""])}`;
  const client = reuse
    ? reuse.auth.then((auth) => auth.client)
    : downscopedClient(full.client, scopes, stsEndpoint);
  const auth = client.then((c) => ({ client: c, source, cacheKey, getProjectId: full.getProjectId }));
  const entry: ScopedAuth = { from: full.source, auth };
  auth.then((done) => {
    entry.ready = done;
  }, forget);
  return entry;
}

/** A downscoped credential for `scope`, cached per credential and scope; its provenance logged once per run. */
async function scoped(
  full: GcpAuth,
  scopes: readonly GcsScope[],
  stsEndpoint: string | undefined,
): Promise<GcpAuth> {
  let key = stsEndpoint ?? "";
  for (const s of scopes) {
    key += `\n${s.access}\n${s.bucket}\n${s.object !== undefined ? `o${s.object}` : `p${s.prefix ?? ""}`}`;
  }
  let byScope = scopedByClient.get(full.client);
  if (!byScope) {
    byScope = new Map();
    scopedByClient.set(full.client, byScope);
  }
  let entry = byScope.get(key);
  if (entry?.from.kind !== full.source.kind || entry.from.detail !== full.source.detail) {
    // New, or the same credential found in another place: then the same token, named with its new source.
    const scopesOfClient = byScope;
    const made = scopedAuth(full, scopes, stsEndpoint, entry, () => {
      if (scopesOfClient.get(key) === made) scopesOfClient.delete(key);
    });
    if (byScope.size >= 1000) byScope.clear();
    byScope.set(key, made);
    entry = made;
  }
  const auth = entry.ready ?? (await entry.auth);
  const runId = taskContext()?.runId ?? "no-run";
  if (entry.loggedRun !== runId) {
    entry.loggedRun = runId;
    logOncePerRun(auth.cacheKey, () => describeProvenance("GCP_CREDENTIALS", auth.source));
  }
  return auth;
}
