import { ENV_PREFIX } from "@tributary/auth";

/** The agent's own variables that reach a child-process run, besides the `-e` secrets: `LC_*` too. */
export const RUN_ENV_ALLOW_LIST: readonly string[] = Object.freeze(["PATH", "HOME", "TZ", "LANG", "TMPDIR"]);

/** True when the agent's variable `name` is passed to child-process runs (the allow-list, or a `LC_*` locale). */
export function isAllowedRunVariable(name: string): boolean {
  return RUN_ENV_ALLOW_LIST.includes(name) || /^LC_[A-Z]+$/.test(name);
}

/**
 * The environment of a child-process run, built from nothing: each secret as `TRIBUTARY__CONTEXT__SECRETS__<NAME>`
 * (objects as JSON), plus the allow-listed variables of `from`. Nothing else of the agent's environment is kept.
 * @example
 * runEnvironment({ SLACK_WEBHOOK_URL: url }); // { TRIBUTARY__CONTEXT__SECRETS__SLACK_WEBHOOK_URL: url, PATH: …, HOME: … }
 */
export function runEnvironment(
  secrets: Readonly<Record<string, unknown>>,
  from: Readonly<Record<string, string | undefined>> = process.env,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(from)) {
    if (value !== undefined && isAllowedRunVariable(name)) env[name] = value;
  }
  for (const [name, value] of Object.entries(secrets)) {
    if (value === undefined) continue;
    env[`${ENV_PREFIX}${name}`] = typeof value === "string" ? value : JSON.stringify(value);
  }
  return env;
}
