import {
  describeIdentity,
  identityProbeNames,
  MissingCredentialsError,
  TributaryError,
} from "@tributary/auth";

/** The integration package that proves each default name (imported only when `--check` asks for it). */
const PROBE_PACKAGES: Readonly<Record<string, string>> = {
  AWS_CREDENTIALS: "@tributary/aws",
  GCP_CREDENTIALS: "@tributary/gcp",
  SLACK_BOT_TOKEN: "@tributary/slack",
  GITHUB_ACCESS_TOKEN: "@tributary/github",
  GITHUB_APP_CREDENTIALS: "@tributary/github",
};

/** What `doctor --check` found for one name: whose credential it is, or why the service refused it. */
export interface IdentityCheck {
  name: string;
  /** `ok` (the service accepted it), `rejected` (it refused it, or the call failed), `skipped` (no probe). */
  status: "ok" | "rejected" | "skipped";
  service?: string;
  principal?: string;
  account?: string;
  /** The role the credential assumed (an IAM role ARN), when it did. */
  role?: string;
  /** Why it was rejected or skipped, in the service's words (never a value). */
  reason?: string;
}

/**
 * Makes one cheap live call per name (STS `GetCallerIdentity`, a Google token exchange, Slack `auth.test`, GitHub
 * `GET /user` or the App's installation) and says whose credential it is. The integration packages are loaded
 * here, on demand: a name whose package is not installed is skipped, with the package named.
 */
export async function checkIdentities(names: readonly string[]): Promise<IdentityCheck[]> {
  const checks: IdentityCheck[] = [];
  for (const name of names) {
    const pkg = PROBE_PACKAGES[name];
    if (pkg && !identityProbeNames().includes(name)) {
      try {
        await import(pkg);
      } catch {
        checks.push({ name, status: "skipped", reason: `install ${pkg} to check it` });
        continue;
      }
    }
    if (!identityProbeNames().includes(name)) {
      checks.push({ name, status: "skipped", reason: "no live check for this name" });
      continue;
    }
    try {
      const who = await describeIdentity(name);
      checks.push({
        name,
        status: "ok",
        service: who.service,
        principal: who.principal,
        ...(who.account !== undefined ? { account: who.account } : {}),
        ...(who.role !== undefined ? { role: who.role } : {}),
      });
    } catch (error) {
      if (MissingCredentialsError.isInstance(error)) {
        checks.push({ name, status: "skipped", reason: "nothing found, the SDK's default chain included" });
        continue;
      }
      // Our errors are masked and name no value; anything else is reduced to its message's first line.
      const reason = TributaryError.isInstance(error)
        ? error.message
        : `${(error as Error)?.name ?? "Error"}: ${String((error as Error)?.message ?? error).split("\n")[0]}`;
      checks.push({ name, status: "rejected", reason });
    }
  }
  return checks;
}

/** The report lines of `doctor --check`. */
export function formatIdentityChecks(checks: readonly IdentityCheck[]): string {
  const lines = ["Live checks (one call each, as the service sees the credential):"];
  for (const c of checks) {
    if (c.status === "ok") {
      const role = c.role ? `, role ${c.role}` : "";
      lines.push(
        `  ${c.name}: ok — ${c.principal}${role}${c.account ? ` (${c.account})` : ""} [${c.service}]`,
      );
    } else {
      lines.push(`  ${c.name}: ${c.status === "rejected" ? "REJECTED" : "skipped"} — ${c.reason}`);
    }
  }
  return lines.join("\n");
}
