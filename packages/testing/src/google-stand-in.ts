import { createHash, generateKeyPair, type Hash, type KeyObject, randomBytes, verify } from "node:crypto";
import { once } from "node:events";
import { createReadStream, createWriteStream } from "node:fs";
import { copyFile, mkdtemp, readFile, rm, truncate, writeFile } from "node:fs/promises";
import type { ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { verifyIdentityToken } from "./oidc-issuer.js";
import {
  route,
  type StandIn,
  type StandInReply,
  type StandInRequest,
  type StandInRoute,
  startStandIn,
} from "./stand-in.js";

/** Google's own token endpoint: google-auth-library signs this as the JWT audience whatever `token_uri` says. */
const GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token";
const JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/** Resumable uploads persist in multiples of 256 KiB, as Cloud Storage does. */
const UPLOAD_QUANTUM = 256 * 1024;

/** A service-account key as Google issues it (`type: "service_account"`), pointing at the stand-in. */
export interface StandInServiceAccountKey {
  type: "service_account";
  project_id: string;
  private_key_id: string;
  private_key: string;
  client_email: string;
  client_id: string;
  token_uri: string;
}

/** An `authorized_user` file (what `gcloud auth application-default login` writes), pointing at the stand-in. */
export interface StandInAuthorizedUser {
  type: "authorized_user";
  client_id: string;
  client_secret: string;
  refresh_token: string;
  token_uri: string;
}

/** The options of `startGoogleStandIn`. */
export interface GoogleStandInOptions {
  /** The project id used in keys and Secret Manager names. Default `"tributary-test"`. */
  projectId?: string;
  /** Lifetime of issued access tokens (`expires_in`). Default 3600 seconds. */
  tokenLifetimeSeconds?: number;
  /**
   * @internal More Google services on the same port (the BigQuery stand-in): their routes, made with the stand-in's
   * token check and its Cloud Storage objects.
   */
  services?: ((google: GoogleServiceHooks) => StandInRoute[]) | undefined;
}

/** @internal What another service on the Google stand-in's port may use: its token check and its objects. */
export interface GoogleServiceHooks {
  /** Checks the bearer token as Google does; returns the principal, or the 401 reply to send. */
  authenticate(req: StandInRequest): string | StandInReply;
  /** Whether `principal` was refused paths starting with `path` (`denyAccess`). */
  isDenied(principal: string, path: string): boolean;
  /** The object's bytes, or `undefined`. */
  readObject(bucket: string, name: string): Promise<Buffer | undefined>;
  /** Object names in a bucket, sorted (`undefined` when there is no such bucket). */
  objectNames(bucket: string): string[] | undefined;
  /** Stores an object (the bucket must exist). */
  putObject(bucket: string, name: string, data: Buffer, contentType: string): Promise<void>;
}

/** The metadata the stand-in keeps for an object (the `storage#object` resource, trimmed). */
export interface StandInObject {
  bucket: string;
  name: string;
  size: number;
  contentType: string;
  generation: number;
  md5Hash: string;
  metadata: Record<string, string> | undefined;
  timeCreated: string;
}

/**
 * A stand-in for Google Cloud on one port: the OAuth token endpoint (`/token`), the Cloud Storage JSON API
 * (`/storage/v1`, `/upload/storage/v1`) and Secret Manager (`/v1/projects/…`), with the fault injection of
 * `startStandIn`.
 */
export interface GoogleStandIn extends StandIn {
  /** The token endpoint, `<url>/token` — the `token_uri` of the keys it makes. */
  readonly tokenUrl: string;
  /** The project id of keys and secrets. */
  readonly projectId: string;
  /** Access tokens issued so far (each successful grant counts one). */
  readonly tokensIssued: number;
  /** Makes a service account with an RSA key generated now; the returned key JSON works as `GCP_CREDENTIALS`. */
  createServiceAccount(options?: { email?: string; projectId?: string }): Promise<StandInServiceAccountKey>;
  /** Trusts `publicKey` (PEM) for `email`, for keys made elsewhere. */
  registerServiceAccount(email: string, publicKey: string): void;
  /** Makes an OAuth client and refresh token; the returned file works as `GCP_CREDENTIALS`. */
  createAuthorizedUser(): StandInAuthorizedUser;
  /** Google STS (`<url>/v1/token`): the `token_url` of external_account files. */
  readonly stsUrl: string;
  /** Trusts a workload identity pool provider: its OIDC tokens are exchanged at `stsUrl` for federated tokens. */
  trustWorkloadIdentity(provider: StandInWorkloadIdentityProvider): void;
  /**
   * Lets `principal` (a service-account email, or a federated `principal://…/subject/SUB`) mint tokens for
   * `serviceAccount` through IAM `generateAccessToken`; anyone else gets 403.
   */
  allowImpersonation(principal: string, serviceAccount: string): void;
  /** The IAM `generateAccessToken` URL for a service account (a `service_account_impersonation_url`). */
  impersonationUrl(serviceAccount: string): string;
  /** Every `generateAccessToken` answered, in order. */
  readonly impersonations: readonly { principal: string; serviceAccount: string }[];
  /** The Credential Access Boundary rules of every downscoped token issued, in order. */
  readonly downscopedBoundaries: readonly AccessBoundaryRule[][];
  /** Makes every access token issued so far invalid: later requests with them get 401 until a new grant. */
  expireTokens(): void;
  /** Answers 403 PERMISSION_DENIED to `principal` (a client email, or a client id) for paths starting with `pathPrefix`. */
  denyAccess(principal: string, pathPrefix: string): void;
  /** Creates an empty bucket (the stand-in never creates buckets by itself). */
  createBucket(name: string): void;
  /** Stores an object directly, bypassing the API. */
  putObject(
    bucket: string,
    name: string,
    data: string | Buffer,
    options?: { contentType?: string },
  ): Promise<void>;
  /** The object's bytes, or `undefined` when there is none. */
  readObject(bucket: string, name: string): Promise<Buffer | undefined>;
  /** The object's metadata, or `undefined`. */
  objectInfo(bucket: string, name: string): StandInObject | undefined;
  /** Object names in a bucket, sorted. */
  objectNames(bucket: string): string[];
  /** Sets (adds a new latest version of) a Secret Manager secret. `state: "DISABLED"` makes that version unreadable. */
  setSecret(
    name: string,
    value: string | Buffer,
    options?: { project?: string; state?: "ENABLED" | "DISABLED" },
  ): void;
  /**
   * Drops the connection of the next `count` resumable-upload requests once `afterBytes` of their body arrived.
   * What was received is persisted in multiples of 256 KiB, as Cloud Storage does, so the client must resume.
   */
  dropUploadAfter(afterBytes: number, options?: { count?: number }): void;
}

interface ObjectRecord extends StandInObject {
  path: string;
}

interface UploadSession {
  id: string;
  bucket: string;
  name: string;
  contentType: string;
  metadata: Record<string, string> | undefined;
  total: number | undefined;
  received: number;
  path: string;
  hash: Hash;
  done: ObjectRecord | undefined;
}

interface TokenRecord {
  principal: string;
  expiresAt: number;
  revoked: boolean;
  /** The Credential Access Boundary of a downscoped token. */
  boundary?: AccessBoundaryRule[];
}

/** One rule of a Credential Access Boundary, as google-auth-library's `DownscopedClient` sends it. */
export interface AccessBoundaryRule {
  availableResource: string;
  availablePermissions: string[];
  availabilityCondition?: { expression: string; title?: string; description?: string };
}

/** A workload identity pool provider the Google stand-in trusts (see `trustWorkloadIdentity`). */
export interface StandInWorkloadIdentityProvider {
  /** The provider's audience, `//iam.googleapis.com/projects/N/locations/global/workloadIdentityPools/P/providers/K`. */
  audience: string;
  /** The OIDC issuer's public key: the subject token's RS256 signature is checked with it. */
  publicKey: KeyObject | string;
  /** The `aud` the subject token must carry. Default: `audience` itself, as Google expects by default. */
  tokenAudience?: string;
}

const TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange";
const ROLE_PERMISSIONS: Record<string, string[]> = {
  "roles/storage.objectViewer": ["storage.objects.get", "storage.objects.list"],
  "roles/storage.objectCreator": ["storage.objects.create"],
  "roles/storage.objectAdmin": [
    "storage.objects.get",
    "storage.objects.list",
    "storage.objects.create",
    "storage.objects.delete",
    "storage.objects.update",
  ],
};
ROLE_PERMISSIONS["roles/storage.objectUser"] = ROLE_PERMISSIONS["roles/storage.objectAdmin"] as string[];

/**
 * Whether a Credential Access Boundary lets `permission` on an object (or a listing under a prefix) through. The
 * conditions understood are `startsWith` on `resource.name` and on the `objectListPrefix` attribute, joined by
 * `||`, as Google's downscoping guide writes them.
 */
export function accessBoundaryAllows(
  rules: readonly AccessBoundaryRule[],
  bucket: string,
  target: { object: string } | { listPrefix: string },
  permission: string,
): boolean {
  return rules.some((rule) => {
    if (rule.availableResource !== `//storage.googleapis.com/projects/_/buckets/${bucket}`) return false;
    const granted = rule.availablePermissions.flatMap((p) =>
      p.startsWith("inRole:") ? (ROLE_PERMISSIONS[p.slice(7)] ?? []) : [p],
    );
    if (!granted.includes(permission)) return false;
    const expression = rule.availabilityCondition?.expression;
    if (!expression) return true;
    return expression.split("||").some((clause) => {
      const m =
        /^\s*(resource\.name|api\.getAttribute\('storage\.googleapis\.com\/objectListPrefix',\s*''\))\.startsWith\('([^']*)'\)\s*$/.exec(
          clause,
        );
      if (!m) return false;
      const [, subject, start] = m as unknown as [string, string, string];
      if (subject === "resource.name") {
        return (
          "object" in target && `projects/_/buckets/${bucket}/objects/${target.object}`.startsWith(start)
        );
      }
      return "listPrefix" in target && target.listPrefix.startsWith(start);
    });
  });
}

/**
 * The body of a Cloud Storage JSON API error, as Cloud Storage shapes it: `{ error: { code, message, errors: [{
 * domain, reason, message }] } }`, with Google's reason (`notFound`, `forbidden`, `conditionNotMet` …) and no gRPC
 * `status`.
 */
function gcsErrorBody(status: number, message: string, reason: string): object {
  return { error: { code: status, message, errors: [{ domain: "global", reason, message }] } };
}

/** The body of an error of Google's newer APIs (Secret Manager, IAM Credentials): `{ error: { code, message, status } }`. */
function rpcErrorBody(status: number, statusText: string, message: string): object {
  return { error: { code: status, message, status: statusText } };
}

/** A Cloud Storage JSON API error answer. */
function gcsError(status: number, message: string, reason: string): StandInReply {
  return { status, body: gcsErrorBody(status, message, reason) };
}

/** An error answer of Google's newer APIs. */
function rpcError(status: number, statusText: string, message: string): StandInReply {
  return { status, body: rpcErrorBody(status, statusText, message) };
}

const notFound = (message: string) => gcsError(404, message, "notFound");

/** The permission a Cloud Storage request needs: `parts` are the path's segments after `/upload`, if any. */
function gcsPermission(method: string, parts: readonly string[], upload: boolean): string {
  if (upload) return "storage.objects.create";
  if (parts.length === 5) return "storage.objects.list";
  if (parts.length === 11 || method === "GET") return "storage.objects.get";
  return method === "DELETE" ? "storage.objects.delete" : "storage.objects.update";
}

/** Cloud Storage's 403 for a principal without `permission`, in Google's words. */
function storageDenied(principal: string, permission: string): StandInReply {
  const on = permission === "storage.objects.list" ? "bucket" : "object";
  return gcsError(
    403,
    `${principal} does not have ${permission} access to the Google Cloud Storage ${on}. Permission '${permission}' denied on resource (or it may not exist).`,
    "forbidden",
  );
}

/** Cloud Storage's reason and message for a status, for faults injected without a body. */
const GCS_FAULTS: Readonly<Record<number, [string, string]>> = {
  400: ["invalid", "Invalid argument."],
  401: ["authError", "Invalid Credentials"],
  403: ["forbidden", "Forbidden"],
  404: ["notFound", "Not Found"],
  408: ["requestTimeout", "Request timed out."],
  409: ["conflict", "The object was changed by another request during this operation. Please try again."],
  410: ["gone", "The upload session has expired."],
  412: ["conditionNotMet", "At least one of the pre-conditions you specified did not hold."],
  416: ["requestedRangeNotSatisfiable", "The requested range cannot be satisfied."],
  429: [
    "rateLimitExceeded",
    "The object exceeds the rate limit for create, update and delete requests. Please reduce the rate.",
  ],
  500: ["backendError", "Backend Error"],
  502: ["badGateway", "Bad Gateway"],
  503: ["backendError", "Backend Error"],
  504: ["gatewayTimeout", "Gateway Timeout"],
};

/** The gRPC status Google's newer APIs name for an HTTP status, for faults injected without a body. */
const RPC_FAULTS: Readonly<Record<number, [string, string]>> = {
  400: ["INVALID_ARGUMENT", "Request contains an invalid argument."],
  401: ["UNAUTHENTICATED", "Request had invalid authentication credentials."],
  403: ["PERMISSION_DENIED", "The caller does not have permission"],
  404: ["NOT_FOUND", "Requested entity was not found."],
  409: ["ABORTED", "The operation was aborted."],
  429: ["RESOURCE_EXHAUSTED", "Quota exceeded for quota metric 'Access requests'."],
  500: ["INTERNAL", "Internal error encountered."],
  501: ["UNIMPLEMENTED", "Operation is not implemented."],
  503: ["UNAVAILABLE", "The service is currently unavailable."],
  504: ["DEADLINE_EXCEEDED", "The request deadline was exceeded."],
};

/** The body of an injected fault, shaped as the API the request went to answers. */
function faultBody(status: number, request: { path: string }): object | undefined {
  if (/^\/(upload\/)?storage\//.test(request.path)) {
    const [reason, message] = GCS_FAULTS[status] ?? [];
    return reason ? gcsErrorBody(status, message as string, reason) : undefined;
  }
  if (request.path.startsWith("/v1/projects/")) {
    const [statusText, message] = RPC_FAULTS[status] ?? [];
    return statusText ? rpcErrorBody(status, statusText, message as string) : undefined;
  }
  return undefined;
}

function b64url(input: string): Buffer {
  return Buffer.from(input.replace(/-/g, "+").replace(/_/g, "/"), "base64");
}

/** Splits the raw (still percent-encoded) path into decoded segments, so `%2F` inside an object name survives. */
function segments(url: URL): string[] {
  return url.pathname
    .split("/")
    .slice(1)
    .map((s) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    });
}

function objectResource(base: string, o: ObjectRecord): Record<string, unknown> {
  const encoded = encodeURIComponent(o.name);
  return {
    kind: "storage#object",
    id: `${o.bucket}/${o.name}/${o.generation}`,
    selfLink: `${base}/storage/v1/b/${o.bucket}/o/${encoded}`,
    mediaLink: `${base}/download/storage/v1/b/${o.bucket}/o/${encoded}?generation=${o.generation}&alt=media`,
    name: o.name,
    bucket: o.bucket,
    generation: String(o.generation),
    metageneration: "1",
    contentType: o.contentType,
    size: String(o.size),
    md5Hash: o.md5Hash,
    etag: `${o.md5Hash}${o.generation}`,
    timeCreated: o.timeCreated,
    updated: o.timeCreated,
    storageClass: "STANDARD",
    ...(o.metadata ? { metadata: o.metadata } : {}),
  };
}

function publicRecord(o: ObjectRecord): StandInObject {
  const { path: _path, ...rest } = o;
  return rest;
}

/**
 * Starts a Google Cloud stand-in: OAuth token endpoint, Cloud Storage JSON API and Secret Manager on one port.
 * Object data lives in temporary files (never whole in memory), removed by `close()`. Errors, injected ones too, come
 * in each API's own shape: Cloud Storage's `errors[0].reason` (`notFound`, `forbidden` …), Secret Manager's `status`.
 * @example
 * const google = await startGoogleStandIn();
 * const key = await google.createServiceAccount();
 * google.createBucket("reports");
 * await gcsUpload({ bucket: "reports", name: "a.txt", body: "hi", credentials: key, endpoint: google.url });
 * expect(google.tokensIssued).toBe(1);
 * await google.close();
 */
export async function startGoogleStandIn(options: GoogleStandInOptions = {}): Promise<GoogleStandIn> {
  const projectId = options.projectId ?? "tributary-test";
  const lifetime = options.tokenLifetimeSeconds ?? 3600;
  const dir = await mkdtemp(join(tmpdir(), "tributary-google-"));
  const serviceAccounts = new Map<string, string>();
  const oauthClients = new Map<string, { secret: string; refreshTokens: Set<string> }>();
  const tokens = new Map<string, TokenRecord>();
  const denied: { principal: string; prefix: string }[] = [];
  const buckets = new Map<string, Map<string, ObjectRecord>>();
  const sessions = new Map<string, UploadSession>();
  const secrets = new Map<string, { value: Buffer; state: "ENABLED" | "DISABLED" }[]>();
  const drops: { afterBytes: number; remaining: number }[] = [];
  let issued = 0;
  let generation = 1_700_000_000_000_000;
  let fileCounter = 0;
  let base = "";

  const newFile = () => join(dir, `f${++fileCounter}`);

  const mint = (principal: string, boundary?: AccessBoundaryRule[]): string => {
    const token = `ya29.${randomBytes(24).toString("base64url")}`;
    tokens.set(token, {
      principal,
      expiresAt: Date.now() + lifetime * 1000,
      revoked: false,
      ...(boundary ? { boundary } : {}),
    });
    issued++;
    return token;
  };
  const issue = (principal: string): StandInReply => ({
    body: {
      access_token: mint(principal),
      expires_in: lifetime,
      token_type: "Bearer",
      scope: "https://www.googleapis.com/auth/cloud-platform",
    },
  });
  const providers = new Map<string, StandInWorkloadIdentityProvider>();
  const impersonators = new Map<string, Set<string>>();
  const impersonations: { principal: string; serviceAccount: string }[] = [];
  const downscopedBoundaries: AccessBoundaryRule[][] = [];
  const stsError = (status: number, error: string, description: string): StandInReply => ({
    status,
    body: { error, error_description: description },
  });

  /** Google STS: a federated token for a workload's OIDC token, or a downscoped token for an access token. */
  const stsHandler = async (req: StandInRequest): Promise<StandInReply> => {
    const form = new URLSearchParams((await req.body()).toString("utf8"));
    if (form.get("grant_type") !== TOKEN_EXCHANGE) {
      return stsError(400, "unsupported_grant_type", `Invalid grant_type: ${form.get("grant_type")}`);
    }
    if (form.get("requested_token_type") !== "urn:ietf:params:oauth:token-type:access_token") {
      return stsError(400, "invalid_request", "requested_token_type must be an access token");
    }
    const subjectToken = form.get("subject_token") ?? "";
    const subjectType = form.get("subject_token_type");
    const body = (token: string) => ({
      body: {
        access_token: token,
        issued_token_type: "urn:ietf:params:oauth:token-type:access_token",
        token_type: "Bearer",
        expires_in: lifetime,
      },
    });
    if (subjectType === "urn:ietf:params:oauth:token-type:access_token") {
      const record = tokens.get(subjectToken);
      if (!record || record.revoked || record.expiresAt < Date.now()) {
        return stsError(400, "invalid_grant", "The subject token is invalid or expired.");
      }
      let options: { accessBoundary?: { accessBoundaryRules?: AccessBoundaryRule[] } };
      try {
        options = JSON.parse(form.get("options") ?? "{}");
      } catch {
        return stsError(400, "invalid_request", "options is not valid JSON.");
      }
      const rules = options.accessBoundary?.accessBoundaryRules;
      if (!Array.isArray(rules) || rules.length === 0) {
        return stsError(400, "invalid_request", "A Credential Access Boundary needs at least one rule.");
      }
      // A token downscoped again keeps only what both boundaries allow: the stand-in keeps the narrower one.
      const boundary = record.boundary ?? rules;
      downscopedBoundaries.push(boundary);
      return body(mint(record.principal, boundary));
    }
    if (
      subjectType !== "urn:ietf:params:oauth:token-type:jwt" &&
      subjectType !== "urn:ietf:params:oauth:token-type:id_token"
    ) {
      return stsError(400, "invalid_request", `Unsupported subject_token_type ${subjectType}`);
    }
    const provider = providers.get(form.get("audience") ?? "");
    if (!provider) {
      return stsError(
        400,
        "invalid_target",
        'The target service indicated by the "audience" parameters is invalid.',
      );
    }
    const verdict = verifyIdentityToken(subjectToken, {
      publicKey: provider.publicKey,
      audience: provider.tokenAudience ?? provider.audience,
    });
    if (!verdict.ok) return stsError(400, "invalid_grant", verdict.message);
    return body(
      mint(
        `principal://iam.googleapis.com/${provider.audience.replace(/^\/\/iam\.googleapis\.com\//, "")}/subject/${verdict.claims.sub}`,
      ),
    );
  };

  /** IAM Credentials `generateAccessToken`: an access token of a service account, for an allowed caller. */
  const iamHandler = async (req: StandInRequest): Promise<StandInReply> => {
    const principal = authenticate(req, "rpc");
    if (typeof principal !== "string") return principal;
    const email = decodeURIComponent(req.params.email ?? "");
    const body = ((await req.json<{ scope?: string[]; lifetime?: string }>()) ?? {}) as {
      scope?: string[];
    };
    if (!Array.isArray(body.scope) || body.scope.length === 0) {
      return rpcError(400, "INVALID_ARGUMENT", "Scope required.");
    }
    if (!impersonators.get(email)?.has(principal)) {
      return rpcError(
        403,
        "PERMISSION_DENIED",
        `Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).`,
      );
    }
    impersonations.push({ principal, serviceAccount: email });
    const token = mint(email);
    return {
      body: { accessToken: token, expireTime: new Date(Date.now() + lifetime * 1000).toISOString() },
    };
  };

  const boundaryOf = (req: StandInRequest): AccessBoundaryRule[] | undefined => {
    const m = /^Bearer (\S+)$/i.exec(String(req.headers.authorization ?? ""));
    return m ? tokens.get(m[1] as string)?.boundary : undefined;
  };
  const outsideBoundary = (
    req: StandInRequest,
    bucket: string,
    target: { object: string } | { listPrefix: string },
    permission: string,
  ): StandInReply | undefined => {
    const rules = boundaryOf(req);
    if (!rules || accessBoundaryAllows(rules, bucket, target, permission)) return undefined;
    req.raw.resume();
    return gcsError(
      403,
      `The downscoped token does not have ${permission} access to the Google Cloud Storage object.`,
      "forbidden",
    );
  };

  const invalidGrant = (description: string): StandInReply => ({
    status: 400,
    body: { error: "invalid_grant", error_description: description },
  });

  const tokenHandler = async (req: StandInRequest): Promise<StandInReply> => {
    const form = new URLSearchParams((await req.body()).toString("utf8"));
    const grant = form.get("grant_type");
    if (grant === JWT_GRANT) {
      const parts = (form.get("assertion") ?? "").split(".");
      if (parts.length !== 3)
        return invalidGrant("Invalid JWT: Token must be a short-lived token and in a reasonable timeframe.");
      const [h = "", p = "", s = ""] = parts;
      let header: { alg?: string };
      let claims: { iss?: string; aud?: string; scope?: string; exp?: number; iat?: number };
      try {
        header = JSON.parse(b64url(h).toString("utf8"));
        claims = JSON.parse(b64url(p).toString("utf8"));
      } catch {
        return invalidGrant("Invalid JWT: could not decode.");
      }
      if (header.alg !== "RS256") return invalidGrant("Invalid JWT Signature.");
      const publicKey = claims.iss ? serviceAccounts.get(claims.iss) : undefined;
      if (!publicKey) return invalidGrant("Invalid grant: account not found");
      if (!verify("RSA-SHA256", Buffer.from(`${h}.${p}`), publicKey, b64url(s))) {
        return invalidGrant("Invalid JWT Signature.");
      }
      if (claims.aud !== GOOGLE_TOKEN_URL && claims.aud !== `${base}/token`) {
        return invalidGrant("Invalid JWT: Failed audience check.");
      }
      const now = Math.floor(Date.now() / 1000);
      if (
        typeof claims.exp !== "number" ||
        typeof claims.iat !== "number" ||
        claims.exp < now ||
        claims.iat > now + 300
      ) {
        return invalidGrant(
          "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.",
        );
      }
      if (!claims.scope) {
        return {
          status: 400,
          body: {
            error: "invalid_scope",
            error_description: "Invalid OAuth scope or ID token audience provided.",
          },
        };
      }
      return issue(claims.iss as string);
    }
    if (grant === "refresh_token") {
      const clientId = form.get("client_id") ?? "";
      const client = oauthClients.get(clientId);
      if (!client || client.secret !== form.get("client_secret")) {
        return { status: 401, body: { error: "invalid_client", error_description: "Unauthorized" } };
      }
      if (!client.refreshTokens.has(form.get("refresh_token") ?? "")) return invalidGrant("Bad Request");
      return issue(clientId);
    }
    return {
      status: 400,
      body: { error: "unsupported_grant_type", error_description: `Invalid grant_type: ${grant}` },
    };
  };

  /**
   * Checks the bearer token as Google does; returns the principal, or the reply to send, in the shape of the API
   * asked: Cloud Storage's JSON API (`required`, `authError`) or a newer API's `UNAUTHENTICATED`.
   */
  const authenticate = (req: StandInRequest, api: "storage" | "rpc"): string | StandInReply => {
    const header = req.headers.authorization;
    const match = typeof header === "string" ? /^Bearer (\S+)$/i.exec(header) : null;
    const refuse = (storage: [string, string], rpc: string, challenge: string): StandInReply => ({
      ...(api === "storage" ? gcsError(401, storage[1], storage[0]) : rpcError(401, "UNAUTHENTICATED", rpc)),
      headers: { "www-authenticate": challenge },
    });
    if (!match) {
      return refuse(
        ["required", "Login Required."],
        "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential.",
        'Bearer realm="https://accounts.google.com/"',
      );
    }
    const record = tokens.get(match[1] as string);
    if (!record || record.revoked || record.expiresAt < Date.now()) {
      return refuse(
        ["authError", "Invalid Credentials"],
        "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.",
        'Bearer realm="https://accounts.google.com/", error="invalid_token"',
      );
    }
    return record.principal;
  };

  const isDenied = (principal: string, path: string) =>
    denied.some((d) => d.principal === principal && path.startsWith(d.prefix));

  const bucketOr404 = (name: string) => buckets.get(name);

  const finishObject = async (
    bucket: string,
    name: string,
    path: string,
    size: number,
    md5: string,
    contentType: string,
    metadata: Record<string, string> | undefined,
  ): Promise<ObjectRecord> => {
    const objects = buckets.get(bucket);
    if (!objects) throw new Error(`bucket ${bucket} vanished`);
    const previous = objects.get(name);
    const record: ObjectRecord = {
      bucket,
      name,
      size,
      contentType,
      generation: ++generation,
      md5Hash: md5,
      metadata,
      timeCreated: new Date().toISOString(),
      path,
    };
    objects.set(name, record);
    if (previous) await rm(previous.path, { force: true });
    return record;
  };

  /** Streams a request body into a file, hashing it; returns the byte count. */
  const receive = async (req: StandInRequest, path: string): Promise<{ size: number; md5: string }> => {
    const hash = createHash("md5");
    let size = 0;
    const out = createWriteStream(path);
    try {
      for await (const chunk of req.raw) {
        const buf = chunk as Buffer;
        size += buf.length;
        hash.update(buf);
        if (!out.write(buf)) await once(out, "drain");
      }
    } finally {
      await new Promise<void>((resolve) => out.end(resolve));
    }
    return { size, md5: hash.digest("base64") };
  };

  /** Reads a `multipart/related` upload: JSON metadata, then the media streamed to a file. */
  const receiveMultipart = async (
    req: StandInRequest,
    boundary: string,
    path: string,
  ): Promise<{ meta: Record<string, unknown>; contentType: string; size: number; md5: string }> => {
    const hash = createHash("md5");
    const out = createWriteStream(path);
    const closing = Buffer.from(`\r\n--${boundary}--`);
    let head = Buffer.alloc(0);
    let parsed: { meta: Record<string, unknown>; contentType: string } | undefined;
    let tail = Buffer.alloc(0);
    let size = 0;
    const emit = async (buf: Buffer) => {
      if (!buf.length) return;
      size += buf.length;
      hash.update(buf);
      if (!out.write(buf)) await once(out, "drain");
    };
    try {
      for await (const chunk of req.raw) {
        let buf = chunk as Buffer;
        if (!parsed) {
          head = Buffer.concat([head, buf]);
          // The head holds the metadata part and the media part's headers: both end with a blank line.
          const first = head.indexOf("\r\n\r\n");
          const delimiter = Buffer.from(`\r\n--${boundary}\r\n`);
          const second = first < 0 ? -1 : head.indexOf(delimiter, first);
          const mediaHeadersEnd = second < 0 ? -1 : head.indexOf("\r\n\r\n", second + delimiter.length);
          if (mediaHeadersEnd < 0) {
            if (head.length > 1024 * 1024) throw new Error("multipart head too large");
            continue;
          }
          const meta = JSON.parse(head.subarray(first + 4, second).toString("utf8"));
          const mediaHeaders = head.subarray(second + delimiter.length, mediaHeadersEnd).toString("utf8");
          const contentType =
            /content-type:\s*([^\r\n]+)/i.exec(mediaHeaders)?.[1]?.trim() ?? "application/octet-stream";
          parsed = { meta, contentType };
          buf = head.subarray(mediaHeadersEnd + 4);
        }
        tail = Buffer.concat([tail, buf]);
        if (tail.length > closing.length + 2) {
          await emit(tail.subarray(0, tail.length - closing.length - 2));
          tail = tail.subarray(tail.length - closing.length - 2);
        }
      }
    } finally {
      await new Promise<void>((resolve) => out.end(resolve));
    }
    if (!parsed) throw new Error("multipart body without a media part");
    const end = tail.lastIndexOf(closing);
    if (end < 0) throw new Error("multipart body without its closing delimiter");
    const last = tail.subarray(0, end);
    size += last.length;
    hash.update(last);
    await writeFile(path, last, { flag: "a" });
    return { ...parsed, size, md5: hash.digest("base64") };
  };

  const sendObjectMedia = async (
    req: StandInRequest,
    res: ServerResponse,
    o: ObjectRecord,
  ): Promise<undefined | StandInReply> => {
    const range = req.headers.range;
    let start = 0;
    let end = o.size - 1;
    let status = 200;
    if (typeof range === "string") {
      const m = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
      if (!m || (m[1] === "" && m[2] === ""))
        return gcsError(416, "Invalid range.", "requestedRangeNotSatisfiable");
      if (m[1] === "") start = Math.max(0, o.size - Number(m[2]));
      else {
        start = Number(m[1]);
        if (m[2] !== "") end = Math.min(end, Number(m[2]));
      }
      if (start >= o.size && o.size > 0) {
        return gcsError(416, "The requested range cannot be satisfied.", "requestedRangeNotSatisfiable");
      }
      status = 206;
    }
    const length = o.size === 0 ? 0 : end - start + 1;
    const headers: Record<string, string | number> = {
      "content-type": o.contentType,
      "content-length": length,
      "x-goog-generation": String(o.generation),
      "x-goog-metageneration": "1",
      "x-goog-stored-content-length": o.size,
      "x-goog-hash": `md5=${o.md5Hash}`,
      "accept-ranges": "bytes",
      etag: `"${o.md5Hash}"`,
    };
    if (status === 206) headers["content-range"] = `bytes ${start}-${end}/${o.size}`;
    res.writeHead(status, headers);
    if (length === 0) {
      res.end();
      return undefined;
    }
    await new Promise<void>((resolve) => {
      const stream = createReadStream(o.path, { start, end, highWaterMark: 256 * 1024 });
      stream.on("error", () => {
        res.destroy();
        resolve();
      });
      res.on("close", () => {
        stream.destroy();
        resolve();
      });
      stream.pipe(res);
    });
    return undefined;
  };

  const listObjects = (req: StandInRequest, objects: Map<string, ObjectRecord>): StandInReply => {
    const q = req.url.searchParams;
    const prefix = q.get("prefix") ?? "";
    const delimiter = q.get("delimiter") ?? "";
    const max = Math.min(Number(q.get("maxResults") ?? 1000) || 1000, 1000);
    const after = q.get("pageToken")
      ? Buffer.from(q.get("pageToken") as string, "base64url").toString("utf8")
      : undefined;
    const names = [...objects.keys()].filter((n) => n.startsWith(prefix)).sort();
    const items: Record<string, unknown>[] = [];
    const prefixes = new Set<string>();
    let next: string | undefined;
    let count = 0;
    for (const name of names) {
      let key = name;
      if (delimiter) {
        const i = name.indexOf(delimiter, prefix.length);
        if (i >= 0) key = name.slice(0, i + delimiter.length);
      }
      if (after !== undefined && key <= after) continue;
      if (key !== name && prefixes.has(key)) continue;
      if (count === max) {
        next = Buffer.from([...prefixes, ...items.map((i) => i.name as string)].sort().at(-1) ?? "").toString(
          "base64url",
        );
        break;
      }
      count++;
      if (key !== name) prefixes.add(key);
      else items.push(objectResource(base, objects.get(name) as ObjectRecord));
    }
    return {
      body: {
        kind: "storage#objects",
        ...(items.length ? { items } : {}),
        ...(prefixes.size ? { prefixes: [...prefixes].sort() } : {}),
        ...(next ? { nextPageToken: next } : {}),
      },
    };
  };

  const persistedRange = (s: UploadSession): Record<string, string> =>
    s.received > 0 ? { range: `bytes=0-${s.received - 1}` } : {};

  /** Rewinds a session after a dropped request: keeps whole 256 KiB units, re-hashes what is kept. */
  const rewind = async (s: UploadSession, keep: number) => {
    await truncate(s.path, keep);
    s.received = keep;
    s.hash = createHash("md5");
    if (keep > 0) {
      for await (const chunk of createReadStream(s.path, { end: keep - 1 })) s.hash.update(chunk as Buffer);
    }
  };

  /** Stores a resumable session's object once every byte arrived, and ends the session. */
  const completeSession = async (s: UploadSession, total: number): Promise<StandInReply> => {
    s.done = await finishObject(
      s.bucket,
      s.name,
      s.path,
      total,
      s.hash.digest("base64"),
      s.contentType,
      s.metadata,
    );
    sessions.delete(s.id);
    return { body: objectResource(base, s.done) };
  };
  const resumableChunk = async (
    req: StandInRequest,
    res: ServerResponse,
    s: UploadSession,
  ): Promise<StandInReply | undefined> => {
    if (s.done) {
      req.raw.resume();
      return { body: objectResource(base, s.done) };
    }
    const header = String(req.headers["content-range"] ?? "");
    const query = /^bytes \*\/(\d+|\*)$/.exec(header);
    const data = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(header);
    if (!query && !data) {
      req.raw.resume();
      if (header === "" && Number(req.headers["content-length"] ?? 0) === 0) {
        return { status: 308, headers: persistedRange(s) };
      }
      return gcsError(400, `Invalid Content-Range: ${header}`, "invalid");
    }
    const totalText = (query ? query[1] : data?.[3]) as string;
    if (totalText !== "*") {
      const total = Number(totalText);
      if (s.total !== undefined && s.total !== total) {
        req.raw.resume();
        return gcsError(400, "The total size changed between requests.", "invalid");
      }
      s.total = total;
    }
    if (query) {
      req.raw.resume();
      if (s.total !== undefined && s.received === s.total) {
        return completeSession(s, s.total);
      }
      return { status: 308, headers: persistedRange(s) };
    }
    const first = Number(data?.[1]);
    const last = Number(data?.[2]);
    if (first > s.received) {
      req.raw.resume();
      return gcsError(400, `Expected the chunk to start at byte ${s.received}, got ${first}.`, "invalid");
    }
    const drop = drops.find((d) => d.remaining > 0);
    if (drop) drop.remaining--;
    let skip = s.received - first;
    let got = 0;
    const out = createWriteStream(s.path, { flags: "a" });
    let dropped = false;
    try {
      for await (const chunk of req.raw) {
        let buf = chunk as Buffer;
        if (drop && got + buf.length >= drop.afterBytes) {
          buf = buf.subarray(0, drop.afterBytes - got);
          dropped = true;
        }
        got += buf.length;
        if (skip > 0) {
          const n = Math.min(skip, buf.length);
          skip -= n;
          buf = buf.subarray(n);
        }
        if (buf.length) {
          s.received += buf.length;
          s.hash.update(buf);
          if (!out.write(buf)) await once(out, "drain");
        }
        if (dropped) break;
      }
    } catch {
      dropped = true;
    } finally {
      await new Promise<void>((resolve) => out.end(resolve));
    }
    if (dropped || req.raw.aborted || got < last - first + 1) {
      await rewind(s, Math.floor(s.received / UPLOAD_QUANTUM) * UPLOAD_QUANTUM);
      req.raw.socket?.resetAndDestroy();
      res.destroy();
      return undefined;
    }
    if (s.total !== undefined && s.received === s.total) {
      return completeSession(s, s.total);
    }
    if ((last - first + 1) % UPLOAD_QUANTUM !== 0) {
      return gcsError(400, "Non-final chunks must be a multiple of 256 KiB.", "invalid");
    }
    return { status: 308, headers: persistedRange(s) };
  };

  const gcsHandler = async (req: StandInRequest, res: ServerResponse): Promise<StandInReply | undefined> => {
    const seg = segments(req.url);
    const q = req.url.searchParams;
    const upload = seg[0] === "upload";
    const parts = upload ? seg.slice(1) : seg;
    // Resumable chunks carry the session in the URL and no Authorization header, as with Cloud Storage.
    if (upload && req.method === "PUT" && q.get("upload_id")) {
      const session = sessions.get(q.get("upload_id") as string);
      if (!session) {
        req.raw.resume();
        return notFound("No such upload session.");
      }
      return resumableChunk(req, res, session);
    }
    const principal = authenticate(req, "storage");
    if (typeof principal !== "string") {
      req.raw.resume();
      return principal;
    }
    if (isDenied(principal, req.path)) {
      req.raw.resume();
      return storageDenied(principal, gcsPermission(req.method, parts, upload));
    }
    // parts: storage v1 b <bucket> o [<object> [rewriteTo|copyTo b <bucket> o <object>]]
    if (parts[0] !== "storage" || parts[1] !== "v1" || parts[2] !== "b" || parts[4] !== "o" || !parts[3]) {
      req.raw.resume();
      return notFound(`No such API: ${req.method} ${req.path}`);
    }
    const bucket = parts[3];
    const objects = bucketOr404(bucket);
    if (!objects) {
      req.raw.resume();
      return notFound("The specified bucket does not exist.");
    }
    if (upload && req.method === "POST") {
      const type = q.get("uploadType");
      if (type === "resumable") {
        const meta = ((await req.json<Record<string, unknown>>()) ?? {}) as Record<string, unknown>;
        const name = q.get("name") ?? (meta.name as string | undefined);
        if (!name) return gcsError(400, "Required object name.", "required");
        const refused = outsideBoundary(req, bucket, { object: name }, "storage.objects.create");
        if (refused) return refused;
        const id = randomBytes(16).toString("base64url");
        const path = newFile();
        await writeFile(path, "");
        const declared = req.headers["x-upload-content-length"];
        sessions.set(id, {
          id,
          bucket,
          name,
          contentType:
            String(req.headers["x-upload-content-type"] ?? meta.contentType ?? "") ||
            "application/octet-stream",
          metadata: meta.metadata as Record<string, string> | undefined,
          total: declared === undefined ? undefined : Number(declared),
          received: 0,
          path,
          hash: createHash("md5"),
          done: undefined,
        });
        return {
          headers: {
            location: `${base}/upload/storage/v1/b/${encodeURIComponent(bucket)}/o?uploadType=resumable&name=${encodeURIComponent(name)}&upload_id=${id}`,
          },
          body: "",
        };
      }
      const path = newFile();
      try {
        if (type === "media") {
          const name = q.get("name");
          if (!name) {
            req.raw.resume();
            return gcsError(400, "Required object name.", "required");
          }
          const refused = outsideBoundary(req, bucket, { object: name }, "storage.objects.create");
          if (refused) return refused;
          const { size, md5 } = await receive(req, path);
          const contentType = String(req.headers["content-type"] ?? "application/octet-stream");
          return {
            body: objectResource(
              base,
              await finishObject(bucket, name, path, size, md5, contentType, undefined),
            ),
          };
        }
        if (type === "multipart") {
          const boundary = /boundary=("?)([^";]+)\1/i.exec(String(req.headers["content-type"] ?? ""))?.[2];
          if (!boundary) return gcsError(400, "Missing multipart boundary.", "invalid");
          const { meta, contentType, size, md5 } = await receiveMultipart(req, boundary, path);
          const name = q.get("name") ?? (meta.name as string | undefined);
          if (!name) return gcsError(400, "Required object name.", "required");
          const refused = outsideBoundary(req, bucket, { object: name }, "storage.objects.create");
          if (refused) {
            await rm(path, { force: true });
            return refused;
          }
          const type = (meta.contentType as string | undefined) ?? contentType;
          const record = await finishObject(
            bucket,
            name,
            path,
            size,
            md5,
            type,
            meta.metadata as Record<string, string> | undefined,
          );
          return { body: objectResource(base, record) };
        }
      } catch (error) {
        await rm(path, { force: true });
        throw error;
      }
      req.raw.resume();
      return gcsError(400, `Unsupported uploadType ${type}.`, "invalid");
    }
    if (upload) {
      req.raw.resume();
      return notFound(`No such API: ${req.method} ${req.path}`);
    }
    if (parts.length === 5) {
      req.raw.resume();
      if (req.method === "GET") {
        const refused = outsideBoundary(
          req,
          bucket,
          { listPrefix: q.get("prefix") ?? "" },
          "storage.objects.list",
        );
        return refused ?? listObjects(req, objects);
      }
      return notFound(`No such API: ${req.method} ${req.path}`);
    }
    const name = parts[5] as string;
    const permission = gcsPermission(req.method, parts, false);
    const refused = outsideBoundary(req, bucket, { object: name }, permission);
    if (refused) return refused;
    const object = objects.get(name);
    const missing = () => notFound(`No such object: ${bucket}/${name}`);
    if (
      parts.length === 11 &&
      (parts[6] === "rewriteTo" || parts[6] === "copyTo") &&
      parts[7] === "b" &&
      parts[9] === "o"
    ) {
      req.raw.resume();
      if (req.method !== "POST") return notFound(`No such API: ${req.method} ${req.path}`);
      if (!object) return missing();
      const target = buckets.get(parts[8] as string);
      if (!target) return notFound("The destination bucket does not exist.");
      const refusedTarget = outsideBoundary(
        req,
        parts[8] as string,
        { object: parts[10] as string },
        "storage.objects.create",
      );
      if (refusedTarget) return refusedTarget;
      if (isDenied(principal, `/storage/v1/b/${parts[8]}/o/${parts[10]}`)) {
        return storageDenied(principal, "storage.objects.create");
      }
      const path = newFile();
      await copyFile(object.path, path);
      const copy = await finishObject(
        parts[8] as string,
        parts[10] as string,
        path,
        object.size,
        object.md5Hash,
        object.contentType,
        object.metadata,
      );
      const resource = objectResource(base, copy);
      if (parts[6] === "copyTo") return { body: resource };
      return {
        body: {
          kind: "storage#rewriteResponse",
          totalBytesRewritten: String(object.size),
          objectSize: String(object.size),
          done: true,
          resource,
        },
      };
    }
    if (parts.length !== 6) {
      req.raw.resume();
      return notFound(`No such API: ${req.method} ${req.path}`);
    }
    req.raw.resume();
    // An older generation is not kept (no versioning): asking for one is a 404. `ifGenerationMatch` is a precondition.
    const generation = q.get("generation");
    const ifMatch = q.get("ifGenerationMatch");
    if (req.method === "GET" || req.method === "DELETE") {
      if (!object || (generation && Number(generation) !== object.generation)) return missing();
      if (ifMatch && Number(ifMatch) !== object.generation) {
        return gcsError(
          412,
          "At least one of the pre-conditions you specified did not hold.",
          "conditionNotMet",
        );
      }
      if (req.method === "DELETE") {
        objects.delete(name);
        await rm(object.path, { force: true });
        return { status: 204 };
      }
      if (q.get("alt") === "media") return sendObjectMedia(req, res, object);
      return { body: objectResource(base, object) };
    }
    return notFound(`No such API: ${req.method} ${req.path}`);
  };

  const secretHandler = async (req: StandInRequest): Promise<StandInReply> => {
    req.raw.resume();
    const principal = authenticate(req, "rpc");
    if (typeof principal !== "string") return principal;
    // /v1/projects/<p>/secrets/<s>/versions/<v>:access
    const m = /^\/v1\/projects\/([^/]+)\/secrets\/([^/]+)\/versions\/([^/:]+):access$/.exec(req.path);
    if (!m || req.method !== "GET") return notFound(`No such API: ${req.method} ${req.path}`);
    const [, project, name, version] = m as unknown as [string, string, string, string];
    const resource = `projects/${project}/secrets/${name}/versions/${version}`;
    if (isDenied(principal, req.path)) {
      return rpcError(
        403,
        "PERMISSION_DENIED",
        `Permission 'secretmanager.versions.access' denied for resource '${resource}' (or it may not exist).`,
      );
    }
    const versions = secrets.get(`${project}/${name}`);
    const index = version === "latest" ? (versions?.length ?? 0) - 1 : Number(version) - 1;
    const found = versions?.[index];
    if (!versions || !found) {
      return rpcError(
        404,
        "NOT_FOUND",
        `Secret [projects/${project}/secrets/${name}] not found or has no versions.`,
      );
    }
    if (found.state !== "ENABLED") {
      return rpcError(400, "FAILED_PRECONDITION", `Secret Version [${resource}] is in DISABLED state.`);
    }
    return {
      body: {
        name: `projects/${project}/secrets/${name}/versions/${index + 1}`,
        payload: { data: found.value.toString("base64") },
      },
    };
  };

  const standIn = await startStandIn(
    [
      route("POST", "/token", tokenHandler),
      route("POST", "/v1/token", stsHandler),
      route("POST", /^\/v1\/projects\/-\/serviceAccounts\/(?<email>[^/:]+):generateAccessToken$/, iamHandler),
      route("*", /^\/(upload\/)?storage\//, gcsHandler),
      route("*", /^\/v1\/projects\//, secretHandler),
      ...(options.services?.({
        // BigQuery answers a missing or refused token as the JSON API does: `errors[0].reason`.
        authenticate: (req) => authenticate(req, "storage"),
        isDenied,
        readObject: (bucket, name) => google.readObject(bucket, name),
        objectNames: (bucket) => (buckets.has(bucket) ? google.objectNames(bucket) : undefined),
        putObject: (bucket, name, data, contentType) => google.putObject(bucket, name, data, { contentType }),
      }) ?? []),
    ],
    { name: "google-stand-in", faultBody },
  );
  base = standIn.url;

  const close = standIn.close;
  const google = Object.assign(standIn, {
    tokenUrl: `${base}/token`,
    stsUrl: `${base}/v1/token`,
    projectId,
    impersonations,
    downscopedBoundaries,
    trustWorkloadIdentity(provider: StandInWorkloadIdentityProvider) {
      providers.set(provider.audience, provider);
    },
    allowImpersonation(principal: string, serviceAccount: string) {
      const set = impersonators.get(serviceAccount) ?? new Set<string>();
      set.add(principal);
      impersonators.set(serviceAccount, set);
    },
    impersonationUrl(serviceAccount: string) {
      return `${base}/v1/projects/-/serviceAccounts/${serviceAccount}:generateAccessToken`;
    },
    async createServiceAccount(o: { email?: string; projectId?: string } = {}) {
      const { privateKey, publicKey } = await new Promise<{ privateKey: string; publicKey: string }>(
        (resolve, reject) =>
          generateKeyPair(
            "rsa",
            {
              modulusLength: 2048,
              publicKeyEncoding: { type: "spki", format: "pem" },
              privateKeyEncoding: { type: "pkcs8", format: "pem" },
            },
            (error, pub, priv) => (error ? reject(error) : resolve({ publicKey: pub, privateKey: priv })),
          ),
      );
      const email =
        o.email ?? `sa-${randomBytes(4).toString("hex")}@${o.projectId ?? projectId}.iam.gserviceaccount.com`;
      serviceAccounts.set(email, publicKey);
      return {
        type: "service_account" as const,
        project_id: o.projectId ?? projectId,
        private_key_id: randomBytes(20).toString("hex"),
        private_key: privateKey,
        client_email: email,
        client_id: String(100_000_000_000_000_000_000n + BigInt(serviceAccounts.size)),
        token_uri: `${base}/token`,
      };
    },
    registerServiceAccount(email: string, publicKey: string) {
      serviceAccounts.set(email, publicKey);
    },
    createAuthorizedUser() {
      const clientId = `${randomBytes(6).toString("hex")}.apps.googleusercontent.com`;
      const secret = `GOCSPX-${randomBytes(12).toString("base64url")}`;
      const refresh = `1//${randomBytes(24).toString("base64url")}`;
      oauthClients.set(clientId, { secret, refreshTokens: new Set([refresh]) });
      return {
        type: "authorized_user" as const,
        client_id: clientId,
        client_secret: secret,
        refresh_token: refresh,
        token_uri: `${base}/token`,
      };
    },
    expireTokens() {
      for (const record of tokens.values()) record.revoked = true;
    },
    denyAccess(principal: string, pathPrefix: string) {
      denied.push({ principal, prefix: pathPrefix });
    },
    createBucket(name: string) {
      if (!buckets.has(name)) buckets.set(name, new Map());
    },
    async putObject(bucket: string, name: string, data: string | Buffer, o: { contentType?: string } = {}) {
      if (!buckets.has(bucket)) throw new Error(`no bucket ${bucket}`);
      const bytes = typeof data === "string" ? Buffer.from(data) : data;
      const path = newFile();
      await writeFile(path, bytes);
      const md5 = createHash("md5").update(bytes).digest("base64");
      await finishObject(
        bucket,
        name,
        path,
        bytes.length,
        md5,
        o.contentType ?? "application/octet-stream",
        undefined,
      );
    },
    async readObject(bucket: string, name: string) {
      const o = buckets.get(bucket)?.get(name);
      return o ? readFile(o.path) : undefined;
    },
    objectInfo(bucket: string, name: string) {
      const o = buckets.get(bucket)?.get(name);
      return o ? publicRecord(o) : undefined;
    },
    objectNames(bucket: string) {
      return [...(buckets.get(bucket)?.keys() ?? [])].sort();
    },
    setSecret(
      name: string,
      value: string | Buffer,
      o: { project?: string; state?: "ENABLED" | "DISABLED" } = {},
    ) {
      const key = `${o.project ?? projectId}/${name}`;
      const versions = secrets.get(key) ?? [];
      versions.push({
        value: typeof value === "string" ? Buffer.from(value) : value,
        state: o.state ?? "ENABLED",
      });
      secrets.set(key, versions);
    },
    dropUploadAfter(afterBytes: number, o: { count?: number } = {}) {
      drops.push({ afterBytes, remaining: o.count ?? 1 });
    },
    async close() {
      await close();
      await rm(dir, { recursive: true, force: true });
    },
  });
  Object.defineProperty(google, "tokensIssued", { get: () => issued, enumerable: true });
  return google as unknown as GoogleStandIn;
}
