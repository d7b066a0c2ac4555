import { AsyncLocalStorage } from "node:async_hooks";
import { randomUUID } from "node:crypto";
import type { SecretBackend } from "./backend.js";
import { checkSecretInput } from "./check-secret-input.js";
import { registerSecretValue } from "./mask.js";
import { processSingleton } from "./process-singleton.js";
import { Secret } from "./secret.js";
import { assertSecretName } from "./secret-definition.js";
import type { SecretSource } from "./source.js";

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

/** @internal The state of one run scope. */
export interface RunState {
  readonly id: string;
  readonly secrets: ReadonlyMap<string, unknown>;
  readonly declared: ReadonlySet<string>;
  readonly allowed: ReadonlySet<string> | undefined;
  readonly backends: readonly SecretBackend[] | undefined;
  readonly onResolve: ResolveListener | undefined;
  /** Backend answers, fetched at most once per run. */
  readonly backendCache: Map<string, Promise<unknown>>;
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

/** @internal One AsyncLocalStorage per process, even with two copies of the package loaded. */
export const runStorage = processSingleton("auth.context", () => new AsyncLocalStorage<RunState>());

/**
 * Runs `fn` with `values` as this run's secrets. Runs are isolated: concurrent runs never see each other's
 * values. Nested calls inherit the outer values, declarations and restrictions.
 * @example
 * await withSecrets({ SLACK_WEBHOOK_URL: url }, () => notify("done"), { declare: ["AWS_CREDENTIALS"] });
 */
export function withSecrets<R>(
  values: Readonly<Record<string, unknown>>,
  fn: () => R,
  options: WithSecretsOptions = {},
): R {
  const parent = runStorage.getStore();
  const secrets = new Map(parent?.secrets);
  for (const [name, raw] of Object.entries(values)) {
    if (raw === undefined) continue;
    assertSecretName(name);
    const value = raw instanceof Secret ? raw.reveal() : raw;
    checkSecretInput(name, value, { kind: "run", detail: "flow.run({ secrets }) / withSecrets" });
    registerSecretValue(value);
    secrets.set(name, value);
  }
  const declared = new Set(parent?.declared);
  for (const name of options.declare ?? []) {
    assertSecretName(name);
    declared.add(name);
  }
  let allowed = parent?.allowed;
  if (options.allow) {
    const wanted = new Set(options.allow);
    allowed = parent?.allowed ? new Set([...wanted].filter((n) => parent.allowed?.has(n))) : wanted;
  }
  const state: RunState = {
    id: options.runId ?? parent?.id ?? randomUUID(),
    secrets,
    declared,
    allowed,
    backends: options.backends ?? parent?.backends,
    onResolve: options.onResolve ?? parent?.onResolve,
    backendCache: parent && !options.backends ? parent.backendCache : new Map(),
  };
  return runStorage.run(state, fn);
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
