import { getSecretDefinition, listSecrets } from "./registry.js";
import { ENV_PREFIX as ENV_PREFIX_TEXT } from "./resolve-secret.js";
import { localStore } from "./store.js";

/** The edit distance of two words: insertions, deletions, substitutions and swaps of two neighbours each count 1. */
export function editDistance(a: string, b: string): number {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      if (i === 0) {
        row.push(j);
        continue;
      }
      const prev = rows[i - 1] as number[];
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d = Math.min(d, ((rows[i - 2] as number[])[j - 2] as number) + 1);
      }
      row.push(d);
    }
    rows.push(row);
  }
  return (rows[a.length] as number[])[b.length] as number;
}

/**
 * Whether `typed` looks like a slip for `meant`: the same word in another case, a few letters off (one for short
 * words, two from eight letters), or `meant` with a suffix such as `_ID` added.
 */
export function looksLike(typed: string, meant: string): boolean {
  if (typed === meant) return false;
  const a = typed.toUpperCase().replace(/-/g, "_");
  const b = meant.toUpperCase();
  if (a === b) return true;
  if (b.length >= 4 && a.startsWith(`${b}_`)) return true;
  return editDistance(a, b) <= (Math.min(a.length, b.length) >= 8 ? 2 : 1);
}

/** The closest of `candidates` that `typed` looks like a slip for, or `undefined`. */
export function closestName(typed: string, candidates: Iterable<string>): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const candidate of candidates) {
    if (!looksLike(typed, candidate)) continue;
    const distance = editDistance(typed.toUpperCase(), candidate.toUpperCase());
    if (!best || distance < best.distance) best = { name: candidate, distance };
  }
  return best?.name;
}

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
