import {
  type AwsCredentials,
  defaultSecrets,
  type GcpCredentials,
  type GithubAppCredentials,
} from "./default-secrets.js";
import { processSingleton } from "./process-singleton.js";

/**
 * The types of the registered secret names. Add yours through declaration merging so that
 * `resolveSecret("MY_NAME")` is typed:
 * @example
 * declare module "@tributary/auth" {
 *   interface SecretRegistry { MY_API_KEY: string }
 * }
 */
export interface SecretRegistry {
  AWS_CREDENTIALS: AwsCredentials;
  GCP_CREDENTIALS: GcpCredentials;
  SLACK_WEBHOOK_URL: string;
  SLACK_BOT_TOKEN: string;
  GITHUB_ACCESS_TOKEN: string;
  GITHUB_APP_CREDENTIALS: GithubAppCredentials;
  TRIBUTARY_SIGNING_KEY: string;
}

/** The value type of a secret name: its registered type, or `unknown` for a name nobody registered. */
export type SecretValue<N extends string> = N extends keyof SecretRegistry ? SecretRegistry[N] : unknown;

import { type DefineSecretOptions, type SecretDefinition, secretDefinition } from "./secret-definition.js";

/** The registry, seeded with the default names on first use. */
let entries: Map<string, SecretDefinition> | undefined;
function registry(): Map<string, SecretDefinition> {
  entries ??= processSingleton(
    "auth.registry",
    () => new Map<string, SecretDefinition>(defaultSecrets.map((d) => [d.name, d as SecretDefinition])),
  );
  return entries;
}

/**
 * Adds a secret name to the registry — the same call that defines Tributary's own names. Defining a name twice
 * with a different description is an error.
 * @example
 * export const MY_API_KEY = defineSecret({
 *   name: "MY_API_KEY", schema: v.pipe(v.string(), v.minLength(20)),
 *   description: "API key for the billing service", services: ["billing"],
 * });
 */
export function defineSecret<T, N extends string>(
  options: DefineSecretOptions<T, N>,
): SecretDefinition<T, N> {
  const definition = secretDefinition(options);
  const existing = registry().get(options.name);
  if (existing && existing.description !== definition.description) {
    throw new TypeError(`Secret ${options.name} is already defined ("${existing.description}").`);
  }
  registry().set(options.name, definition as SecretDefinition);
  return definition;
}

/** Every registered secret name, in the order they were defined (the docs table and `doctor` read this). */
export function listSecrets(): readonly SecretDefinition[] {
  return [...registry().values()];
}

/** The definition of one name, or `undefined` when nobody registered it. */
export function getSecretDefinition<N extends string>(
  name: N,
): SecretDefinition<SecretValue<N>, N> | undefined {
  return registry().get(name) as SecretDefinition<SecretValue<N>, N> | undefined;
}
