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
  /** For assumed roles: fetches credentials now and returns when clients built on them must be dropped. */
  expiresAt?: () => Promise<number | undefined>;
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

function roleProvider(
  base: SdkCredentials,
  roleArn: string,
  externalId: string | undefined,
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
        const { AssumeRoleCommand, STSClient } = await import("@aws-sdk/client-sts");
        sts ??= new STSClient({ region, credentials: base, ...(endpoint ? { endpoint } : {}) });
        const out = await sts.send(
          new AssumeRoleCommand({
            RoleArn: roleArn,
            RoleSessionName: `tributary-${started}`,
            ...(externalId ? { ExternalId: externalId } : {}),
          }),
        );
        const c = out.Credentials;
        if (!c?.AccessKeyId || !c.SecretAccessKey || !c.Expiration) {
          throw new Error("STS AssumeRole returned no credentials");
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
        throw toAwsError(error, "STS", source, `assuming role ${roleArn}`);
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
      chain ??= (await import("@aws-sdk/credential-providers")).fromNodeProviderChain(
        profile ? { profile } : {},
      );
      return chain();
    };
  });
  return { provider, id };
}

/**
 * @internal Resolves AWS credentials through the one order: explicit `credentials` (or `profile`) → the secret
 * (`AWS_CREDENTIALS` or `secretName`) → the SDK default chain.
 */
export async function resolveAwsCredentials(
  options: AwsCredentialOptions & { region?: string; defaultChainOnly?: boolean; argument?: string },
): Promise<ResolvedAwsCredentials> {
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
      source: { kind: "argument", detail: argument },
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
  const base: SdkCredentials = {
    accessKeyId: value.ACCESS_KEY,
    secretAccessKey: value.SECRET_ACCESS_KEY,
    ...(value.SESSION_TOKEN ? { sessionToken: value.SESSION_TOKEN } : {}),
  };
  const id = credentialFingerprint(value);
  if (value.ROLE_ARN) {
    const region = options.region ?? value.REGION ?? envRegion() ?? "us-east-1";
    const roleArn = value.ROLE_ARN;
    const state = clientCache.get(`aws-role:${id}:${region}:${options.stsEndpoint ?? ""}`, () =>
      roleProvider(base, roleArn, value.EXTERNAL_ID, region, options.stsEndpoint, resolution.source),
    );
    return {
      provider: state.provider,
      source: resolution.source,
      id,
      region: value.REGION,
      expiresAt: roleExpiry(state),
    };
  }
  return { provider: async () => base, source: resolution.source, id, region: value.REGION };
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
