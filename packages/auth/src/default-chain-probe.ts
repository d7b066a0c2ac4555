import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import type { DefaultChainProbe } from "./secret-definition.js";

type Looked = { place: string; outcome: string };

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

/** Parses an INI file as the AWS SDK reads `~/.aws/config` and `~/.aws/credentials`: sections of `key = value`. */
export function parseIni(text: string): Map<string, Record<string, string>> {
  const sections = new Map<string, Record<string, string>>();
  let current: Record<string, string> | undefined;
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const header = /^\[([^\]]+)\]$/.exec(line);
    if (header) {
      const name = (header[1] as string).trim().replace(/\s+/g, " ");
      current = sections.get(name) ?? {};
      sections.set(name, current);
      continue;
    }
    const eq = line.indexOf("=");
    if (current && eq > 0) current[line.slice(0, eq).trim().toLowerCase()] = line.slice(eq + 1).trim();
  }
  return sections;
}

/** Whether this machine says, in its firmware tables, that it runs on `vendor`'s cloud (no network needed). */
function firmwareSays(pattern: RegExp, files: readonly string[]): boolean {
  return files.some((f) => pattern.test(readText(f) ?? ""));
}

/** The user's home as the SDKs find it: `HOME` (`USERPROFILE` on Windows), else the system's answer. */
function userHome(): string {
  return process.env.HOME || process.env.USERPROFILE || homedir();
}

const short = (path: string) => {
  const home = userHome();
  return home && path.startsWith(`${home}/`) ? `~${path.slice(home.length)}` : path;
};

/**
 * What the AWS SDK's default provider chain would find, read without the network: the env keys, the profile in the
 * shared config and credentials files (static keys, an assumed role, SSO with a cached token, `credential_process`,
 * a web identity token), then the container or instance metadata endpoints, which only a network call can answer.
 */
export function probeAwsDefaultChain(): DefaultChainProbe {
  const env = process.env;
  const looked: Looked[] = [];
  const howToSet =
    "export AWS_ACCESS_KEY_ID=… and AWS_SECRET_ACCESS_KEY=…, or configure a profile (aws configure / aws sso login) and AWS_PROFILE";
  const found = (detail: string): DefaultChainProbe => ({ status: "found", detail, looked, howToSet });

  if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) return found("env AWS_ACCESS_KEY_ID");
  looked.push({ place: "env AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY", outcome: "not set" });

  const profileName = env.AWS_PROFILE || env.AWS_DEFAULT_PROFILE || "default";
  const configPath = env.AWS_CONFIG_FILE || join(userHome(), ".aws", "config");
  const credentialsPath = env.AWS_SHARED_CREDENTIALS_FILE || join(userHome(), ".aws", "credentials");
  const config = parseIni(readText(configPath) ?? "");
  const credentials = parseIni(readText(credentialsPath) ?? "");
  const fromConfig =
    config.get(`profile ${profileName}`) ?? (profileName === "default" ? config.get("default") : undefined);
  const fromCredentials = credentials.get(profileName);
  const profile = { ...fromConfig, ...fromCredentials };
  const inFile = fromCredentials
    ? `shared credentials file ${short(credentialsPath)}`
    : `shared config file ${short(configPath)}`;

  if (!fromConfig && !fromCredentials) {
    looked.push({
      place: `profile ${profileName} in ${short(credentialsPath)} and ${short(configPath)}`,
      outcome: existsSync(credentialsPath) || existsSync(configPath) ? "no such profile" : "no such files",
    });
  } else {
    const ssoSession = profile.sso_session;
    const startUrl = ssoSession
      ? config.get(`sso-session ${ssoSession}`)?.sso_start_url
      : profile.sso_start_url;
    if (ssoSession || startUrl) {
      const key = createHash("sha1")
        .update(ssoSession ?? startUrl ?? "")
        .digest("hex");
      const cachePath = join(userHome(), ".aws", "sso", "cache", `${key}.json`);
      let expiresAt: number | undefined;
      try {
        expiresAt = Date.parse(
          String((JSON.parse(readText(cachePath) ?? "") as { expiresAt?: unknown }).expiresAt),
        );
      } catch {
        expiresAt = undefined;
      }
      if (expiresAt !== undefined && expiresAt > Date.now()) {
        return found(`SSO, profile ${profileName} (token cached in ${short(cachePath)})`);
      }
      looked.push({
        place: `SSO, profile ${profileName}`,
        outcome: `${expiresAt === undefined ? "no cached token" : "the cached token has expired"}: run aws sso login --profile ${profileName}`,
      });
    } else if (profile.aws_access_key_id && profile.aws_secret_access_key) {
      return found(`${inFile}, profile ${profileName}`);
    } else if (profile.role_arn && (profile.source_profile || profile.credential_source)) {
      return found(`role ${profile.role_arn} assumed by profile ${profileName} (${inFile})`);
    } else if (profile.web_identity_token_file) {
      return found(`web identity token ${profile.web_identity_token_file}, profile ${profileName}`);
    } else if (profile.credential_process) {
      return found(`credential_process of profile ${profileName} (${inFile}; not run by this check)`);
    } else {
      looked.push({ place: `profile ${profileName} (${inFile})`, outcome: "holds no credentials" });
    }
  }

  if (env.AWS_WEB_IDENTITY_TOKEN_FILE && env.AWS_ROLE_ARN) {
    return found(`web identity token ${env.AWS_WEB_IDENTITY_TOKEN_FILE} (env AWS_WEB_IDENTITY_TOKEN_FILE)`);
  }
  looked.push({ place: "env AWS_WEB_IDENTITY_TOKEN_FILE / AWS_ROLE_ARN", outcome: "not set" });

  if (env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI || env.AWS_CONTAINER_CREDENTIALS_FULL_URI) {
    return {
      status: "unverified",
      detail: "the container credentials endpoint (ECS or EKS Pod Identity)",
      looked,
      howToSet,
    };
  }
  looked.push({ place: "env AWS_CONTAINER_CREDENTIALS_RELATIVE_URI / _FULL_URI", outcome: "not set" });

  if (env.AWS_EC2_METADATA_DISABLED?.toLowerCase() === "true") {
    looked.push({ place: "instance metadata service", outcome: "disabled (AWS_EC2_METADATA_DISABLED=true)" });
  } else if (
    env.AWS_EC2_METADATA_SERVICE_ENDPOINT ||
    firmwareSays(/^ec2|amazon/i, [
      "/sys/class/dmi/id/sys_vendor",
      "/sys/class/dmi/id/board_vendor",
      "/sys/hypervisor/uuid",
    ])
  ) {
    return {
      status: "unverified",
      detail: "the EC2 instance metadata service (an instance role)",
      looked,
      howToSet,
    };
  } else {
    looked.push({
      place: "instance metadata service",
      outcome: "not asked: this machine is not an EC2 instance",
    });
  }
  return { status: "not-found", detail: "", looked, howToSet };
}

/**
 * What Google Application Default Credentials would find, read without the network: the file named by
 * `GOOGLE_APPLICATION_CREDENTIALS`, then gcloud's well-known file, then the metadata server (only a network call
 * can answer it; this says whether this machine runs on Google Cloud).
 */
export function probeGoogleAdc(): DefaultChainProbe {
  const env = process.env;
  const looked: Looked[] = [];
  const howToSet =
    "export GOOGLE_APPLICATION_CREDENTIALS=/path/to/key.json, or run gcloud auth application-default login";
  const keyType = (path: string): string | undefined => {
    try {
      const type = (JSON.parse(readText(path) ?? "") as { type?: unknown }).type;
      return typeof type === "string" ? type : "a JSON file without a type";
    } catch {
      return undefined;
    }
  };

  const named = env.GOOGLE_APPLICATION_CREDENTIALS;
  if (named) {
    const type = keyType(named);
    if (type)
      return {
        status: "found",
        detail: `env GOOGLE_APPLICATION_CREDENTIALS (${short(named)}, ${type})`,
        looked,
        howToSet,
      };
    looked.push({
      place: `env GOOGLE_APPLICATION_CREDENTIALS (${short(named)})`,
      outcome: existsSync(named) ? "not a JSON key file" : "no such file",
    });
    // The library stops here: a named file that cannot be read is an error, not a reason to look further.
    return { status: "not-found", detail: "", looked, howToSet };
  }
  looked.push({ place: "env GOOGLE_APPLICATION_CREDENTIALS", outcome: "not set" });

  const gcloudDir =
    env.CLOUDSDK_CONFIG ||
    (process.platform === "win32"
      ? join(env.APPDATA ?? userHome(), "gcloud")
      : join(userHome(), ".config", "gcloud"));
  const wellKnown = join(gcloudDir, "application_default_credentials.json");
  const type = keyType(wellKnown);
  if (type)
    return { status: "found", detail: `gcloud's file ${short(wellKnown)} (${type})`, looked, howToSet };
  looked.push({
    place: `gcloud's file ${short(wellKnown)}`,
    outcome: existsSync(wellKnown) ? "not a JSON key file" : "no such file",
  });

  if (env.METADATA_SERVER_DETECTION === "none") {
    looked.push({ place: "metadata server", outcome: "disabled (METADATA_SERVER_DETECTION=none)" });
  } else if (
    env.GCE_METADATA_HOST ||
    env.GCE_METADATA_IP ||
    env.K_SERVICE ||
    env.FUNCTION_NAME ||
    env.CLOUD_RUN_JOB ||
    firmwareSays(/google/i, ["/sys/class/dmi/id/bios_vendor", "/sys/class/dmi/id/product_name"])
  ) {
    return {
      status: "unverified",
      detail: "the Google Cloud metadata server (the attached service account)",
      looked,
      howToSet,
    };
  } else {
    looked.push({ place: "metadata server", outcome: "not asked: this machine is not on Google Cloud" });
  }
  return { status: "not-found", detail: "", looked, howToSet };
}
