import { closestName, looksLike } from "./name-likeness.js";
import { getSecretDefinition, listSecrets } from "./registry.js";
import { ENV_PREFIX as ENV_PREFIX_TEXT } from "./source.js";
import { localStore } from "./store.js";

/** The registered name an unregistered `name` looks like a misspelling of, or `undefined`. */
export function registeredNameLike(name: string): string | undefined {
  if (getSecretDefinition(name)) return undefined;
  return closestName(
    name,
    listSecrets().map((d) => d.name),
  );
}

/** A name set somewhere a run looks (env or the local store), with where it is set. */
export interface NamePlace {
  /** The secret name. */
  name: string;
  /** Where it is set: the env variable, or the store file. */
  where: string;
}

/** Every name set in the environment with the Tributary prefix, and in the local store (when it can be read). */
export function namesSetNearby(): NamePlace[] {
  const places: NamePlace[] = [];
  const seen = new Set<string>();
  for (const key of Object.keys(process.env)) {
    if (!key.startsWith(ENV_PREFIX_TEXT)) continue;
    const name = key.slice(ENV_PREFIX_TEXT.length).split("__")[0] ?? "";
    if (name === "" || seen.has(`env:${name}`)) continue;
    seen.add(`env:${name}`);
    places.push({
      name,
      where: `${ENV_PREFIX_TEXT}${name}${key.length > ENV_PREFIX_TEXT.length + name.length ? "__…" : ""}`,
    });
  }
  try {
    const store = localStore();
    for (const name of store.names()) places.push({ name, where: `the local store (${store.path})` });
  } catch {
    // An unreadable store is reported by the store itself.
  }
  return places;
}

/**
 * Lines for `MissingCredentialsError` when `target` was not found but a name that looks like it is set:
 * "TRIBUTARY__CONTEXT__SECRETS__AWS_CREDENTAILS is set: did you mean AWS_CREDENTIALS?".
 */
export function didYouMeanLines(target: string): string[] {
  const lines: string[] = [];
  const registered = registeredNameLike(target);
  if (registered) lines.push(`${target} is not a registered name: did you mean ${registered}?`);
  for (const place of namesSetNearby()) {
    if (!looksLike(place.name, target)) continue;
    lines.push(
      getSecretDefinition(target) && !getSecretDefinition(place.name)
        ? `${place.where} is set: did you mean ${target}?`
        : `${target} is not set, but ${place.name} is (${place.where}): did you mean ${place.name}?`,
    );
  }
  return lines;
}
