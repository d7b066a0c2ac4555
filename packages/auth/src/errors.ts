import { sanitizeCause } from "./sanitize-cause.js";
import { describeSource, type SecretSource } from "./source.js";

const MARK = Symbol.for("tributary.error");

/** Options shared by every Tributary error. */
export interface TributaryErrorOptions {
  /** The underlying error. Kept through `sanitizeCause`: an SDK error's request, headers and body never survive. */
  cause?: unknown;
  /** Whether retrying the same call may succeed (a throttled request) or not (a bad credential). */
  retryable?: boolean;
  /** The service's own word for what happened (`NoSuchKey`, `invalid_auth`): kept on service errors as `reason`. */
  reason?: string | undefined;
}

/** Gives a class's prototype, once, the names `isInstance` checks and its `name`. */
function markClass(target: abstract new (...args: never[]) => unknown): void {
  const prototype = target.prototype as object;
  if (Object.hasOwn(prototype, MARK)) return;
  const names: string[] = [];
  for (let c: unknown = target; typeof c === "function" && c !== Error; c = Object.getPrototypeOf(c)) {
    if (Object.hasOwn(c, "errorName")) names.push((c as typeof TributaryError).errorName);
  }
  Object.defineProperty(prototype, MARK, { value: Object.freeze(names), enumerable: false });
  Object.defineProperty(prototype, "name", {
    value: names[0] ?? "TributaryError",
    enumerable: false,
    writable: true,
    configurable: true,
  });
}

/**
 * The one base class of every error Tributary throws: a stable `code`, a `cause`, and whether a retry may help.
 * Use `TributaryError.isInstance(e)` (or `MissingCredentialsError.isInstance(e)`) rather than `instanceof`:
 * it works across two installed copies of the package and across the ESM and CJS builds.
 */
export class TributaryError extends Error {
  /** The stable name `isInstance` checks; each subclass sets its own. */
  static readonly errorName: string = "TributaryError";
  /** A stable, machine-readable code, such as `MISSING_CREDENTIALS`. */
  readonly code: string;
  /** Whether retrying the same call may succeed. */
  readonly retryable: boolean;
  declare readonly [MARK]: readonly string[];

  constructor(code: string, message: string, options: TributaryErrorOptions = {}) {
    // The class's names and `name` live on its prototype, set at its first construction (before `super`, so the
    // stack's first line already says the class's name): an error costs what an `Error` costs.
    markClass(new.target);
    const cause = sanitizeCause(options.cause);
    super(message, cause === undefined ? undefined : { cause });
    this.code = code;
    this.retryable = options.retryable ?? false;
  }

  /** True when `error` is an instance of this class, even from another copy of the package. */
  static isInstance<
    T extends (abstract new (...args: never[]) => TributaryError) & { readonly errorName: string },
  >(this: T, error: unknown): error is InstanceType<T> {
    const names = (error as { [MARK]?: unknown } | null | undefined)?.[MARK];
    // biome-ignore lint/complexity/noThisInStatic: `this` is the subclass the check was called on
    return Array.isArray(names) && names.includes(this.errorName);
  }
}

/** How one source of the resolution order was tried, for `MissingCredentialsError`. */
export interface SourceAttempt {
  /** The source, such as the env var or the store file. */
  source: SecretSource;
  /** What happened there: `"not set"`, `"not declared"`, `"no backend configured"`. */
  outcome: string;
  /** How a user sets the secret there. */
  howToSet?: string;
}

/** Thrown when a credential was found nowhere. Lists each source tried, in order, and how to set each. */
export class MissingCredentialsError extends TributaryError {
  static override readonly errorName: string = "MissingCredentialsError";
  /** The secret name that was looked up. */
  readonly secretName: string;
  /** Every source tried, in order. */
  readonly tried: readonly SourceAttempt[];

  constructor(
    secretName: string,
    tried: readonly SourceAttempt[],
    options: { hint?: string; cause?: unknown } = {},
  ) {
    const lines = tried.map(
      (t, i) =>
        `  ${i + 1}. ${describeSource(t.source)}: ${t.outcome}${t.howToSet ? ` — ${t.howToSet}` : ""}`,
    );
    super(
      "MISSING_CREDENTIALS",
      `No value for secret ${secretName}. Tried, in order:\n${lines.join("\n")}${options.hint ? `\n${options.hint}` : ""}`,
      { cause: options.cause },
    );
    this.secretName = secretName;
    this.tried = tried;
  }
}

/** One field of a secret that failed its schema. Holds the path and what was expected, never the value. */
export interface SecretFieldIssue {
  /** The dotted path of the field (`""` for the whole value). */
  field: string;
  /** What was wrong, with any part of the value removed. */
  message: string;
}

/** Thrown when a secret was found but is malformed. It never falls through to the next source. */
export class InvalidSecretError extends TributaryError {
  static override readonly errorName: string = "InvalidSecretError";
  /** The secret name. */
  readonly secretName: string;
  /** Where the malformed value was found. */
  readonly source: SecretSource;
  /** The fields that failed. */
  readonly issues: readonly SecretFieldIssue[];

  constructor(secretName: string, source: SecretSource, issues: readonly SecretFieldIssue[]) {
    const list = issues.map((i) => `  - ${i.field || "(value)"}: ${i.message}`).join("\n");
    super(
      "INVALID_SECRET",
      `Secret ${secretName} from ${describeSource(source)} is malformed:\n${list}\nFix the value there; Tributary does not fall back to other sources when a value is found but invalid.`,
    );
    this.secretName = secretName;
    this.source = source;
    this.issues = issues;
  }
}

/** Thrown when a task asks for a secret name it did not declare (least-privilege mode). */
export class SecretNotAllowedError extends TributaryError {
  static override readonly errorName: string = "SecretNotAllowedError";
  constructor(
    readonly secretName: string,
    readonly allowed: readonly string[],
  ) {
    super(
      "SECRET_NOT_ALLOWED",
      `Secret ${secretName} is not among the secrets this task may read (${allowed.join(", ") || "none"}). Add it to the task's \`secrets\` option.`,
    );
  }
}

/** Thrown by the local secret store: unreadable, corrupt, readable by others, or locked too long. */
export class SecretStoreError extends TributaryError {
  static override readonly errorName: string = "SecretStoreError";
  constructor(
    code: string,
    message: string,
    readonly path: string,
    options: TributaryErrorOptions = {},
  ) {
    super(code, message, options);
  }
}

/** Thrown when a secret backend fails: not found where required, access denied, throttled, unreachable. */
export class SecretBackendError extends TributaryError {
  static override readonly errorName: string = "SecretBackendError";
  /** The backend service's own reason, as it spells it (`AccessDeniedException`, `PERMISSION_DENIED`). */
  readonly reason: string | undefined;
  constructor(
    code: string,
    message: string,
    readonly backend: string,
    readonly key: string,
    options: TributaryErrorOptions = {},
  ) {
    super(code, message, options);
    this.reason = options.reason;
  }
}

/** Thrown before any network call when a task's input is wrong (a bucket name, an empty key, a bad URL). */
export class ValidationError extends TributaryError {
  static override readonly errorName: string = "ValidationError";
  constructor(
    /** The option that was wrong, such as `bucket`. */
    readonly option: string,
    message: string,
  ) {
    super("INVALID_INPUT", `Invalid ${option}: ${message}`);
  }
}

/** Thrown when a service refused a credential (bad signature, invalid token). Names where the credential came from. */
export class CredentialRejectedError extends TributaryError {
  static override readonly errorName: string = "CredentialRejectedError";
  /** The service's own reason, as it spells it (`SignatureDoesNotMatch`, `invalid_auth`, `Bad credentials`). */
  readonly reason: string | undefined;
  constructor(
    /** The service that refused it, such as `S3`. */
    readonly service: string,
    /** Where the refused credential came from. */
    readonly source: SecretSource,
    detail: string,
    options: TributaryErrorOptions = {},
  ) {
    super(
      "CREDENTIAL_REJECTED",
      `${service} rejected the credential from ${describeSource(source)}: ${detail}. Check or replace the value there.`,
      { ...options, retryable: false },
    );
    this.reason = options.reason;
  }
}

/** Any other failure answered by a service (not found, denied, throttled past retries, server error). */
export class ServiceError extends TributaryError {
  static override readonly errorName: string = "ServiceError";
  /** The service's own reason, as it spells it (`NoSuchKey`, `channel_not_found`, `Not Found`). */
  readonly reason: string | undefined;
  constructor(
    code: string,
    readonly service: string,
    message: string,
    readonly status?: number,
    options: TributaryErrorOptions = {},
  ) {
    super(code, `${service}: ${message}`, options);
    this.reason = options.reason;
  }
}
