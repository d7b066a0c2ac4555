import { findSecret, MissingCredentialsError, registerSecret, resolveSecret } from "@tributary/auth";
import { checkSecretName, UsageError } from "./parse-command-args.js";

/** The `-e` options of `agent start`: names whose value the agent looks up itself, and values given as is. */
export interface AgentSecrets {
  /** The names passed to runs. */
  readonly names: readonly string[];
  /**
   * The values for one run: given values as they are, looked-up names resolved again (rotated values are seen). With
   * no name to look up, the same values at once, without a promise.
   */
  values(): Readonly<Record<string, unknown>> | Promise<Readonly<Record<string, unknown>>>;
}

/**
 * Reads `-e NAME` and `-e NAME=VALUE` options. A given value is registered with the masker for the life of the
 * process; a name alone is looked up now (env, local store) so a missing one stops the agent before it takes any
 * run, with the list of places tried.
 */
export async function agentSecrets(options: readonly string[], usage: string): Promise<AgentSecrets> {
  const given = new Map<string, string>();
  const lookedUp: string[] = [];
  for (const option of options) {
    const eq = option.indexOf("=");
    const name = checkSecretName(eq < 0 ? option : option.slice(0, eq), usage);
    if (given.has(name) || lookedUp.includes(name)) throw new UsageError(`-e ${name} is given twice`, usage);
    if (eq < 0) {
      lookedUp.push(name);
      continue;
    }
    const value = option.slice(eq + 1);
    if (value === "") throw new UsageError(`-e ${name}= has an empty value`, usage);
    registerSecret(name, value);
    given.set(name, value);
  }
  const lookUp = async (name: string) => {
    const found = await findSecret(name);
    if (found) return found.value;
    // Same lookup, for its message: every place tried and how to set each.
    await resolveSecret(name, { secretName: name });
    throw new MissingCredentialsError(name, []);
  };
  for (const name of lookedUp) await lookUp(name);
  const fixed: Readonly<Record<string, unknown>> = Object.freeze(Object.fromEntries(given));
  return {
    names: [...lookedUp, ...given.keys()],
    values() {
      if (lookedUp.length === 0) return fixed;
      return (async () => {
        const values: Record<string, unknown> = { ...fixed };
        for (const name of lookedUp) values[name] = await lookUp(name);
        return values;
      })();
    },
  };
}
