import type { createAppAuth } from "@octokit/auth-app";
import { registerSecretValue } from "@tributary/auth";

/** The options Octokit hands an auth strategy, plus the App's credentials. */
interface RefreshingAppAuthOptions {
  appId: string;
  privateKey: string;
  installationId: string;
  /** Restrict installation tokens to these repository names (least privilege). */
  repositoryNames?: string[];
  /** Restrict installation tokens to these permissions (least privilege). */
  permissions?: Record<string, "read" | "write">;
  /** `createAppAuth` from `@octokit/auth-app`, loaded by the caller: only App users pay for importing it. */
  createAppAuth: typeof createAppAuth;
  request?: unknown;
  log?: unknown;
}

// Octokit's hook types are internal to @octokit/types.
type AnyRequest = any;

/** Routes that take the App's JWT rather than an installation token (as `@octokit/auth-app` decides). */
const APP_ROUTE =
  /^\/(?:app(?:\/|$)|app-manifests\/|marketplace_listing\/|(?:orgs|users|enterprises)\/[^/]+\/installation$|repos\/[^/]+\/[^/]+\/installation$)/;

/** Never refresh later than five minutes before expiry, nor later than a fifth of the token's life before it. */
const MAX_MARGIN_MS = 5 * 60_000;

/**
 * Wraps Octokit's `request` so that the credential each request sends — the App's JWT, an installation token —
 * is registered with the masker. The client is cached and shared by runs: each run whose requests send a token
 * masks it, and lets it go with the run.
 */
function maskingRequest(request: AnyRequest): AnyRequest {
  return Object.assign((...args: AnyRequest[]) => {
    for (const arg of args) {
      const header = arg?.headers?.authorization;
      if (typeof header === "string") registerSecretValue(header.replace(/^(?:token|bearer)\s+/i, ""));
    }
    return request(...args);
  }, request);
}

/**
 * An Octokit auth strategy for a GitHub App installation. `@octokit/auth-app` keeps installation tokens for 59
 * minutes whatever their `expires_at`; this one tracks `expires_at` and mints a fresh token before it passes,
 * and mints once more if GitHub answers 401 to a token it considered live (revoked, or expired early).
 */
export function refreshingAppAuth(options: RefreshingAppAuthOptions): ((
  authOptions: AnyRequest,
) => Promise<unknown>) & {
  hook: (request: AnyRequest, route: AnyRequest, parameters?: AnyRequest) => Promise<unknown>;
} {
  const { createAppAuth: create, repositoryNames, permissions, ...appOptions } = options;
  const inner = create({
    ...appOptions,
    ...(appOptions.request ? { request: maskingRequest(appOptions.request) } : {}),
  } as Parameters<typeof createAppAuth>[0]);
  const restricted = repositoryNames !== undefined || permissions !== undefined;
  let issuedAt = 0;
  let expiresAt = 0;
  let token = "";
  let pending: Promise<void> | undefined;

  const mint = (force: boolean): Promise<void> => {
    pending ??= (async () => {
      const auth = (await inner({
        type: "installation",
        refresh: force,
        ...(repositoryNames ? { repositoryNames } : {}),
        ...(permissions ? { permissions } : {}),
      } as never)) as { expiresAt?: string; token?: string };
      token = auth.token ?? "";
      issuedAt = Date.now();
      expiresAt = auth.expiresAt ? Date.parse(auth.expiresAt) : issuedAt + 3_600_000;
    })().finally(() => {
      pending = undefined;
    });
    return pending;
  };

  const fresh = (): Promise<void> | undefined => {
    if (pending) return pending;
    const margin = Math.min(MAX_MARGIN_MS, (expiresAt - issuedAt) / 5);
    if (expiresAt !== 0 && Date.now() < expiresAt - margin) return undefined;
    return mint(expiresAt !== 0);
  };

  const hook = async (request: AnyRequest, route: AnyRequest, parameters?: AnyRequest): Promise<unknown> => {
    const endpoint = request.endpoint.merge(route, parameters);
    const path =
      String(endpoint.url)
        .replace(request.endpoint.DEFAULTS.baseUrl, "")
        .replace(/^https?:\/\/[^/]+/, "")
        .split("?")[0] ?? "";
    const masked = maskingRequest(request);
    if (APP_ROUTE.test(path)) return inner.hook(masked, route, parameters);
    // A restricted token is sent by us: @octokit/auth-app's hook always asks for an unrestricted one.
    const send = () => {
      if (!restricted) return inner.hook(masked, route, parameters);
      const withToken = request.endpoint.merge(route, parameters);
      withToken.headers.authorization = `token ${token}`;
      return masked(withToken);
    };
    await fresh();
    const minted = issuedAt;
    try {
      return await send();
    } catch (error) {
      if ((error as { status?: number }).status !== 401) throw error;
      // Another call may have minted a new token meanwhile; otherwise mint one.
      await (minted === issuedAt ? mint(true) : fresh());
      return send();
    }
  };

  return Object.assign((authOptions: AnyRequest) => inner(authOptions), { hook });
}
