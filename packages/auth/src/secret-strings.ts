import { type RegisterOptions, registerSecretValue } from "./mask.js";
import { getSecretDefinition } from "./registry.js";
import type { SecretDefinition } from "./secret-definition.js";

/** Words that make a field's name look secret. */
const SECRET_WORDS = new Set([
  "password",
  "passwd",
  "pwd",
  "pass",
  "passphrase",
  "secret",
  "secrets",
  "token",
  "tokens",
  "key",
  "keys",
  "apikey",
  "private",
  "privatekey",
  "credential",
  "credentials",
  "creds",
  "auth",
  "authorization",
  "cookie",
  "cookies",
  "signature",
  "webhook",
]);

/**
 * A last word that makes such a name describe a secret rather than hold one: `token_uri`, `key_id`,
 * `WEB_IDENTITY_TOKEN_FILE`, `subject_token_type`, `credential_source`.
 */
const ABOUT_WORDS = new Set([
  "uri",
  "url",
  "file",
  "path",
  "dir",
  "type",
  "name",
  "id",
  "source",
  "format",
  "field",
  "env",
  "lifetime",
  "seconds",
  "ttl",
  "expiry",
  "expires",
  "expiration",
  "endpoint",
]);

function words(name: string): string[] {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
}

/**
 * True when a field's name says it holds a secret: a word such as `password`, `secret`, `token`, `key`,
 * `private`, `credential` or `auth`, unless its last word says it is about one (`key_id`, `token_uri`,
 * `WEB_IDENTITY_TOKEN_FILE`). A webhook's URL is the secret itself. Such a field of a secret value is masked
 * whatever the secret's definition lists.
 */
export function looksSecretField(name: string): boolean {
  let secret = judged.get(name);
  if (secret === undefined) {
    secret = judge(name);
    if (judged.size >= 1000) judged.clear();
    judged.set(name, secret);
  }
  return secret;
}

/** Field names already judged: a definition has a handful, read on every run. */
const judged = new Map<string, boolean>();

function judge(name: string): boolean {
  const w = words(name);
  if (!w.some((word) => SECRET_WORDS.has(word))) return false;
  const last = w[w.length - 1] as string;
  if (w.includes("webhook") && (last === "url" || last === "uri")) return true;
  return !ABOUT_WORDS.has(last);
}

const MAX_DEPTH = 8;

/** A header's credential without its scheme (`Bearer …`, `Basic …`) can appear on its own. */
const SCHEME = /^(?:bearer|basic|token)\s+(\S+)$/i;

/** Every string in `value` (itself, or the fields of an object or array, `MAX_DEPTH` levels deep). */
function everyString(value: unknown, out: Set<string>, depth: number): void {
  if (typeof value === "string") {
    out.add(value);
    const credential = SCHEME.exec(value)?.[1];
    if (credential) out.add(credential);
  } else if (value && typeof value === "object" && depth < MAX_DEPTH) {
    for (const field of Object.values(value)) everyString(field, out, depth + 1);
  }
}

/** The credential in a URL that is not secret as a whole: its password, and query values with secret names. */
function urlCredentials(text: string, out: Set<string>): void {
  // Only a user-info part or a query can hold a credential.
  if ((!text.includes("@") && !text.includes("?")) || !/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) return;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return;
  }
  if (url.password) {
    out.add(url.password);
    try {
      out.add(decodeURIComponent(url.password));
    } catch {
      // Kept as written: not valid percent-encoding.
    }
  }
  for (const [name, value] of url.searchParams) if (looksSecretField(name)) out.add(value);
}

/** The strings of a structured value that are secret: listed paths, secret-looking names, URL credentials. */
function listedStrings(
  value: unknown,
  path: string,
  listed: ReadonlySet<string>,
  aliases: Readonly<Record<string, string>>,
  out: Set<string>,
  depth: number,
): void {
  if (typeof value === "string") {
    urlCredentials(value, out);
    return;
  }
  if (!value || typeof value !== "object" || depth >= MAX_DEPTH) return;
  for (const [key, field] of Object.entries(value)) {
    // Array items are at their array's path.
    const name = Array.isArray(value) ? undefined : depth === 0 ? (aliases[key] ?? key) : key;
    const at = name === undefined ? path : path ? `${path}.${name}` : name;
    if (name !== undefined && (listed.has(at) || looksSecretField(name) || looksSecretField(key))) {
      everyString(field, out, depth + 1);
    } else listedStrings(field, at, listed, aliases, out, depth + 1);
  }
}

/**
 * The one answer to "which strings of this named value are secret", for every place that registers a value with
 * the masker. A string is secret whole; a JSON text of a JSON-shaped name is secret whole and so are its secret
 * fields. Of an object, the fields the name's definition lists in `secretFields` and those whose names look
 * secret (`looksSecretField`), plus any password or token inside a URL; with no definition, or a definition
 * without `secretFields`, every string field.
 * @example
 * secretStrings("AWS_CREDENTIALS", { ACCESS_KEY: id, SECRET_ACCESS_KEY: key, REGION: "us-east-1" }); // [id, key]
 */
export function secretStrings(
  name: string,
  value: unknown,
  def: SecretDefinition | undefined = getSecretDefinition(name),
): string[] {
  const out = new Set<string>();
  let structured = value;
  if (typeof value === "string") {
    out.add(value);
    if (def?.format !== "json") return [...out];
    try {
      structured = JSON.parse(value);
    } catch {
      return [...out];
    }
  }
  if (!def?.secretFields) everyString(structured, out, 0);
  else {
    listedStrings(structured, "", new Set(def.secretFields), def.fields?.aliases ?? {}, out, 0);
  }
  return [...out];
}

/**
 * Registers the secret strings of a named value with the masker (see `secretStrings`): what the resolver, run
 * secrets, `tributary secrets set` and an agent's `-e` values all do with a value, so that a region or an email
 * beside a key stays readable while the key is masked in every encoded form.
 */
export function registerSecret(name: string, value: unknown, options: RegisterOptions = {}): void {
  registerSecretValue(secretStrings(name, value), options);
}
