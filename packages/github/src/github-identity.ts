import { type Identity, registerIdentityProbe } from "@tributary/auth";
import { connectGitHub, type GitHubClientOptions } from "./github-client.js";
import { toGitHubError } from "./github-errors.js";

/**
 * Proves GitHub credentials and says whose they are: `GET /user` (the login) for a token, or for an App its slug
 * (`GET /app`, with the App's JWT) and the account of its installation.
 * @example
 * const who = await githubIdentity();
 * console.log(who.principal); // octocat
 */
export async function githubIdentity(options: GitHubClientOptions = {}): Promise<Identity> {
  const { octokit, credential } = await connectGitHub(options);
  if (credential.kind === "anonymous") throw credential.missing;
  try {
    if (credential.kind === "token") {
      const { data } = await octokit.request("GET /user");
      return {
        name: options.secretName ?? "GITHUB_ACCESS_TOKEN",
        service: "GitHub",
        principal: data.login,
        source: credential.source,
      };
    }
    const { data: app } = await octokit.request("GET /app");
    const { data: installation } = await octokit.request("GET /app/installations/{installation_id}", {
      installation_id: Number(credential.installationId),
    });
    const account = installation.account as { login?: string; slug?: string } | null;
    return {
      name: options.appSecretName ?? "GITHUB_APP_CREDENTIALS",
      service: "GitHub",
      principal: `${app?.slug ?? `app ${credential.appId}`}[bot]`,
      account: account?.login ?? account?.slug,
      source: credential.source,
    };
  } catch (error) {
    throw toGitHubError(error, { what: "the credential's identity", credential, maxRateLimitWaitMs: 0 });
  }
}

registerIdentityProbe("GITHUB_ACCESS_TOKEN", (options) =>
  githubIdentity({
    ...(options.secretName !== undefined ? { secretName: options.secretName } : {}),
    ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
  }),
);
registerIdentityProbe("GITHUB_APP_CREDENTIALS", (options) =>
  githubIdentity({
    appSecretName: options.secretName ?? "GITHUB_APP_CREDENTIALS",
    ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
  }),
);
