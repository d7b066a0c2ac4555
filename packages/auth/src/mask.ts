import { secretSizeProblem } from "./check-secret-input.js";
import { InvalidSecretError } from "./errors.js";
import {
  type HeldScope,
  hold,
  MIN_MASKED_LENGTH,
  maskWith,
  REDACTED,
  RETAINED_SCOPES,
  release,
  state,
} from "./masked-values.js";
import { runStorage } from "./run-storage.js";
import { collectStrings, secretForms } from "./secret-forms.js";
import { ValueIndex } from "./value-index.js";

/** Checks a value given to the masker without a name or source (the sources check with theirs first). */
function checkRegistered(value: unknown): void {
  let problem: string | undefined;
  collectStrings(value, (text) => {
    problem ??= secretSizeProblem(text);
  });
  if (problem) {
    throw new InvalidSecretError("(registered value)", { kind: "argument", detail: "registerSecretValue" }, [
      { field: "", message: problem },
    ]);
  }
}

/**
 * A set of secret values masked for as long as the work they belong to can still produce output: a flow run's
 * values, given to it or resolved as its arguments. `withSecrets` (and so `flow.run`) makes one for each
 * outermost run and ends it when the run ends; a runner that produces output outside `withSecrets` (an agent
 * formatting a job's failure) can make its own with `createMaskerScope()`. Its values are masked everywhere while
 * it is live and for the next `RETAINED_SCOPES` scopes to end after it; then they are forgotten by the process, and
 * only code still running inside that run (a task left behind, the run's logger) keeps masking them.
 */
export class MaskerScope implements HeldScope {
  readonly #values = new Set<string>();
  #ended = false;
  #dropped = false;
  #own: ValueIndex | undefined;

  /** How many distinct texts the scope holds. */
  get size(): number {
    return this.#values.size;
  }

  /** Whether `end()` was called. */
  get ended(): boolean {
    return this.#ended;
  }

  /**
   * Registers a secret value (a text, or each text field of an object) with this scope. Throws
   * `InvalidSecretError` for a text over 64 KiB, which is then not registered.
   */
  register(value: unknown): void {
    checkRegistered(value);
    collectStrings(value, (text) => {
      if (text.length < MIN_MASKED_LENGTH || this.#values.has(text)) return;
      this.#values.add(text);
      this.#own = undefined;
      if (!this.#dropped) hold(text);
    });
  }

  /** Ends the scope: its values stay masked process-wide until `RETAINED_SCOPES` more scopes have ended. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    state.live.delete(this);
    state.retained.push(this);
    while (state.retained.length > RETAINED_SCOPES) state.retained.shift()?.drop();
  }

  /** @internal Removes the scope's values from the process masker (called when it leaves the retained ones). */
  drop(): void {
    if (this.#dropped) return;
    this.#dropped = true;
    for (const value of this.#values) release(value);
  }

  /** Masks `text` with the process's values and this scope's, even after the scope was dropped. */
  mask(text: string): string {
    return maskWith(text, this);
  }

  /** `maskValue` with the process's values and this scope's, even after the scope was dropped. */
  maskValue(value: unknown): unknown {
    return maskValueWith(value, (text) => maskWith(text, this));
  }

  /** @internal Masks `text` with this scope's own values, once the process masker has let them go. */
  maskOwn(text: string): string {
    if (!this.#dropped || this.#values.size === 0) return text;
    if (!this.#own) {
      const own = new ValueIndex();
      for (const value of this.#values) for (const form of secretForms(value)) own.add(form);
      this.#own = own;
    }
    return this.#own.replace(text, REDACTED);
  }
}

/**
 * Makes a masker scope for a piece of work whose secret values must not stay registered for the life of the
 * process (see `MaskerScope`). Call `end()` when the work is over, or values stay registered.
 * @example
 * const scope = createMaskerScope();
 * scope.register(job.token);
 * try { await handle(job) } catch (e) { log(scope.mask(String(e))) } finally { scope.end() }
 */
export function createMaskerScope(): MaskerScope {
  const scope = new MaskerScope();
  state.live.add(scope);
  return scope;
}

/** Where `registerSecretValue` puts a value: the current run's scope, or the process. */
export interface RegisterOptions {
  /**
   * `"run"` (the default inside `withSecrets` or a flow run): dropped when the run ends. `"process"` (the default
   * outside any run): kept for the life of the process — for values the process itself holds, such as env, the
   * local store, backends, or credentials it refreshes for every run.
   */
  scope?: "run" | "process";
}

/**
 * Registers a secret value with the masker: from now on `mask()` replaces it — and its JSON-escaped,
 * URI-encoded, form-encoded, base64 and base64url forms — with `[redacted]`. Objects register each text field
 * of 4 characters or more. Inside a run the value belongs to the run (see `RegisterOptions`). Throws
 * `InvalidSecretError` for a text over 64 KiB, which is then not registered.
 */
export function registerSecretValue(value: unknown, options: RegisterOptions = {}): void {
  const run = options.scope === "process" ? undefined : runStorage.getStore();
  if (run) {
    run.masker.register(value);
    return;
  }
  checkRegistered(value);
  collectStrings(value, (text) => {
    if (text.length < MIN_MASKED_LENGTH || state.process.has(text)) return;
    state.process.add(text);
    hold(text);
  });
}

/** Object keys whose values are masked whatever they hold. */
const SENSITIVE_KEY =
  /pass(word|wd)?|secret|token|private_?key|api_?key|access_?key|credential|authorization|cookie|webhook_?url|signature/i;

/** True when `key` names a field that holds a secret (`password`, `token`, `private_key`, `webhook_url` …). */
export function isSensitiveKey(key: string): boolean {
  return SENSITIVE_KEY.test(key);
}

function bytesAsText(value: object): string | undefined {
  if (ArrayBuffer.isView(value)) {
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("utf8");
  }
  if (value instanceof ArrayBuffer || value instanceof SharedArrayBuffer) {
    return Buffer.from(value).toString("utf8");
  }
  return undefined;
}

/**
 * `value` masked. `parents` holds the objects being copied above it (at most 9): one of them again is a cycle. An
 * object met twice side by side is copied twice; a list of ancestors costs less than a `WeakSet` per call.
 */
function maskAny(value: unknown, depth: number, parents: object[], mask: (text: string) => string): unknown {
  if (typeof value === "string") return mask(value);
  if (value === null || typeof value !== "object") return value;
  if (depth > 8 || parents.includes(value)) return "[circular]";
  parents.push(value);
  try {
    return maskObject(value, depth, parents, mask);
  } finally {
    parents.pop();
  }
}

function maskObject(
  value: object,
  depth: number,
  parents: object[],
  mask: (text: string) => string,
): unknown {
  const bytes = bytesAsText(value);
  if (bytes !== undefined) return mask(bytes);
  if (value instanceof Error) {
    const e = value as Error & { code?: unknown };
    return {
      name: mask(String(e.name)),
      ...(e.code !== undefined ? { code: maskAny(e.code, depth + 1, parents, mask) } : {}),
      message: mask(String(e.message)),
    };
  }
  if (typeof (value as { toJSON?: unknown }).toJSON === "function") {
    return maskAny((value as { toJSON: () => unknown }).toJSON(), depth + 1, parents, mask);
  }
  if (Array.isArray(value)) return value.map((v) => maskAny(v, depth + 1, parents, mask));
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(value)) {
    let v: unknown;
    try {
      v = (value as Record<string, unknown>)[k];
    } catch {
      // A getter that throws hides only its own field.
      out[mask(k)] = REDACTED;
      continue;
    }
    out[mask(k)] =
      isSensitiveKey(k) && v != null && v !== "" ? REDACTED : maskAny(v, depth + 1, parents, mask);
  }
  return out;
}

/**
 * Returns a copy of `value` safe to log: registered secrets masked in every string and object key, bytes
 * (`Buffer`, typed arrays) masked as UTF-8 text, and fields with sensitive names replaced whole. Errors become
 * `{ name, code, message }` with their messages masked. It never throws: what cannot be read becomes `[redacted]`.
 */
export function maskValue(value: unknown): unknown {
  // The run's scope, looked up once for every string of the value.
  const scope = runStorage.getStore()?.masker ?? null;
  return maskValueWith(value, (text) => maskWith(text, scope));
}

function maskValueWith(value: unknown, maskText: (text: string) => string): unknown {
  try {
    return maskAny(value, 0, [], maskText);
  } catch {
    return REDACTED;
  }
}
