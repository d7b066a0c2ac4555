import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { TributaryError } from "@tributary/auth";

/** The manifest's file name inside a deployment. */
export const MANIFEST_FILE = "manifest.json";
/** The bundle's file name inside a deployment. */
export const BUNDLE_FILE = "flow.mjs";

/** What `manifest.json` holds: written beside the bundle by `tributary deploy`, read first by every run. */
export interface DeploymentManifest {
  /** The manifest format, 1. */
  readonly format: 1;
  /** The flow's name (the deployment's name). */
  readonly flow: string;
  /** The secret names the run needs: the flow's own and its storage's. Names only, never values. */
  readonly secrets: { readonly flow: readonly string[]; readonly storage: readonly string[] };
  /** The bundle: its file name, sha256 (hex) and size in bytes. */
  readonly bundle: { readonly file: string; readonly sha256: string; readonly size: number };
  /** The versions of the `@tributary/*` packages the bundle was built against. */
  readonly tributary: Readonly<Record<string, string>>;
  /** When it was deployed, ISO 8601. */
  readonly deployedAt: string;
}

/** Why a deployment is not trusted, in `DeploymentError`'s `reason` (code `UNTRUSTED_DEPLOYMENT`). */
export type UntrustedReason =
  | "unsigned"
  | "unknown-key"
  | "bad-signature"
  | "digest-mismatch"
  | "wrong-address";

/**
 * A deployment cannot be run: its manifest does not parse, its bundle does not match the manifest, its module
 * exports no flow of that name, it was built against an incompatible version, or (code `UNTRUSTED_DEPLOYMENT`,
 * with a `reason`) it fails the run's trust policy. Names the address; nothing of the flow ran.
 */
export class DeploymentError extends TributaryError {
  static override readonly errorName: string = "DeploymentError";
  /** For `UNTRUSTED_DEPLOYMENT`: why the deployment is not trusted. */
  readonly reason: UntrustedReason | undefined;
  constructor(
    code: string,
    /** The deployment's address. */
    readonly address: string,
    message: string,
    options: { cause?: unknown; retryable?: boolean; reason?: UntrustedReason } = {},
  ) {
    super(code, `${address}: ${message}`, options);
    this.reason = options.reason;
  }
}

/** A refusal by the trust policy: `DeploymentError` `UNTRUSTED_DEPLOYMENT` with its reason. */
export function untrustedDeployment(address: string, reason: UntrustedReason, why: string): DeploymentError {
  return new DeploymentError(
    "UNTRUSTED_DEPLOYMENT",
    address,
    `not trusted (${reason}): ${why}; nothing was imported or run`,
    { reason },
  );
}

/** The sha256 of some bytes, as hex. */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** Builds the manifest of a bundle. */
export function createManifest(input: {
  flow: string;
  flowSecrets: readonly string[];
  storageSecrets: readonly string[];
  bundle: Uint8Array;
  tributary: Readonly<Record<string, string>>;
  deployedAt?: Date;
}): DeploymentManifest {
  return {
    format: 1,
    flow: input.flow,
    secrets: { flow: [...input.flowSecrets], storage: [...input.storageSecrets] },
    bundle: { file: BUNDLE_FILE, sha256: sha256Hex(input.bundle), size: input.bundle.length },
    tributary: { ...input.tributary },
    deployedAt: (input.deployedAt ?? new Date()).toISOString(),
  };
}

const isNames = (v: unknown): v is string[] =>
  Array.isArray(v) && v.every((n) => typeof n === "string" && /^[A-Z][A-Z0-9_]*$/.test(n));

/** Parses and checks `manifest.json`; anything else is a `DeploymentError` `MANIFEST_INVALID`. */
export function parseManifest(bytes: Uint8Array, address: string): DeploymentManifest {
  const invalid = (why: string, cause?: unknown) =>
    new DeploymentError("MANIFEST_INVALID", address, `the manifest ${why}; deploy the flow again`, {
      cause,
    });
  let data: unknown;
  try {
    data = JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch {
    throw invalid("is not JSON");
  }
  const m = data as Partial<DeploymentManifest> | null;
  if (!m || typeof m !== "object") throw invalid("is not an object");
  if (m.format !== 1) throw invalid(`has format ${JSON.stringify(m.format)}, not 1`);
  if (typeof m.flow !== "string" || m.flow === "") throw invalid("names no flow");
  if (!m.secrets || !isNames(m.secrets.flow) || !isNames(m.secrets.storage)) {
    throw invalid("has no valid secret name lists");
  }
  const b = m.bundle;
  if (
    !b ||
    b.file !== BUNDLE_FILE ||
    typeof b.sha256 !== "string" ||
    !/^[0-9a-f]{64}$/.test(b.sha256) ||
    !Number.isSafeInteger(b.size) ||
    b.size < 0
  ) {
    throw invalid(`has no valid bundle entry ({ file: "${BUNDLE_FILE}", sha256, size })`);
  }
  const versions = m.tributary;
  if (
    !versions ||
    typeof versions !== "object" ||
    Object.entries(versions).some(([k, v]) => !k.startsWith("@tributary/") || typeof v !== "string")
  ) {
    throw invalid("has no valid @tributary/* version list");
  }
  if (typeof m.deployedAt !== "string" || Number.isNaN(Date.parse(m.deployedAt))) {
    throw invalid("has no deployment time");
  }
  return m as DeploymentManifest;
}

/**
 * Checks the bundle's bytes against the manifest before anything is imported. With `signed` (the manifest's digest
 * was verified under a trusted key), a mismatch is `UNTRUSTED_DEPLOYMENT` (`digest-mismatch`).
 */
export function checkBundle(
  bytes: Uint8Array,
  manifest: DeploymentManifest,
  address: string,
  signed = false,
): void {
  const sha = sha256Hex(bytes);
  if (bytes.length !== manifest.bundle.size || sha !== manifest.bundle.sha256) {
    if (signed) {
      throw untrustedDeployment(
        address,
        "digest-mismatch",
        `the bundle's sha256 (${sha.slice(0, 12)}…) is not the one signed (${manifest.bundle.sha256.slice(0, 12)}…)`,
      );
    }
    throw new DeploymentError(
      "BUNDLE_MISMATCH",
      address,
      `the bundle does not match its manifest (sha256 ${sha.slice(0, 12)}…, ${bytes.length} bytes; expected ${manifest.bundle.sha256.slice(0, 12)}…, ${manifest.bundle.size} bytes): it was changed in storage; nothing was imported`,
    );
  }
}

/** The part of a version that must match for two versions to be compatible: the major, or `0.minor` before 1.0. */
function compatibleRange(version: string): string | undefined {
  const m = /^(\d+)\.(\d+)\.\d+/.exec(version);
  if (!m) return undefined;
  return m[1] === "0" ? `0.${m[2]}` : (m[1] as string);
}

/**
 * The installed versions of `names`, resolved as the bundle's imports will be (from `root`); packages that are
 * not installed are left out.
 */
export function installedVersions(names: readonly string[], root: string): Record<string, string> {
  const require = createRequire(join(root, "noop.js"));
  const out: Record<string, string> = {};
  for (const name of names) {
    try {
      const pkg = JSON.parse(readFileSync(require.resolve(`${name}/package.json`), "utf8")) as {
        version?: unknown;
      };
      if (typeof pkg.version === "string") out[name] = pkg.version;
    } catch {
      // Not installed here: the import names it if the bundle needs it.
    }
  }
  return out;
}

/** Refuses a deployment built against a `@tributary/*` version incompatible with the one installed. */
export function checkCompatible(
  manifest: DeploymentManifest,
  installed: Readonly<Record<string, string>>,
  address: string,
): void {
  for (const [name, built] of Object.entries(manifest.tributary)) {
    const here = installed[name];
    if (here === undefined) continue;
    if (compatibleRange(built) !== compatibleRange(here)) {
      throw new DeploymentError(
        "INCOMPATIBLE_VERSION",
        address,
        `built against ${name} ${built}, but ${here} is installed here: deploy it again with ${here}, or run it where a compatible ${name} is installed`,
      );
    }
  }
}
