import type { StandardSchemaV1 } from "@standard-schema/spec";
import type { AwsCredentials, GcpCredentials, GithubAppCredentials } from "./default-secrets.js";

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
}

/** The value type of a secret name: its registered type, or `unknown` for a name nobody registered. */
export type SecretValue<N extends string> = N extends keyof SecretRegistry ? SecretRegistry[N] : unknown;

/** What stands behind a secret name when it is found nowhere: the service library's own default. */
export interface SecretFallback {
  /** One line saying what the default is, such as "AWS SDK default provider chain". */
  description: string;
  /**
   * Plain env vars read, in order, by the core itself (`["GITHUB_TOKEN", "GH_TOKEN"]`). Without them the
   * integration hands over to its SDK's own chain, and `resolveSecret` returns `value: undefined`.
   */
  env?: readonly string[];
}

/** Everything Tributary knows about one secret name. */
export interface SecretDefinition<T = unknown, N extends string = string> {
  /** The name: upper case, digits and single underscores (`__` separates nested env fields). */
  readonly name: N;
  /** Any Standard Schema (valibot, zod, arktype …) the value must pass. Must validate synchronously. */
  readonly schema: StandardSchemaV1<unknown, T>;
  /** `"json"`: an object, given as JSON text where text is all a source holds. `"string"`: kept as it is. */
  readonly format: "json" | "string";
  /** One line for the docs table and `tributary doctor`. */
  readonly description: string;
  /** The services that read it. */
  readonly services: readonly string[];
  /** The library default behind it, or none. */
  readonly fallback?: SecretFallback;
}

/** The options of `defineSecret`. */
export interface DefineSecretOptions<T, N extends string> {
  /** The name: upper case, digits and single underscores. */
  name: N;
  /** The schema the value must pass (any Standard Schema). */
  schema: StandardSchemaV1<unknown, T>;
  /** `"json"` for object-shaped secrets; default `"string"`. */
  format?: "json" | "string";
  /** One line describing the secret. */
  description: string;
  /** The services that read it. */
  services: readonly string[];
  /** The library default behind it, if any. */
  fallback?: SecretFallback;
}

const NAME = /^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/;
const REGISTRY_KEY = Symbol.for("tributary.auth.registry");
const registry: Map<string, SecretDefinition> =
  ((globalThis as Record<symbol, unknown>)[REGISTRY_KEY] as Map<string, SecretDefinition> | undefined) ??
  ((globalThis as Record<symbol, unknown>)[REGISTRY_KEY] = new Map<string, SecretDefinition>());

/** Throws a `TypeError` unless `name` is a valid secret name. */
export function assertSecretName(name: string): void {
  if (typeof name !== "string" || !NAME.test(name)) {
    throw new TypeError(
      `Invalid secret name ${JSON.stringify(String(name).slice(0, 64))}: use upper case letters, digits and single underscores, such as MY_API_KEY.`,
    );
  }
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
  assertSecretName(options.name);
  const definition: SecretDefinition<T, N> = Object.freeze({
    name: options.name,
    schema: options.schema,
    format: options.format ?? "string",
    description: options.description,
    services: Object.freeze([...options.services]),
    ...(options.fallback ? { fallback: Object.freeze({ ...options.fallback }) } : {}),
  });
  const existing = registry.get(options.name);
  if (existing && existing.description !== definition.description) {
    throw new TypeError(`Secret ${options.name} is already defined ("${existing.description}").`);
  }
  registry.set(options.name, definition as SecretDefinition);
  return definition;
}

/** Every registered secret name, in the order they were defined (the docs table and `doctor` read this). */
export function listSecrets(): readonly SecretDefinition[] {
  return [...registry.values()];
}

/** The definition of one name, or `undefined` when nobody registered it. */
export function getSecretDefinition<N extends string>(
  name: N,
): SecretDefinition<SecretValue<N>, N> | undefined {
  return registry.get(name) as SecretDefinition<SecretValue<N>, N> | undefined;
}
