import { configuredBackends } from "./backend.js";
import { checkSecretInput, parseSecretJson } from "./check-secret-input.js";
import { checkSecretValue } from "./check-secret-value.js";
import { didYouMeanLines } from "./did-you-mean.js";
import {
  InvalidSecretError,
  MissingCredentialsError,
  SecretNotAllowedError,
  type SourceAttempt,
} from "./errors.js";
import { registerSecretValue } from "./mask.js";
import { mask } from "./masked-values.js";
import { getSecretDefinition, type SecretValue } from "./registry.js";
import { runStorage } from "./run-storage.js";
import { Secret } from "./secret.js";
import { assertSecretName, type SecretDefinition } from "./secret-definition.js";
import { secretStrings } from "./secret-strings.js";
import { ENV_PREFIX, type SecretSource } from "./source.js";
import { localStore } from "./store.js";

/** The options of `resolveSecret` and `findSecret`. */
export interface ResolveOptions<T = unknown> {
  /** An explicit value (a task's runtime argument). When given it always wins, and is still checked. */
  value?: T | Secret<T> | string | undefined;
  /** The name of the task option that carries `value`, for messages and provenance (default `"value"`). */
  argument?: string;
  /** Look this name up instead of the default one. It is checked with the default name's schema and never falls back to a default chain. */
  secretName?: string | undefined;
}

/** A resolved secret and where it came from. `value` is hidden from `JSON.stringify` and `util.inspect`. */
export interface Resolution<T> {
  /** The checked value. `undefined` only when `source.kind` is `"default-chain"` and the integration's SDK resolves it. */
  readonly value: T;
  /** Where the value came from; safe to log. */
  readonly source: SecretSource;
  /** Every source tried before the one that answered. */
  readonly tried: readonly SourceAttempt[];
}

/** A resolution that handed over to the SDK's own default chain (AWS SDK chain, Google ADC). */
export interface DefaultChainResolution {
  readonly value: undefined;
  /**
   * What the chain's probe saw without the network: `found` (a credential is there), `unverified` (only a
   * metadata endpoint can tell), `unchecked` (the name's default has no probe).
   */
  readonly chain: "found" | "unverified" | "unchecked";
  readonly source: SecretSource & { kind: "default-chain" };
  readonly tried: readonly SourceAttempt[];
}

interface Parsed {
  raw: unknown;
  value: unknown;
  renamed: readonly string[];
  summary: string | undefined;
  /** The strings of `value` the masker registers. */
  strings: readonly string[];
}
/** Checked values per source kind and name, reused while the raw value stays the same. */
const parsed = new Map<string, Map<string, Parsed>>();
const MAX_PARSED = 256;

function parse(
  def: SecretDefinition | undefined,
  name: string,
  raw: unknown,
  source: SecretSource,
): { value: unknown; source: SecretSource } {
  let byName = parsed.get(source.kind);
  if (!byName) {
    byName = new Map();
    parsed.set(source.kind, byName);
  }
  const hit = byName.get(name);
  if (hit && hit.raw === raw) {
    register(hit.strings, source);
    return { value: hit.value, source: withNote(source, hit.renamed, hit.summary) };
  }
  // The input checks (depth, text, header-safe) first, then the name's own: fields, aliases, schema.
  let value = raw;
  if (def?.format === "json" && typeof raw === "string") value = parseSecretJson(name, raw, source);
  else checkSecretInput(name, value, source);
  const check = checkSecretValue(name, value, def);
  if (!check.ok) throw new InvalidSecretError(name, source, check.issues);
  const strings = secretStrings(name, check.value, def);
  register(strings, source);
  const summary = summarize(def, check.value);
  if (byName.size >= MAX_PARSED) byName.delete(byName.keys().next().value as string);
  byName.set(name, { raw, value: check.value, renamed: check.renamed, summary, strings });
  return { value: check.value, source: withNote(source, check.renamed, summary) };
}

/** What kind of credential a checked value is, as its definition says (masked, in case it said too much). */
function summarize(def: SecretDefinition | undefined, value: unknown): string | undefined {
  try {
    const said = def?.describe?.(value);
    return typeof said === "string" && said !== "" ? mask(said) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Provenance says when fields were given under another accepted name (the AWS SDK's `accessKeyId` …), and what
 * kind of credential the value is.
 */
function withNote(
  source: SecretSource,
  renamed: readonly string[],
  summary: string | undefined,
): SecretSource {
  const noted =
    renamed.length === 0
      ? source
      : { ...source, detail: `${source.detail}; fields renamed: ${renamed.join(", ")}` };
  return summary === undefined ? noted : { ...noted, summary };
}

/** `MissingCredentialsError`, with a line for each similar name that is set ("did you mean …?"). */
function missing(target: string, tried: readonly SourceAttempt[], hint?: string): MissingCredentialsError {
  const lines = [...(hint ? [hint] : []), ...didYouMeanLines(target)];
  return new MissingCredentialsError(target, tried, lines.length > 0 ? { hint: lines.join("\n") } : {});
}

/**
 * Registers a value's secret strings (`secretStrings`): values given to a run (as run secrets or arguments) go with
 * the run; the process's own stay with the process.
 */
function register(strings: readonly string[], source: SecretSource): void {
  registerSecretValue(strings, {
    scope: source.kind === "run" || source.kind === "argument" ? "run" : "process",
  });
}

function setPath(target: Record<string, unknown>, path: string[], value: string): void {
  let node = target;
  for (const part of path.slice(0, -1)) {
    const next = node[part];
    if (!next || typeof next !== "object") node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[path[path.length - 1] as string] = value;
}

/** Reads the env source: the flat variable, else the nested `…__<NAME>__<FIELD>` variables. */
function readEnv(name: string, nestedForm: boolean): { raw: unknown; source: SecretSource } | undefined {
  const flat = `${ENV_PREFIX}${name}`;
  const value = process.env[flat];
  if (value !== undefined) return { raw: value, source: { kind: "env", detail: flat } };
  if (!nestedForm) return undefined;
  const prefix = `${flat}__`;
  let nested: Record<string, unknown> | undefined;
  for (const key in process.env) {
    if (!key.startsWith(prefix)) continue;
    const field = process.env[key];
    if (field === undefined) continue;
    nested ??= {};
    setPath(nested, key.slice(prefix.length).split("__"), field);
  }
  return nested ? { raw: nested, source: { kind: "env", detail: `${prefix}<FIELD>` } } : undefined;
}

/** A resolution whose value lives in a private field: `JSON.stringify` and `util.inspect` never show it. */
class SecretResolution<T> implements Resolution<T> {
  readonly #value: T;
  constructor(
    value: T,
    readonly source: SecretSource,
    readonly tried: readonly SourceAttempt[],
  ) {
    this.#value = value;
  }
  get value(): T {
    return this.#value;
  }
}

function makeResolution<T>(value: T, source: SecretSource, tried: readonly SourceAttempt[]): Resolution<T> {
  return new SecretResolution(value, source, tried);
}

async function lookup(
  name: string,
  options: ResolveOptions,
): Promise<{ found?: Resolution<unknown>; tried: SourceAttempt[]; def?: SecretDefinition; target: string }> {
  assertSecretName(name);
  const def = getSecretDefinition(name);
  const target = options.secretName ?? name;
  const argument = options.argument ?? "value";
  const tried: SourceAttempt[] = [];
  const run = runStorage.getStore();

  if (options.value !== undefined) {
    const raw = options.value instanceof Secret ? options.value.reveal() : options.value;
    const { value, source } = parse(def, name, raw, { kind: "argument", detail: argument });
    run?.onResolve?.(name, source);
    return { found: makeResolution(value, source, tried), tried, def, target };
  }
  tried.push({
    source: { kind: "argument", detail: argument },
    outcome: "not given",
    howToSet: `pass \`${argument}\` to the task`,
  });

  if (options.secretName !== undefined) assertSecretName(options.secretName);
  if (run?.allowed && !run.allowed.has(target)) throw new SecretNotAllowedError(target, [...run.allowed]);

  const found = (raw: unknown, where: SecretSource) => {
    const { value, source } = parse(def, target, raw, where);
    run?.onResolve?.(target, source);
    return { found: makeResolution(value, source, tried), tried, def, target };
  };

  const runValue = run?.secrets.get(target);
  if (runValue !== undefined) return found(runValue, { kind: "run", detail: `run ${run?.id}` });
  tried.push({
    source: { kind: "run", detail: run ? `run ${run.id}` : "no run in progress" },
    outcome: "not set",
    howToSet: `flow.run({ secrets: { ${target}: … } }) or withSecrets({ ${target}: … }, fn)`,
  });

  const env = readEnv(target, def?.format !== "string");
  if (env) return found(env.raw, env.source);
  tried.push({
    source: { kind: "env", detail: `${ENV_PREFIX}${target}` },
    outcome: "not set",
    howToSet: `export ${ENV_PREFIX}${target}=…`,
  });

  const store = localStore();
  const stored = store.get(target);
  if (stored !== undefined) return found(stored, { kind: "store", detail: store.path });
  tried.push({
    source: { kind: "store", detail: store.path },
    outcome: "not set",
    howToSet: `tributary secrets set ${target}`,
  });

  const backends = run?.backends ?? configuredBackends();
  const asked = options.secretName !== undefined || run?.declared.has(target) === true;
  if (backends.length === 0) {
    tried.push({
      source: { kind: "backend", detail: "none configured" },
      outcome: "no backend configured",
      howToSet: "configureBackends([...])",
    });
  } else if (!asked) {
    tried.push({
      source: { kind: "backend", detail: backends.map((b) => b.describe()).join(", ") },
      outcome: "not asked: the name is not declared",
      howToSet: `declare ${target} in the flow's \`secrets\` (backends are asked only for declared names)`,
    });
  } else {
    for (const [index, backend] of backends.entries()) {
      const cacheKey = `${index}\u0000${target}`;
      let pending = run?.backendCache.get(cacheKey);
      if (!pending) {
        pending = backend.get(target);
        run?.backendCache.set(cacheKey, pending);
      }
      const raw = await pending;
      const source: SecretSource = { kind: "backend", detail: `${backend.describe()}, key ${target}` };
      if (raw !== undefined) return found(raw, source);
      tried.push({ source, outcome: "not found", howToSet: `create ${target} in ${backend.describe()}` });
    }
  }
  return { tried, def, target };
}

/**
 * Looks a secret up through the resolution order — argument, run secrets, env, local store, declared backends —
 * without the default chain. Returns `undefined` when it is found nowhere; throws `InvalidSecretError` when it is
 * found but malformed.
 */
export async function findSecret<N extends string>(
  name: N,
  options: ResolveOptions<SecretValue<N>> = {},
): Promise<Resolution<SecretValue<N>> | undefined> {
  return (await lookup(name, options)).found as Resolution<SecretValue<N>> | undefined;
}

/**
 * Resolves a secret through the one resolution order: an explicit argument, then the name (or `secretName`) in
 * the run's secrets, `TRIBUTARY__CONTEXT__SECRETS__<NAME>`, the local store and the declared backends, then the
 * library default. Returns the value with its source, never logs it.
 * @example
 * const { value, source } = await resolveSecret("SLACK_WEBHOOK_URL", { value: options.webhookUrl, argument: "webhookUrl" });
 * log.info(`Slack webhook from ${source.kind} (${source.detail})`);
 */
export async function resolveSecret<N extends string>(
  name: N,
  options: ResolveOptions<SecretValue<N>> = {},
): Promise<Resolution<SecretValue<N>> | DefaultChainResolution> {
  const { found, tried, def, target } = await lookup(name, options);
  if (found) return found as Resolution<SecretValue<N>>;
  if (options.secretName !== undefined) {
    throw missing(
      target,
      tried,
      `${target} was asked for by name (secretName), so Tributary does not fall back to ambient credentials.`,
    );
  }
  const fallback = def?.fallback;
  if (!fallback) throw missing(target, tried);
  if (!fallback.env) {
    const probe = fallback.probe?.();
    if (probe?.status === "not-found") {
      for (const [index, { place, outcome }] of probe.looked.entries()) {
        const last = index === probe.looked.length - 1;
        tried.push({
          source: { kind: "default-chain", detail: place },
          outcome,
          ...(last ? { howToSet: probe.howToSet } : {}),
        });
      }
      throw missing(target, tried);
    }
    const source = {
      kind: "default-chain" as const,
      // "AWS SDK default provider chain: shared credentials file ~/.aws/credentials, profile default".
      detail: probe
        ? `${fallback.description.replace(/ \([^)]*\)$/, "")}: ${probe.detail}`
        : fallback.description,
    };
    // Logged as the source only when a credential is there; an endpoint nobody asked yet is not one.
    if (probe?.status !== "unverified") runStorage.getStore()?.onResolve?.(target, source);
    return Object.assign(makeResolution(undefined, source, tried), {
      chain: probe?.status ?? "unchecked",
    }) as DefaultChainResolution;
  }
  for (const variable of fallback.env) {
    const raw = process.env[variable];
    if (raw !== undefined) {
      const { value, source } = parse(def, target, raw, { kind: "default-chain", detail: `env ${variable}` });
      runStorage.getStore()?.onResolve?.(target, source);
      return makeResolution(value as SecretValue<N>, source, tried);
    }
    tried.push({
      source: { kind: "default-chain", detail: `env ${variable}` },
      outcome: "not set",
      howToSet: `export ${variable}=…`,
    });
  }
  throw missing(target, tried);
}
