import {
  ENV_PREFIX,
  listSecrets,
  localStore,
  MIN_MASKED_LENGTH,
  mask,
  resolveSecret,
  TributaryError,
  ValidationError,
} from "@tributary/auth";
import { isRunId, RUN_ID_RULE } from "./run-ids.js";

/** What a job on the queue holds: where the flow is, its parameters, its run id and secret names. Never a value. */
export interface QueuedRun {
  /** The deployment address, such as `s3://flows/prod/nightly`. */
  readonly address: string;
  /** The run's parameters: plain JSON, checked to hold no secret value. */
  readonly params: unknown;
  /** The run's id: the id the flow sees as `runId` and the report carries. */
  readonly runId: string;
  /** Secret names the run needs; an agent that was not given one of them fails the run at once. */
  readonly secrets: readonly string[];
}

/** Thrown by `enqueueRun` when the params hold a value that this process can resolve as a secret. */
export class SecretInParamsError extends TributaryError {
  static override readonly errorName: string = "SecretInParamsError";
  constructor(
    /** Where in the params the value was found, such as `params.auth.token`. */
    readonly path: string,
  ) {
    super(
      "SECRET_IN_PARAMS",
      `Refused to queue the run: ${path} holds a secret value. Params are stored in Redis as they are; pass secrets to agents with -e NAME and declare the name instead.`,
    );
  }
}

const SECRET_NAME = /^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/;

/** Checks that `value` is plain JSON (null, booleans, finite numbers, strings, arrays, plain objects). */
function checkJson(value: unknown, path: string, depth = 0): void {
  if (depth > 64) throw new ValidationError(path, "is nested too deeply");
  if (value === null || typeof value === "string" || typeof value === "boolean") return;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new ValidationError(path, "must be a finite number to be JSON");
    return;
  }
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) checkJson(v, `${path}[${i}]`, depth + 1);
    return;
  }
  if (typeof value === "object") {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      throw new ValidationError(path, "must be a plain object, array, string, number, boolean or null");
    }
    for (const [k, v] of Object.entries(value)) checkJson(v, `${path}.${k}`, depth + 1);
    return;
  }
  throw new ValidationError(path, `is a ${typeof value}, which JSON cannot hold`);
}

/** Checks the parts of a run to queue: an address, JSON params, a run id and secret names. */
export function checkQueuedRun(run: QueuedRun): void {
  if (typeof run.address !== "string" || run.address.trim() === "") {
    throw new ValidationError("address", "a run needs a deployment address, such as s3://flows/prod/nightly");
  }
  if (run.params !== undefined) checkJson(run.params, "params");
  if (!isRunId(run.runId)) throw new ValidationError("runId", `use ${RUN_ID_RULE}`);
  if (!Array.isArray(run.secrets) || run.secrets.some((n) => typeof n !== "string" || !SECRET_NAME.test(n))) {
    throw new ValidationError("secrets", "must be secret names such as AWS_CREDENTIALS");
  }
}

function strings(value: unknown, add: (s: string) => void, depth = 0): void {
  if (typeof value === "string") add(value);
  else if (value && typeof value === "object" && depth < 8) {
    for (const v of Object.values(value)) strings(v, add, depth + 1);
  }
}

/**
 * Every secret value this process can resolve: registered names, names in `TRIBUTARY__CONTEXT__SECRETS__*`
 * variables and in the local store, through the usual order (with the library defaults, such as `GITHUB_TOKEN`).
 */
export async function resolvableSecretValues(): Promise<string[]> {
  const names = new Set(listSecrets().map((d) => d.name));
  for (const key of Object.keys(process.env)) {
    if (key.startsWith(ENV_PREFIX)) names.add(key.slice(ENV_PREFIX.length).split("__")[0] ?? "");
  }
  try {
    for (const name of localStore().names()) names.add(name);
  } catch {
    // An unreadable store holds nothing this process can resolve.
  }
  const values: string[] = [];
  for (const name of names) {
    if (name === "") continue;
    try {
      const { value } = await resolveSecret(name);
      strings(value, (s) => values.push(s));
    } catch {
      // Missing or malformed: nothing to compare against.
    }
  }
  return values;
}

function findIn(value: unknown, needles: readonly string[], path: string, depth = 0): string | undefined {
  if (typeof value === "string") {
    if (mask(value) !== value) return path;
    return needles.some((n) => value.includes(n)) ? path : undefined;
  }
  if (value && typeof value === "object" && depth <= 64) {
    for (const [k, v] of Object.entries(value)) {
      // The key itself is the secret: name the object that holds it, never the key.
      if (mask(k) !== k || needles.some((n) => k.includes(n))) return `a key of ${path}`;
      const found = findIn(v, needles, `${path}${Array.isArray(value) ? `[${k}]` : `.${k}`}`, depth + 1);
      if (found) return found;
    }
  }
  return undefined;
}

/**
 * Refuses params that hold a secret value: any value this process can resolve (env, local store, library
 * defaults), any value registered with its masker, and the `extra` values given. Throws `SecretInParamsError`
 * naming where the value is, never the value.
 */
export async function checkParamsHoldNoSecret(params: unknown, extra: readonly string[] = []): Promise<void> {
  if (params === undefined) return;
  const needles = [...(await resolvableSecretValues()), ...extra].filter(
    (s) => s.length >= MIN_MASKED_LENGTH,
  );
  const path = findIn(params, needles, "params");
  if (path) throw new SecretInParamsError(path);
}

/** Checks a queue name: 1 to 100 letters, digits, dots, dashes or underscores. */
export function checkQueueName(queue: unknown): string {
  if (typeof queue !== "string" || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(queue)) {
    throw new ValidationError("queue", "use 1 to 100 letters, digits, dots, dashes or underscores");
  }
  return queue;
}
