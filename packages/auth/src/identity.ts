import { ValidationError } from "./errors.js";
import { processSingleton } from "./process-singleton.js";
import type { SecretSource } from "./source.js";

/** Who a credential really is, as the service itself says after one cheap live call. Never holds a secret. */
export interface Identity {
  /** The secret name that was checked, such as `AWS_CREDENTIALS`. */
  name: string;
  /** The service that answered, such as `AWS STS`. */
  service: string;
  /** The principal: an ARN, a service-account email, a login, a bot user. */
  principal: string;
  /** The account, project, team or installation owner, when the service names one. */
  account?: string | undefined;
  /** The role the credential acts as, when it assumed one: an IAM role ARN (`arn:aws:iam::123456789012:role/etl`). */
  role?: string | undefined;
  /** Where the credential came from. */
  source: SecretSource;
}

/** The options an identity probe takes: which secret name to read instead of the default one, and endpoints. */
export interface IdentityProbeOptions {
  /** Read this secret name instead of the default one. */
  secretName?: string | undefined;
  /** The service's base URL (a stand-in, an Enterprise server). */
  endpoint?: string | undefined;
}

/** Proves a credential with one live call and says whose it is. */
export type IdentityProbe = (options: IdentityProbeOptions) => Promise<Identity>;

const probes = processSingleton("identity-probes", () => new Map<string, IdentityProbe>());

/** Registers how to prove the credential behind a default name (each integration registers its own names). */
export function registerIdentityProbe(name: string, probe: IdentityProbe): void {
  probes.set(name, probe);
}

/** The default names whose identity can be checked: those of the integrations loaded in this process. */
export function identityProbeNames(): string[] {
  return [...probes.keys()].sort();
}

/**
 * Resolves the credential behind `name` in the usual order and proves it with one cheap live call (STS
 * `GetCallerIdentity`, a Google token exchange, Slack `auth.test`, GitHub `GET /user` or the App's installation),
 * returning whose it is. A rejected credential throws the integration's `CredentialRejectedError` with the
 * service's reason. The integration's package must be loaded (`import "@tributary/aws"`).
 * @example
 * import "@tributary/aws";
 * const who = await describeIdentity("AWS_CREDENTIALS");
 * console.log(who.principal); // arn:aws:sts::123456789012:assumed-role/etl-runner/tributary-…
 */
export async function describeIdentity(name: string, options: IdentityProbeOptions = {}): Promise<Identity> {
  const probe = probes.get(name);
  if (!probe) {
    const known = identityProbeNames();
    throw new ValidationError(
      "name",
      `no identity check is registered for ${name}${known.length ? ` (known: ${known.join(", ")})` : ""}: import the integration package that reads it, such as @tributary/aws`,
    );
  }
  return probe(options);
}
