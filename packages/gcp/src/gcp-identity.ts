import { type Identity, registerIdentityProbe } from "@tributary/auth";
import { type GcpCredentialOptions, gcpAuth } from "./gcp-auth.js";
import { toGcpError } from "./gcp-errors.js";

/** The principal a google-auth-library client acts as, read from the client (no extra call). */
function principalOf(client: object): string {
  const c = client as {
    email?: string;
    targetPrincipal?: string;
    getServiceAccountEmail?: () => string | null;
    audience?: string;
    _clientId?: string;
  };
  if (typeof c.email === "string" && c.email) return c.email;
  if (typeof c.targetPrincipal === "string" && c.targetPrincipal) return c.targetPrincipal;
  const impersonated = c.getServiceAccountEmail?.();
  if (impersonated) return decodeURIComponent(impersonated);
  if (typeof c.audience === "string") return `federated identity (${c.audience})`;
  return `user credentials (OAuth client ${c._clientId ?? "unknown"})`;
}

/**
 * Proves Google credentials with a token exchange (the JWT grant, the refresh, STS and IAM for keyless forms)
 * and returns the service account's email (or the federated identity) and the project.
 * @example
 * const who = await gcpIdentity();
 * console.log(who.principal); // etl@my-project.iam.gserviceaccount.com
 */
export async function gcpIdentity(options: GcpCredentialOptions = {}): Promise<Identity> {
  const auth = await gcpAuth(options);
  try {
    await auth.client.getAccessToken();
  } catch (error) {
    throw toGcpError(error, { service: "Google OAuth", source: auth.source, resource: "a token exchange" });
  }
  return {
    name: options.secretName ?? "GCP_CREDENTIALS",
    service: "Google OAuth",
    principal: principalOf(auth.client),
    account: await auth.getProjectId(),
    source: auth.source,
  };
}

registerIdentityProbe("GCP_CREDENTIALS", (options) =>
  gcpIdentity(options.secretName !== undefined ? { secretName: options.secretName } : {}),
);
