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
  /**
   * Looks for the SDK chain's credential without the network (env, files), so that a name found nowhere fails
   * before a run starts instead of deep inside the SDK. Without it the chain is trusted blindly.
   */
  probe?: () => DefaultChainProbe;
}

/** What a default-chain probe saw, without the network. */
export interface DefaultChainProbe {
  /**
   * `found`: a credential is there (`detail` says where); `not-found`: nowhere the chain looks;
   * `unverified`: only a network endpoint can tell (an instance metadata server), and it was not asked.
   */
  status: "found" | "not-found" | "unverified";
  /** Where the credential is, or which endpoint would be asked. */
  detail: string;
  /** Each place looked at and what was there, in the chain's order. */
  looked: readonly { place: string; outcome: string }[];
  /** How to give the chain a credential, for error messages. */
  howToSet: string;
}

/** The top-level fields of an object-shaped secret, so that unknown or misspelled fields are named. */
export interface SecretFields {
  /** Every field the schema reads. */
  known: readonly string[];
  /** `"reject"`: any other field is an error. `"allow"`: others pass, unless they look like a misspelled known field. */
  others: "reject" | "allow";
  /** Other spellings accepted for a field and renamed to it (`{ accessKeyId: "ACCESS_KEY" }`); provenance says so. */
  aliases?: Readonly<Record<string, string>>;
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
  /** For JSON-shaped names: the fields it has, so that unknown ones are named. */
  readonly fields?: SecretFields;
  /**
   * For JSON-shaped names: the fields whose values are secret, as dotted paths (`"credential_source.headers"`
   * covers every value under it). Only these, and fields whose names look secret, are masked. Absent: every
   * text field is masked.
   */
  readonly secretFields?: readonly string[];
  /** Says what kind of credential a checked value is, without any secret (`service account etl@…`). */
  describe?(value: T): string | undefined;
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
  /** For JSON-shaped names: the fields it has, so that unknown or misspelled ones are named. */
  fields?: SecretFields;
  /**
   * For JSON-shaped names: the fields whose values are secret, as dotted paths into the value (`"password"`,
   * `"credential_source.headers"` for every value under that field). Only these are registered with the masker,
   * so that a host, a region or an account name stays readable in logs. A field whose name looks secret
   * (`password`, `secret`, `token`, `key`, `private`, `credential`, `auth` …) is masked whether listed or not.
   * Leave it out to mask every text field (the safe default).
   * @example
   * defineSecret({ name: "WAREHOUSE_LOGIN", format: "json", schema, description: "…", services: ["warehouse"],
   *   secretFields: ["password"] }); // host and user stay readable
   */
  secretFields?: readonly string[];
  /**
   * Says what kind of credential a checked value is, for the line a task logs about where it came from
   * (`AWS_CREDENTIALS from env (…): web identity, role arn:…`). It must never return a secret field's value;
   * what it returns is masked all the same.
   */
  describe?(value: T): string | undefined;
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
  if (options.secretFields !== undefined) {
    const fields = options.secretFields as unknown;
    if (
      !Array.isArray(fields) ||
      fields.some((f) => typeof f !== "string" || !/^[^.\s]+(\.[^.\s]+)*$/.test(f))
    ) {
      throw new ValidationError(
        "secretFields",
        `of ${options.name} must be a list of field names or dotted paths, such as ["password", "headers.authorization"]`,
      );
    }
    if ((options.format ?? "string") !== "json") {
      throw new ValidationError(
        "secretFields",
        `of ${options.name} needs format: "json": a string secret is masked whole`,
      );
    }
  }
  return Object.freeze({
    name: options.name,
    schema: options.schema,
    format: options.format ?? "string",
    description: options.description,
    services: Object.freeze([...options.services]),
    ...(options.fallback ? { fallback: Object.freeze({ ...options.fallback }) } : {}),
    ...(options.fields ? { fields: Object.freeze({ ...options.fields }) } : {}),
    ...(options.secretFields ? { secretFields: Object.freeze([...options.secretFields]) } : {}),
    ...(options.describe ? { describe: options.describe } : {}),
  });
}
