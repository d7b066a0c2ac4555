import { readFile } from "node:fs/promises";
import type { STSClient } from "@aws-sdk/client-sts";
import {
  type AwsCredentials,
  clientCache,
  credentialFingerprint,
  headerValueProblem,
  InvalidSecretError,
  MissingCredentialsError,
  registerSecretValue,
  resolveSecret,
  type Secret,
  type SecretSource,
  ValidationError,
} from "@tributary/auth";
import { toAwsError } from "./aws-errors.js";
import type { SessionPolicy } from "./s3-scope.js";
import { quietNodeVersionWarning } from "./sdk-noise.js";

/** Credentials in the AWS SDK's own shape. */
export interface SdkCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

/** An AWS SDK credential provider: a function returning credentials. */
export type SdkCredentialProvider = () => Promise<SdkCredentials>;

/** What the `credentials` option takes. */
export type AwsCredentialsInput =
  | AwsCredentials
  | Secret<AwsCredentials>
  | string
  | SdkCredentials
  | SdkCredentialProvider;

/** The credential options every AWS task and factory takes. */
export interface AwsCredentialOptions {
  /**
   * Explicit credentials: our `AWS_CREDENTIALS` shape (`{ ACCESS_KEY, SECRET_ACCESS_KEY, SESSION_TOKEN?, ROLE_ARN?,
   * EXTERNAL_ID? }`, an object, its JSON text or a `Secret`), the SDK's `{ accessKeyId, secretAccessKey }`, or an SDK
   * credential provider. Always wins.
   */
  credentials?: AwsCredentialsInput;
  /** Read this secret name instead of `AWS_CREDENTIALS`. Never falls back to the SDK default chain. */
  secretName?: string;
  /** An AWS profile for the SDK default chain (`~/.aws/config`). Counts as an explicit argument. */
  profile?: string;
  /** The STS endpoint used to assume `ROLE_ARN` (default: AWS's own). */
  stsEndpoint?: string;
}

/** An SDK credential provider that also says where its credentials came from. */
export type AwsCredentialProvider = SdkCredentialProvider & {
  /** Where the credentials came from; safe to log. */
  readonly source: SecretSource;
};

/** @internal A resolved credential: the provider, its source, a cache id (never a value) and when it expires. */
export interface ResolvedAwsCredentials {
  provider: SdkCredentialProvider;
  source: SecretSource;
  /** A stable id for client cache keys: a fingerprint or a name, never a value. */
  id: string;
  /** The region named in `AWS_CREDENTIALS`, if any. */
  region: string | undefined;
  /** True when the credentials carry the session policy asked for with `scope`. */
  scoped?: boolean;
  /** For assumed roles: fetches credentials now and returns when clients built on them must be dropped. */
  expiresAt?: () => Promise<number | undefined>;
  /** @internal The run whose log last named these scoped credentials (so a cached call checks one field). */
  loggedRun?: string;
}

/** Refresh assumed-role credentials this long before they expire (or at half their life, if shorter). */
export const ROLE_REFRESH_MARGIN_MS = 5 * 60_000;

const providerIds = new WeakMap<object, string>();
let nextProviderId = 0;

function isSdkShape(value: unknown): value is SdkCredentials {
  return typeof value === "object" && value !== null && "accessKeyId" in value;
}

function checkSdkShape(value: SdkCredentials): SdkCredentials {
  for (const field of ["accessKeyId", "secretAccessKey"] as const) {
    if (typeof value[field] !== "string" || value[field] === "" || /\s/.test(value[field])) {
      throw new ValidationError(`credentials.${field}`, "must be a non-empty string without spaces");
    }
  }
  if (
    value.sessionToken !== undefined &&
    (typeof value.sessionToken !== "string" || value.sessionToken === "")
  ) {
    throw new ValidationError("credentials.sessionToken", "must be a non-empty string when given");
  }
  // These travel in HTTP headers (or are signed into one): refused before any request, never retried.
  const issues = (["accessKeyId", "secretAccessKey", "sessionToken"] as const).flatMap((field) => {
    const problem = value[field] === undefined ? undefined : headerValueProblem(value[field]);
    return problem ? [{ field, message: problem }] : [];
  });
  if (issues.length > 0) {
    throw new InvalidSecretError("AWS_CREDENTIALS", { kind: "argument", detail: "credentials" }, issues);
  }
  registerSecretValue(value.secretAccessKey);
  if (value.sessionToken) registerSecretValue(value.sessionToken);
  return value;
}

interface RoleState {
  provider: SdkCredentialProvider;
  /** When the current credentials are due for refresh (epoch ms). */
  refreshAt: () => number | undefined;
}

/** What to assume: a role with a key pair (`AssumeRole`) or with a web-identity token (`AssumeRoleWithWebIdentity`). */
export interface RoleRequest {
  roleArn: string;
  externalId?: string | undefined;
  /** The key pair that signs `AssumeRole`. */
  base?: SdkCredentials | undefined;
  /** A web-identity token, or the file it is read from at each refresh (Kubernetes rotates it). */
  webIdentity?: { file?: string | undefined; token?: string | undefined } | undefined;
  /** A session policy (JSON): the credentials can do only what both the role and this policy allow. */
  policy?: string | undefined;
}

async function webIdentityToken(webIdentity: NonNullable<RoleRequest["webIdentity"]>): Promise<string> {
  if (webIdentity.token !== undefined) return webIdentity.token;
  const file = webIdentity.file as string;
  let token: string;
  try {
    token = (await readFile(file, "utf8")).trim();
  } catch (error) {
    throw new ValidationError(
      "AWS_CREDENTIALS.WEB_IDENTITY_TOKEN_FILE",
      `cannot be read (${(error as NodeJS.ErrnoException).code ?? "error"}): ${file}`,
    );
  }
  if (token === "") throw new ValidationError("AWS_CREDENTIALS.WEB_IDENTITY_TOKEN_FILE", `is empty: ${file}`);
  registerSecretValue(token);
  return token;
}

/** @internal Assumes a role through STS, keeps the credentials and refreshes them before they expire. */
export function roleProvider(
  request: RoleRequest,
  region: string,
  endpoint: string | undefined,
  source: SecretSource,
): RoleState {
  let sts: STSClient | undefined;
  let current: SdkCredentials | undefined;
  let issuedAt = 0;
  let pending: Promise<SdkCredentials> | undefined;
  const refreshAt = () => {
    if (!current?.expiration) return undefined;
    const expires = current.expiration.getTime();
    return expires - Math.min(ROLE_REFRESH_MARGIN_MS, (expires - issuedAt) / 2);
  };
  const fresh = () => (refreshAt() ?? 0) > Date.now();
  const provider = async (): Promise<SdkCredentials> => {
    if (current && fresh()) return current;
    pending ??= (async () => {
      try {
        const started = Date.now();
        // Loaded on first use: only assumed roles need STS.
        const lib = await import("@aws-sdk/client-sts");
        sts ??= new lib.STSClient({
          region,
          ...(request.base ? { credentials: request.base } : {}),
          ...(endpoint ? { endpoint } : {}),
        });
        const common = {
          RoleArn: request.roleArn,
          RoleSessionName: `tributary-${started}`,
          ...(request.policy ? { Policy: request.policy } : {}),
        };
        const out = request.webIdentity
          ? await sts.send(
              new lib.AssumeRoleWithWebIdentityCommand({
                ...common,
                WebIdentityToken: await webIdentityToken(request.webIdentity),
              }),
            )
          : await sts.send(
              new lib.AssumeRoleCommand({
                ...common,
                ...(request.externalId ? { ExternalId: request.externalId } : {}),
              }),
            );
        const c = out.Credentials;
        if (!c?.AccessKeyId || !c.SecretAccessKey || !c.Expiration) {
          throw new Error("STS returned no credentials");
        }
        // The SDK keeps these for every run that shares the client: they are the process's to mask.
        registerSecretValue(c.SecretAccessKey, { scope: "process" });
        if (c.SessionToken) registerSecretValue(c.SessionToken, { scope: "process" });
        current = {
          accessKeyId: c.AccessKeyId,
          secretAccessKey: c.SecretAccessKey,
          ...(c.SessionToken ? { sessionToken: c.SessionToken } : {}),
          expiration: c.Expiration,
        };
        issuedAt = started;
        return current;
      } catch (error) {
        if (ValidationError.isInstance(error)) throw error;
        throw toAwsError(error, "STS", source, `assuming role ${request.roleArn}`);
      } finally {
        pending = undefined;
      }
    })();
    return pending;
  };
  return { provider, refreshAt };
}

function roleExpiry(state: RoleState): () => Promise<number | undefined> {
  return async () => {
    await state.provider();
    return state.refreshAt();
  };
}

/** @internal The SDK default chain, one provider per process and per set of AWS_* variables. */
function defaultChain(profile: string | undefined): { provider: SdkCredentialProvider; id: string } {
  const env = process.env;
  const id = `chain-${credentialFingerprint([
    profile,
    env.AWS_PROFILE,
    env.AWS_ACCESS_KEY_ID,
    env.AWS_SECRET_ACCESS_KEY,
    env.AWS_SESSION_TOKEN,
  ])}`;
  const provider = clientCache.get(`aws-chain:${id}`, () => {
    let chain: SdkCredentialProvider | undefined;
    // Loaded on first use: most runs with explicit or stored credentials never need the chain.
    return async () => {
      // The chain itself, without @aws-sdk/credential-providers' other providers (and the Cognito client they need).
      chain ??= (await import("@aws-sdk/credential-provider-node")).defaultProvider(
        profile ? { profile } : {},
      );
      return chain();
    };
  });
  return { provider, id };
}

/** @internal An assumed role's resolved credentials, kept per role and session policy. */
interface RoleCredentials extends ResolvedAwsCredentials {
  /** The source they were resolved from (before the scope is added to its words). */
  from: SecretSource;
  state: RoleState;
}

function roleRequestState(
  value: AwsCredentials,
  base: SdkCredentials | undefined,
  webIdentity: RoleRequest["webIdentity"],
  scope: SessionPolicy | undefined,
  region: string,
  options: AwsCredentialOptions,
  source: SecretSource,
): RoleState {
  const request: RoleRequest = {
    roleArn: value.ROLE_ARN as string,
    externalId: value.EXTERNAL_ID,
    base,
    webIdentity,
    policy: scope?.policy,
  };
  return roleProvider(request, region, options.stsEndpoint, source);
}

function roleCredentials(
  state: RoleState,
  from: SecretSource,
  scope: SessionPolicy | undefined,
  id: string,
  region: string | undefined,
): RoleCredentials {
  return {
    provider: state.provider,
    source: scope ? { ...from, detail: `${from.detail}, scoped to ${scope.label}` } : from,
    from,
    state,
    id,
    scoped: scope !== undefined,
    region,
    expiresAt: roleExpiry(state),
  };
}

/**
 * @internal Resolves AWS credentials through the one order: explicit `credentials` (or `profile`) → the secret
 * (`AWS_CREDENTIALS` or `secretName`) → the SDK default chain.
 */
export async function resolveAwsCredentials(
  options: AwsCredentialOptions & {
    region?: string;
    defaultChainOnly?: boolean;
    argument?: string;
  },
  /** With a role, assume it with this session policy. */
  scope?: SessionPolicy,
): Promise<ResolvedAwsCredentials> {
  quietNodeVersionWarning();
  const argument = options.argument ?? "credentials";
  const { credentials, profile, secretName } = options;
  if (profile !== undefined && (typeof profile !== "string" || profile === "")) {
    throw new ValidationError("profile", "must be a non-empty profile name");
  }
  if (profile !== undefined && credentials !== undefined) {
    throw new ValidationError("profile", "give either `credentials` or `profile`, not both");
  }
  if (typeof credentials === "function") {
    let id = providerIds.get(credentials);
    if (!id) {
      id = `provider-${++nextProviderId}`;
      providerIds.set(credentials, id);
    }
    return {
      provider: credentials,
      source: { kind: "argument", detail: `${argument} (SDK provider)` },
      id,
      region: undefined,
    };
  }
  if (isSdkShape(credentials)) {
    const value = checkSdkShape(credentials);
    const identity: SdkCredentials = {
      accessKeyId: value.accessKeyId,
      secretAccessKey: value.secretAccessKey,
      ...(value.sessionToken ? { sessionToken: value.sessionToken } : {}),
    };
    return {
      provider: async () => identity,
      // The same note as for the SDK's field names in any other source of AWS_CREDENTIALS.
      source: { kind: "argument", detail: `${argument}; AWS SDK field names` },
      id: credentialFingerprint(identity),
      region: undefined,
    };
  }
  if (profile !== undefined) {
    const chain = defaultChain(profile);
    return {
      provider: chain.provider,
      source: { kind: "argument", detail: `profile ${profile} (AWS SDK default provider chain)` },
      id: chain.id,
      region: undefined,
    };
  }
  if (options.defaultChainOnly && credentials === undefined) {
    const chain = defaultChain(undefined);
    const source: SecretSource = { kind: "default-chain", detail: "AWS SDK default provider chain" };
    return { provider: chain.provider, source, id: chain.id, region: undefined };
  }
  const resolution = await resolveSecret("AWS_CREDENTIALS", {
    value: credentials as AwsCredentials | Secret<AwsCredentials> | string | undefined,
    argument,
    ...(secretName !== undefined ? { secretName } : {}),
  });
  if (resolution.value === undefined) {
    const chain = defaultChain(undefined);
    const tried = resolution.tried;
    const source = resolution.source;
    // When the SDK chain finds nothing either, say every place that was tried, ours and the SDK's.
    const provider: SdkCredentialProvider = async () => {
      try {
        return await chain.provider();
      } catch (error) {
        if ((error as { name?: string }).name !== "CredentialsProviderError") throw error;
        throw new MissingCredentialsError(
          "AWS_CREDENTIALS",
          [
            ...tried,
            {
              source,
              outcome: "found nothing",
              howToSet: "export AWS_ACCESS_KEY_ID=… and AWS_SECRET_ACCESS_KEY=…, or AWS_PROFILE=…",
            },
          ],
          { cause: error },
        );
      }
    };
    return { provider, source, id: chain.id, region: undefined };
  }
  const value = resolution.value as AwsCredentials;
  const webIdentity =
    value.WEB_IDENTITY_TOKEN_FILE !== undefined || value.WEB_IDENTITY_TOKEN !== undefined
      ? { file: value.WEB_IDENTITY_TOKEN_FILE, token: value.WEB_IDENTITY_TOKEN }
      : undefined;
  const base: SdkCredentials | undefined = webIdentity
    ? undefined
    : {
        accessKeyId: value.ACCESS_KEY as string,
        secretAccessKey: value.SECRET_ACCESS_KEY as string,
        ...(value.SESSION_TOKEN ? { sessionToken: value.SESSION_TOKEN } : {}),
      };
  const id = credentialFingerprint(value);
  if (value.ROLE_ARN) {
    const region = options.region ?? value.REGION ?? envRegion() ?? "us-east-1";
    const role = clientCache.get(
      `aws-role:${id}:${region}:${options.stsEndpoint ?? ""}`,
      () => new Map<SessionPolicy | undefined, RoleCredentials>(),
    );
    // Scoped credentials are cached per scope: the 1,000th call of a task reuses its first exchange, and finds it
    // with one lookup by the policy object (the same for the same scope).
    const from = resolution.source;
    let found = role.get(scope);
    if (found?.from.kind !== from.kind || found.from.detail !== from.detail) {
      const state = found?.state ?? roleRequestState(value, base, webIdentity, scope, region, options, from);
      if (!found && role.size >= 1000) role.clear();
      found = roleCredentials(state, from, scope, `${id}${scope ? `:${scope.id}` : ""}`, value.REGION);
      role.set(scope, found);
    }
    return found;
  }
  const keys = base as SdkCredentials;
  return { provider: async () => keys, source: resolution.source, id, region: value.REGION };
}

/** @internal AWS_REGION, then AWS_DEFAULT_REGION. */
export function envRegion(): string | undefined {
  return process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || undefined;
}

/**
 * Resolves AWS credentials and returns an SDK credential provider, usable as `credentials` in any AWS SDK client.
 * The order: an explicit `credentials` (our shape or the SDK's) or `profile` → `AWS_CREDENTIALS` (or `secretName`)
 * from the run's secrets, `TRIBUTARY__CONTEXT__SECRETS__AWS_CREDENTIALS`, the local store or a declared backend →
 * the AWS SDK default provider chain. With `ROLE_ARN` in the secret the role is assumed through STS, and the
 * temporary credentials are refreshed before they expire. `provider.source` says where they came from.
 * @example
 * const credentials = await awsCredentials();
 * const dynamo = new DynamoDBClient({ region: "eu-west-1", credentials });
 * console.log(credentials.source); // { kind: "env", detail: "TRIBUTARY__CONTEXT__SECRETS__AWS_CREDENTIALS" }
 */
export async function awsCredentials(
  options: AwsCredentialOptions & { region?: string } = {},
): Promise<AwsCredentialProvider> {
  const resolved = await resolveAwsCredentials(options);
  const provider = (() => resolved.provider()) as AwsCredentialProvider;
  Object.defineProperty(provider, "source", { value: resolved.source, enumerable: true });
  return provider;
}
