// The lowest layer of masking: the registered values of the process and of its scopes, and `mask()` over text.
// Errors sanitize their causes with it, so it imports nothing of errors, checks or scopes (see mask.ts for those).
import { processSingleton } from "./process-singleton.js";
import { runStorage } from "./run-storage.js";
import { MIN_MASKED_LENGTH, secretForms } from "./secret-forms.js";
import { ValueIndex } from "./value-index.js";

export { MIN_MASKED_LENGTH };

/** What a masked value is replaced with. */
export const REDACTED = "[redacted]";

/** How many ended scopes stay masked process-wide, so an error a run throws is still masked where its caller logs it. */
export const RETAINED_SCOPES = 32;

/** @internal What the process masker needs of a scope (`MaskerScope` in mask.ts). */
export interface HeldScope {
  /** Removes the scope's values from the process masker. */
  drop(): void;
  /** Masks `text` with the scope's own values, once the process masker has let them go. */
  maskOwn(text: string): string;
}

/** @internal */
export interface MaskerState {
  /** Every form of every value of the process, of live scopes and of the last `RETAINED_SCOPES` ended ones. */
  index: ValueIndex;
  /** How many holders (the process, scopes) each indexed value has. */
  holders: Map<string, number>;
  /** Values the process holds for its whole life (env, store, backends, an agent's own). */
  process: Set<string>;
  /** Scopes that have not ended. */
  live: Set<HeldScope>;
  /** Ended scopes still indexed, oldest first. */
  retained: HeldScope[];
}

/** @internal The process masker, one per process even with two copies of the package loaded. */
export const state = processSingleton<MaskerState>("auth.masker.v2", () => ({
  index: new ValueIndex(),
  holders: new Map(),
  process: new Set(),
  live: new Set(),
  retained: [],
}));

/** @internal Adds a holder of `value`; its first holder indexes every form of it. */
export function hold(value: string): void {
  const count = state.holders.get(value) ?? 0;
  state.holders.set(value, count + 1);
  if (count === 0) for (const form of secretForms(value)) state.index.add(form);
}

/** @internal Removes a holder of `value`; its last holder drops every form of it. */
export function release(value: string): void {
  const count = state.holders.get(value) ?? 0;
  if (count > 1) {
    state.holders.set(value, count - 1);
    return;
  }
  state.holders.delete(value);
  for (const form of secretForms(value)) state.index.delete(form);
}

/**
 * Replaces every registered secret value in `text` (in any of its registered forms) with `[redacted]`; where
 * matches overlap, the whole stretch is replaced once. It never throws: if masking fails for any reason, the whole
 * text becomes `[redacted]`.
 */
export function mask(text: string): string {
  return maskWith(text, undefined);
}

/** @internal `scope`: the run's masker scope; `undefined` to look it up, `null` when there is none. */
export function maskWith(text: string, scope: HeldScope | null | undefined): string {
  try {
    const input = typeof text === "string" ? text : String(text);
    let out = state.index.replace(input, REDACTED);
    const own = scope === undefined ? runStorage.getStore()?.masker : scope;
    if (own) out = own.maskOwn(out);
    return out;
  } catch {
    return REDACTED;
  }
}

/** Figures about the masker, to check that a long-lived process stays flat. */
export interface MaskerStats {
  /** Values held for the life of the process. */
  processValues: number;
  /** Scopes not yet ended. */
  liveScopes: number;
  /** Ended scopes still masked process-wide. */
  retainedScopes: number;
  /** Distinct values the process masker holds, of every holder. */
  values: number;
  /** Forms (encodings) of those values it looks for. */
  forms: number;
}

/** Counts what the masker holds. */
export function maskerStats(): MaskerStats {
  return {
    processValues: state.process.size,
    liveScopes: state.live.size,
    retainedScopes: state.retained.length,
    values: state.holders.size,
    forms: state.index.size,
  };
}

/** Forgets every registered value and scope (for tests). */
export function resetMasker(): void {
  state.index = new ValueIndex();
  state.holders.clear();
  state.process.clear();
  state.live.clear();
  state.retained = [];
}
