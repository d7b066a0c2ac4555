import type { AuthClient } from "google-auth-library";
import { loadGoogleAuthLibrary } from "./gcp-auth.js";

/** Google STS, where google-auth-library's `DownscopedClient` always exchanges tokens. */
const GOOGLE_STS_URL = "https://sts.googleapis.com/v1/token";

/** What one GCS task touches: one object or a listing prefix in one bucket, and what it does there. */
export interface GcsScope {
  bucket: string;
  /** One object name. */
  object?: string | undefined;
  /** A listing prefix (`""`: the whole bucket). */
  prefix?: string | undefined;
  /** `read` (get, list), `write` (create) or `delete`. */
  access: "read" | "write" | "delete";
}

const ROLES = {
  read: "inRole:roles/storage.objectViewer",
  write: "inRole:roles/storage.objectCreator",
  delete: "inRole:roles/storage.objectAdmin",
} as const;

/** The least-privilege options every GCS task takes. */
export interface GcsLeastPrivilegeOptions {
  /**
   * Use a downscoped token (a Credential Access Boundary on this task's bucket and object or prefix, through
   * google-auth-library's `DownscopedClient`): the token cannot reach any other bucket or object, whatever the
   * account may do. One extra token exchange per scope; cached after.
   */
  leastPrivilege?: boolean | undefined;
  /** Google STS for downscoping (a stand-in in tests). Default `https://sts.googleapis.com/v1/token`. */
  stsEndpoint?: string | undefined;
}

/** @internal The Credential Access Boundary rule of a scope, and the words the provenance log uses for it. */
export function gcsAccessBoundary(scope: GcsScope): {
  rule: {
    availableResource: string;
    availablePermissions: string[];
    availabilityCondition: { expression: string };
  };
  label: string;
} {
  const start = scope.object ?? scope.prefix ?? "";
  const objectClause = `resource.name.startsWith('projects/_/buckets/${scope.bucket}/objects/${start}')`;
  const expression =
    scope.object !== undefined
      ? objectClause
      : `${objectClause} || api.getAttribute('storage.googleapis.com/objectListPrefix', '').startsWith('${start}')`;
  return {
    rule: {
      availableResource: `//storage.googleapis.com/projects/_/buckets/${scope.bucket}`,
      availablePermissions: [ROLES[scope.access]],
      availabilityCondition: { expression },
    },
    label: `${scope.access} on gs://${scope.bucket}/${scope.object ?? `${start}*`}`,
  };
}

/** @internal A `DownscopedClient` over `source` for every scope of one task, exchanging at `stsEndpoint`. */
export async function downscopedClient(
  source: AuthClient,
  scopes: readonly GcsScope[],
  stsEndpoint: string | undefined,
): Promise<AuthClient> {
  const { DownscopedClient } = await loadGoogleAuthLibrary();
  const client = new DownscopedClient({
    authClient: source,
    credentialAccessBoundary: {
      accessBoundary: { accessBoundaryRules: scopes.map((scope) => gcsAccessBoundary(scope).rule) },
    },
  });
  if (stsEndpoint && stsEndpoint !== GOOGLE_STS_URL) {
    // The library always exchanges at Google's STS; its STS client's own transporter is pointed elsewhere.
    const sts = (client as unknown as { stsCredential: { transporter: AuthClient["transporter"] } })
      .stsCredential;
    sts.transporter.interceptors.request.add({
      resolved: async (config) => {
        const url = config.url instanceof URL ? config.url.href : String(config.url);
        if (url === GOOGLE_STS_URL) config.url = new URL(stsEndpoint);
        return config;
      },
    });
  }
  return client;
}
