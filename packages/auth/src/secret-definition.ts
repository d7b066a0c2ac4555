import type { StandardSchemaV1 } from "@standard-schema/spec";
import { ValidationError } from "./errors.js";

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
/**
 * Throws a `ValidationError` unless `name` is a valid secret name. Every entry point applies it (the resolver, run
 * values, the local store, backends, the CLI), so names such as `__proto__` or `../x` never reach an object or a path.
 */
export function assertSecretName(name: string): void {
  if (typeof name !== "string" || !NAME.test(name)) {
    const shown = typeof name === "string" ? name.slice(0, 64) : String(name);
    throw new ValidationError(
      "secret name",
      `${JSON.stringify(shown)}: use upper case letters, digits and single underscores, such as MY_API_KEY.`,
    );
  }
}

/** Builds a frozen, checked definition without registering it (`defineSecret` registers). */
export function secretDefinition<T, N extends string>(
  options: DefineSecretOptions<T, N>,
): SecretDefinition<T, N> {
  assertSecretName(options.name);
  return Object.freeze({
    name: options.name,
    schema: options.schema,
    format: options.format ?? "string",
    description: options.description,
    services: Object.freeze([...options.services]),
    ...(options.fallback ? { fallback: Object.freeze({ ...options.fallback }) } : {}),
  });
}
