import { ValidationError } from "@tributary/auth";

/** Options every storage call takes. */
export interface StorageCallOptions {
  /** Aborts the transfer. */
  signal?: AbortSignal | undefined;
}

/** One file of a deployment: its name inside the deployment (`manifest.json`, `flow.mjs`) and its bytes. */
export interface DeploymentFile {
  /** The file's name inside the deployment's folder. */
  readonly name: string;
  /** Its content. */
  readonly bytes: Uint8Array;
}

/**
 * Where a flow lives, and the secrets needed to reach it: a folder, a bucket prefix, a path in a repository.
 * Each deployment is a folder in it, named after the flow, holding `manifest.json` and the bundle. The kinds
 * come with their integrations (`s3Storage`, `gcsStorage`, `githubStorage`) and `fileStorage` with this package.
 *
 * Secrets it declares are declared for every run of the flow, like the flow's own `secrets`. `runDeployment`
 * resolves them before anything is fetched and calls `load()` inside the run's secret scope, so the storage
 * uses them to fetch the flow itself.
 * @example
 * const nightly = flow(
 *   { name: "nightly", storage: fileStorage({ path: "/srv/flows" }) },
 *   async ({ log }) => log.info("hello"),
 * );
 */
export interface FlowStorage {
  /** The kind of place: the scheme of its addresses, such as `"s3"`, `"gs"`, `"github"` or `"file"`. */
  readonly kind: string;
  /** Secret names the storage needs; declared for every run of the flow. */
  readonly secrets?: readonly string[];
  /** The storage's own address (`s3://flows/prod/`), for logs and reports. Never includes a credential. */
  describe(): string;
  /** The address of the deployment `name` in this storage, such as `s3://flows/prod/nightly`. */
  address(name: string): string;
  /** Writes a deployment's files, in the order given (the manifest last). */
  save(name: string, files: readonly DeploymentFile[], options?: StorageCallOptions): Promise<void>;
  /** Reads one file of a deployment. */
  load(name: string, file: string, options?: StorageCallOptions): Promise<Uint8Array>;
}

/**
 * A kind of storage: the scheme of its addresses and how to build a storage from the part after `scheme://`.
 * `parseDeploymentAddress` is given a list of kinds; adding a kind is one object of this shape.
 */
export interface StorageKind {
  /** The address scheme, without `://`, such as `"s3"`. */
  readonly scheme: string;
  /** Secret names a storage built from an address declares (the service's default credential names). */
  readonly secrets: readonly string[];
  /** Builds the storage at `location` (the address without `scheme://`, such as `flows/prod/`). Throws `ValidationError`. */
  fromLocation(location: string): FlowStorage;
  /**
   * Splits a deployment's location into the storage's location and the deployment's name. Default: at the last
   * `/` (`flows/prod/nightly` → `flows/prod/` and `nightly`).
   */
  splitLocation?(location: string): { storage: string; name: string };
}

/** A deployment's name: a flow name usable as one path segment. */
const DEPLOYMENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Checks a deployment name (the flow's name), before any network call. */
export function checkDeploymentName(name: unknown, option = "name"): string {
  if (typeof name !== "string" || !DEPLOYMENT_NAME.test(name) || name.includes("..")) {
    throw new ValidationError(
      option,
      `"${String(name).slice(0, 80)}" cannot name a deployment: use letters, digits, ".", "_" and "-" (up to 128), starting with a letter or digit`,
    );
  }
  return name;
}

/** Checks the file name given to `save()`/`load()`: one plain segment. */
export function checkDeploymentFile(file: unknown): string {
  if (typeof file !== "string" || !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(file) || file.includes("..")) {
    throw new ValidationError("file", "must be one plain file name such as manifest.json");
  }
  return file;
}

/** Checks a storage's `secrets` option: a list of secret names. */
export function checkStorageSecrets(secrets: unknown, fallback: readonly string[]): readonly string[] {
  if (secrets === undefined) return fallback;
  if (!Array.isArray(secrets) || secrets.some((s) => typeof s !== "string" || !/^[A-Z][A-Z0-9_]*$/.test(s))) {
    throw new ValidationError("secrets", "must be a list of secret names such as AWS_CREDENTIALS");
  }
  return Object.freeze([...secrets]);
}

/**
 * Joins a prefix and a name with one `/`: `"prod/"` + `"nightly"` → `"prod/nightly"`, `""` + `"a"` → `"a"`.
 */
export function joinKey(prefix: string, ...parts: string[]): string {
  return [prefix.replace(/\/+$/, ""), ...parts].filter((p) => p !== "").join("/");
}

/**
 * Checks a key prefix (`prod/flows/`) and returns it with one trailing `/` (or `""`): no leading `/`, no empty,
 * `.` or `..` segments.
 */
export function normalizePrefix(prefix: unknown, option = "prefix"): string {
  if (prefix === undefined || prefix === "") return "";
  if (typeof prefix !== "string") throw new ValidationError(option, "must be a string such as prod/flows/");
  const trimmed = prefix.replace(/\/+$/, "");
  if (trimmed === "") return "";
  if (trimmed.split("/").some((s) => s === "" || s === "." || s === "..")) {
    throw new ValidationError(
      option,
      `"${prefix.slice(0, 200)}" must be folder names joined by "/", such as prod/flows/`,
    );
  }
  return `${trimmed}/`;
}
