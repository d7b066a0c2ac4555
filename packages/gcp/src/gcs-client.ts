import type { storage_v1 } from "@googleapis/storage";
import { clientCache, credentialFingerprint, describeSource, ValidationError } from "@tributary/auth";
import { taskContext } from "@tributary/flow";
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

const said = new Set<string>();

/** A downscoped credential for `scope`, cached per credential and scope; its provenance logged once per run. */
async function scoped(
  full: GcpAuth,
  scopes: readonly GcsScope[],
  stsEndpoint: string | undefined,
): Promise<GcpAuth> {
  const label = scopes.map((scope) => gcsAccessBoundary(scope).label).join("; ");
  const cacheKey = `${full.cacheKey}:scoped-${credentialFingerprint([label, stsEndpoint ?? ""])}`;
  const client = await clientCache.get(`gauth-scoped:${cacheKey}`, () => {
    const p = downscopedClient(full.client, scopes, stsEndpoint);
    p.catch(() => clientCache.clear(`gauth-scoped:${cacheKey}`));
    return p;
  });
  const source = { ...full.source, detail: `${full.source.detail}, scoped to ${label}` };
  const context = taskContext();
  const once = `${context?.runId ?? "no-run"}:${cacheKey}`;
  if (!said.has(once)) {
    if (said.size > 1000) said.clear();
    said.add(once);
    const message = `GCP_CREDENTIALS from ${describeSource(source)}`;
    if (context) context.log.info(message);
    else console.info(message);
  }
  return { client, source, cacheKey, getProjectId: full.getProjectId };
}
