import {
  ENV_PREFIX,
  findSecret,
  getSecretDefinition,
  InvalidSecretError,
  type LocalStore,
  listSecrets,
  MissingCredentialsError,
  registeredNameLike,
  resolveSecret,
  type SecretFieldIssue,
  type SecretSource,
  SecretStoreError,
  TributaryError,
} from "@tributary/auth";

/**
 * What `secrets list` and `doctor` report for one name:
 * - `ok`: found and valid;
 * - `default-chain`: found nowhere in Tributary's sources, and the SDK's default chain can only get one from a
 *   network endpoint (an instance metadata server) that was not asked: not verified;
 * - `missing`: found nowhere;
 * - `invalid`: found but malformed (no fall-through to other sources);
 * - `error`: could not be checked (the store file is unsafe or corrupt).
 */
export type SecretStatus = "ok" | "default-chain" | "missing" | "invalid" | "error";

/** One name's report. Never holds a value. */
export interface SecretReport {
  /** The secret name. */
  name: string;
  /** Whether the name is in the registry (unregistered names have no schema: any text passes). */
  registered: boolean;
  /** The registry's one-line description. */
  description?: string;
  /** See `SecretStatus`. */
  status: SecretStatus;
  /** Where the value resolves from (or, for `invalid`/`error`, where the bad value or broken store is). */
  source?: SecretSource;
  /** For `invalid`: the failing fields. */
  issues?: readonly SecretFieldIssue[];
  /** For `invalid` and `error`: the Tributary error code and message. */
  error?: { code: string; message: string };
  /** Places further down the resolution order that also hold a value, and are therefore not used. */
  shadowed?: SecretSource[];
  /** For `missing`: how to set it. */
  howToSet?: string[];
  /** For `missing` names backed by an SDK's default chain: each place the chain looks, and what was there. */
  looked?: { place: string; outcome: string }[];
  /** For an unregistered name that looks like a registered one: the registered name. */
  didYouMean?: string;
}

/** Every name worth reporting: the registry, then unregistered names found in the store or in the environment. */
export function namesToReport(store: LocalStore): { names: string[]; storeError?: SecretStoreError } {
  const registered = listSecrets().map((d) => d.name);
  const extra = new Set<string>();
  let storeError: SecretStoreError | undefined;
  try {
    for (const name of store.names()) extra.add(name);
  } catch (error) {
    if (!SecretStoreError.isInstance(error)) throw error;
    storeError = error;
  }
  for (const key of Object.keys(process.env)) {
    if (!key.startsWith(ENV_PREFIX)) continue;
    const name = key.slice(ENV_PREFIX.length).split("__")[0] ?? "";
    if (/^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/.test(name)) extra.add(name);
  }
  for (const name of registered) extra.delete(name);
  return { names: [...registered, ...[...extra].sort()], ...(storeError ? { storeError } : {}) };
}

/** The places, in resolution order after the run's own values, that hold a value for `name`. */
function placesHolding(name: string, store: LocalStore): SecretSource[] {
  const places: SecretSource[] = [];
  const flat = `${ENV_PREFIX}${name}`;
  if (process.env[flat] !== undefined) places.push({ kind: "env", detail: flat });
  else if (Object.keys(process.env).some((k) => k.startsWith(`${flat}__`))) {
    places.push({ kind: "env", detail: `${flat}__<FIELD>` });
  }
  try {
    if (store.get(name) !== undefined) places.push({ kind: "store", detail: store.path });
  } catch {
    // An unreadable store is reported on its own.
  }
  for (const variable of getSecretDefinition(name)?.fallback?.env ?? []) {
    if (process.env[variable] !== undefined)
      places.push({ kind: "default-chain", detail: `env ${variable}` });
  }
  return places;
}

function shadowedBy(winner: SecretSource, places: SecretSource[]): SecretSource[] {
  const index = places.findIndex((p) => p.kind === winner.kind && p.detail === winner.detail);
  return index === -1 ? [] : places.slice(index + 1);
}

/**
 * Checks one name through the resolution order, with no runtime argument and no run: exactly what a task
 * started from this shell would get. With `defaultChain`, names found nowhere fall back to the library default
 * (as `resolveSecret` does); without it, they are `missing` (as `findSecret`).
 */
export async function inspectSecret(
  name: string,
  store: LocalStore,
  options: { defaultChain: boolean },
): Promise<SecretReport> {
  const def = getSecretDefinition(name);
  const like = registeredNameLike(name);
  const base = {
    name,
    registered: def !== undefined,
    ...(def ? { description: def.description } : {}),
    ...(like ? { didYouMean: like } : {}),
  };
  const places = placesHolding(name, store);
  const withShadowed = (report: SecretReport): SecretReport => {
    const shadowed = report.source ? shadowedBy(report.source, places) : [];
    return shadowed.length > 0 ? { ...report, shadowed } : report;
  };
  try {
    const resolution = options.defaultChain ? await resolveSecret(name) : await findSecret(name);
    if (!resolution) return { ...base, status: "missing", howToSet: howToSet(name) };
    if ("chain" in resolution && resolution.chain !== "found") {
      return { ...base, status: "default-chain", source: resolution.source };
    }
    return withShadowed({ ...base, status: "ok", source: resolution.source });
  } catch (error) {
    if (InvalidSecretError.isInstance(error)) {
      return withShadowed({
        ...base,
        status: "invalid",
        source: error.source,
        issues: error.issues,
        error: { code: error.code, message: error.message },
      });
    }
    if (MissingCredentialsError.isInstance(error)) {
      const looked = error.tried
        .filter((t) => t.source.kind === "default-chain" && !def?.fallback?.env)
        .map((t) => ({ place: t.source.detail, outcome: t.outcome }));
      const chainHow = looked.length > 0 ? error.tried.at(-1)?.howToSet : undefined;
      return {
        ...base,
        status: "missing",
        howToSet: [...howToSet(name), ...(chainHow ? [chainHow] : [])],
        ...(looked.length > 0 ? { looked } : {}),
      };
    }
    if (SecretStoreError.isInstance(error)) {
      return {
        ...base,
        status: "error",
        source: { kind: "store", detail: error.path },
        error: { code: error.code, message: error.message },
      };
    }
    if (TributaryError.isInstance(error)) {
      return { ...base, status: "error", error: { code: error.code, message: error.message } };
    }
    throw error;
  }
}

/** The ways to give `name` a value from a shell. */
export function howToSet(name: string): string[] {
  const ways = [`tributary secrets set ${name}`, `export ${ENV_PREFIX}${name}=…`];
  for (const variable of getSecretDefinition(name)?.fallback?.env ?? []) ways.push(`export ${variable}=…`);
  return ways;
}
