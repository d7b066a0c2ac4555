import { randomUUID } from "node:crypto";
import type { SecretBackend } from "./backend.js";
import { checkSecretInput } from "./check-secret-input.js";
import { ValidationError } from "./errors.js";
import { createMaskerScope } from "./mask.js";
import { type RunState, runStorage } from "./run-storage.js";
import { Secret } from "./secret.js";
import { assertSecretName } from "./secret-definition.js";
import { secretStrings } from "./secret-strings.js";
import type { SecretSource } from "./source.js";

export { type RunState, runStorage };

/** What a run is told each time a secret resolves: the name and where it came from, never the value. */
export type ResolveListener = (name: string, source: SecretSource) => void;

/** The options of `withSecrets`. */
export interface WithSecretsOptions {
  /** Names declared for this run: the only ones (with `secretName` asks) that configured backends are asked for. */
  declare?: readonly string[];
  /** When given, code in this scope may read only these names (least privilege); others throw `SecretNotAllowedError`. */
  allow?: readonly string[];
  /** Backends for this run, instead of those set by `configureBackends`. */
  backends?: readonly SecretBackend[];
  /** Called each time a secret resolves in this scope (flows log the source with it). */
  onResolve?: ResolveListener;
  /** An id for the run; a random UUID by default. */
  runId?: string;
}

/** What integrations may know of the current run: its id and the names in play, never values. */
export interface RunInfo {
  /** The run's id. */
  readonly id: string;
  /** Names declared for the run. */
  readonly declared: readonly string[];
  /** Names given values for the run. */
  readonly secretNames: readonly string[];
  /** The names this scope may read, when restricted. */
  readonly allowed: readonly string[] | undefined;
}

const NONE: ReadonlyMap<string, unknown> = new Map();
const NO_NAMES: ReadonlySet<string> = new Set();

/**
 * Runs `fn` with `values` as this run's secrets. Runs are isolated: concurrent runs never see each other's
 * values. Nested calls inherit the outer values, declarations and restrictions. The outermost call makes the
 * run's masker scope: the values given here, and arguments resolved inside, are masked while `fn` runs and are
 * let go some runs after it settles (see `MaskerScope`), so a long-lived process does not grow.
 * @example
 * await withSecrets({ SLACK_WEBHOOK_URL: url }, () => notify("done"), { declare: ["AWS_CREDENTIALS"] });
 */
export function withSecrets<R>(
  values: Readonly<Record<string, unknown>>,
  fn: () => R,
  options: WithSecretsOptions = {},
): R {
  const parent = runStorage.getStore();
  const given: [string, unknown][] = [];
  for (const name in values) {
    if (!Object.hasOwn(values, name)) continue;
    const raw = values[name];
    assertSecretName(name);
    if (raw === undefined || raw === null) {
      throw new ValidationError(
        `secrets.${name}`,
        `the value of ${name} is ${raw}: pass a value, or leave ${name} out to look it up elsewhere (env, the local store, backends)`,
      );
    }
    const value = raw instanceof Secret ? raw.reveal() : raw;
    // The same value the enclosing scope holds (an agent's run handing its values on) was checked and
    // registered there.
    if (parent?.secrets.get(name) === value) continue;
    checkSecretInput(name, value, { kind: "run", detail: "flow.run({ secrets }) / withSecrets" });
    given.push([name, value]);
  }
  const masker = parent?.masker ?? createMaskerScope();
  // A scope's maps are never changed once made: a child that adds nothing shares its parent's.
  let secrets = parent?.secrets ?? NONE;
  if (given.length > 0) {
    const own = new Map(secrets);
    for (const [name, value] of given) {
      masker.register(secretStrings(name, value));
      own.set(name, value);
    }
    secrets = own;
  }
  let declared = parent?.declared ?? NO_NAMES;
  for (const name of options.declare ?? []) {
    assertSecretName(name);
    if (declared.has(name)) continue;
    if (declared === parent?.declared || declared === NO_NAMES) declared = new Set(declared);
    (declared as Set<string>).add(name);
  }
  let allowed = parent?.allowed;
  if (options.allow) {
    const wanted = new Set(options.allow);
    allowed = parent?.allowed ? new Set([...wanted].filter((n) => parent.allowed?.has(n))) : wanted;
  }
  // A scope that changes nothing of its parent's (a flow run inside a deployment's scope, an agent's run handing
  // on the values it holds) runs in the parent's scope: the same state, without another context frame.
  if (
    parent &&
    secrets === parent.secrets &&
    declared === parent.declared &&
    allowed === parent.allowed &&
    (options.backends === undefined || options.backends === parent.backends) &&
    (options.onResolve === undefined || options.onResolve === parent.onResolve) &&
    (options.runId === undefined || options.runId === parent.id)
  ) {
    return fn();
  }
  const state: RunState = {
    id: options.runId ?? parent?.id ?? randomUUID(),
    secrets,
    declared,
    allowed,
    backends: options.backends ?? parent?.backends,
    onResolve: options.onResolve ?? parent?.onResolve,
    // Shared with the parent while the backends are the same (a flow run inside a deployment's pull scope).
    backendCache:
      parent && (!options.backends || options.backends === parent.backends) ? parent.backendCache : new Map(),
    masker,
  };
  if (parent) return runStorage.run(state, fn);
  let result: R;
  try {
    result = runStorage.run(state, fn);
  } catch (error) {
    masker.end();
    throw error;
  }
  const end = () => masker.end();
  if (typeof (result as PromiseLike<unknown> | undefined)?.then === "function") {
    (result as PromiseLike<unknown>).then(end, end);
  } else end();
  return result;
}

/** The current run, or `undefined` outside any `withSecrets` scope. */
export function currentRun(): RunInfo | undefined {
  const state = runStorage.getStore();
  if (!state) return undefined;
  return {
    id: state.id,
    declared: [...state.declared],
    secretNames: [...state.secrets.keys()],
    allowed: state.allowed ? [...state.allowed] : undefined,
  };
}
