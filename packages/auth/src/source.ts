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
  /**
   * What kind of credential the value is, as its definition describes it (`service account etl@…`,
   * `web identity, role arn:…`): never a secret.
   */
  summary?: string;
}

/** Formats a source for a log line: `env (TRIBUTARY__CONTEXT__SECRETS__AWS_CREDENTIALS)`. */
export function describeSource(source: SecretSource): string {
  return `${source.kind} (${source.detail})`;
}

/**
 * The provenance line a task logs for a credential: where it came from and what kind of credential it is, never a
 * value. `AWS_CREDENTIALS from env (TRIBUTARY__CONTEXT__SECRETS__AWS_CREDENTIALS): web identity, role arn:…`
 */
export function describeProvenance(name: string, source: SecretSource): string {
  return `${name} from ${describeSource(source)}${source.summary ? `: ${source.summary}` : ""}`;
}
