import { AsyncLocalStorage } from "node:async_hooks";
import type { SecretBackend } from "./backend.js";
import type { ResolveListener } from "./context.js";
import type { MaskerScope } from "./mask.js";
import { processSingleton } from "./process-singleton.js";

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
  /** The masker scope of the outermost run: values given to the run, dropped when it ends. */
  readonly masker: MaskerScope;
}

/** @internal One AsyncLocalStorage per process, even with two copies of the package loaded. */
export const runStorage = processSingleton("auth.context", () => new AsyncLocalStorage<RunState>());
