/** The prefix of the environment source: `TRIBUTARY__CONTEXT__SECRETS__<NAME>` (and `…__<NAME>__<FIELD>`). */
export const ENV_PREFIX = "TRIBUTARY__CONTEXT__SECRETS__";

/** The kinds of place a secret can come from, in the order they are tried. */
export type SecretSourceKind = "argument" | "run" | "env" | "store" | "backend" | "default-chain";

/** Where a resolved secret came from: safe to log, never holds the value. */
export interface SecretSource {
  /** The kind of place. */
  kind: SecretSourceKind;
  /** The exact place: the option name, the env var, the store file, the backend and key. */
  detail: string;
}

/** Formats a source for a log line: `env (TRIBUTARY__CONTEXT__SECRETS__AWS_CREDENTIALS)`. */
export function describeSource(source: SecretSource): string {
  return `${source.kind} (${source.detail})`;
}
