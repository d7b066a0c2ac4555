import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { directoryBackend, type SecretBackend, TributaryError, ValidationError } from "@tributary/auth";
import { UsageError } from "./parse-command-args.js";

/** The names `doctor` looks for in the current folder, in this order. */
export const CONFIG_FILE_NAMES: readonly string[] = [
  "tributary.config.ts",
  "tributary.config.js",
  "tributary.config.mjs",
  "tributary.config.json",
];

/** A config file that cannot be read or does not say what it should. */
export class ConfigFileError extends TributaryError {
  static override readonly errorName: string = "ConfigFileError";
  constructor(
    /** The config file. */
    readonly path: string,
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super("INVALID_CONFIG", `${path}: ${message}`, options);
  }
}

/**
 * What a config file says: the secret backends `doctor` asks, the run default of `leastPrivilege`, and the keys
 * whose signatures runs trust.
 */
export interface TributaryConfig {
  /** The file it came from. */
  path: string;
  /** The backends, in order (none when the file names none). */
  backends: readonly SecretBackend[];
  /** The default for runs started by `tributary run` and `tributary agent start` when a flow does not set it. */
  leastPrivilege: boolean | undefined;
  /**
   * The trust policy of `run`, `verify` and `agent start`: public keys (PEM), read from the file's `trustedKeys`
   * (each a PEM, or a path relative to the config file). `undefined` when the file names none.
   */
  trustedKeys: readonly string[] | undefined;
}

/** The keys a config file may hold. */
const CONFIG_KEYS = ["backends", "leastPrivilege", "trustedKeys"] as const;

const JSON_SHAPE = '{ "backends": [{ "directory": "/var/run/secrets/app" }], "leastPrivilege": true }';

function isBackend(value: unknown): value is SecretBackend {
  const b = value as SecretBackend | null;
  return (
    typeof b === "object" && b !== null && typeof b.get === "function" && typeof b.describe === "function"
  );
}

/**
 * The config's `trustedKeys`: each a public key PEM, or a path to one (relative to the config file), read and
 * checked now so that a wrong key stops the command before it runs anything.
 */
async function readTrustedKeys(path: string, keys: unknown): Promise<readonly string[] | undefined> {
  if (keys === undefined) return undefined;
  if (!Array.isArray(keys) || keys.length === 0 || !keys.every((k) => typeof k === "string" && k !== "")) {
    throw new ConfigFileError(
      path,
      '"trustedKeys" must be a list of one or more public keys: paths to .pub files or PEM text ("trustedKeys": ["keys/release.pub"])',
    );
  }
  const { readTrustedKey } = await import("@tributary/flow");
  return keys.map((entry: string, i) => {
    let pem = entry;
    if (!entry.includes("-----BEGIN")) {
      const file = resolve(dirname(path), entry);
      try {
        pem = readFileSync(file, "utf8");
      } catch {
        throw new ConfigFileError(path, `trustedKeys[${i}]: ${file} cannot be read`);
      }
    }
    try {
      readTrustedKey(pem, `trustedKeys[${i}]`);
    } catch (error) {
      throw new ConfigFileError(path, (error as Error).message, { cause: error });
    }
    return pem;
  });
}

/** Checks what every config file holds, JSON or module: known keys only, and a boolean `leastPrivilege`. */
function checkKeys(path: string, config: Record<string, unknown>): boolean | undefined {
  for (const key of Object.keys(config)) {
    if (!(CONFIG_KEYS as readonly string[]).includes(key)) {
      throw new ConfigFileError(path, `unknown key "${key}"; a config file takes ${CONFIG_KEYS.join(", ")}`);
    }
  }
  const leastPrivilege = config.leastPrivilege;
  if (leastPrivilege !== undefined && typeof leastPrivilege !== "boolean") {
    throw new ConfigFileError(path, '"leastPrivilege" must be true or false');
  }
  return leastPrivilege;
}

function fromJson(path: string): Omit<TributaryConfig, "path" | "trustedKeys"> & { keys: unknown } {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new ConfigFileError(path, `not valid JSON; expected ${JSON_SHAPE}`, { cause: error });
  }
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    throw new ConfigFileError(path, `not a JSON object; expected ${JSON_SHAPE}`);
  }
  const leastPrivilege = checkKeys(path, data as Record<string, unknown>);
  const list = (data as { backends?: unknown }).backends ?? [];
  if (!Array.isArray(list))
    throw new ConfigFileError(path, `"backends" is not a list; expected ${JSON_SHAPE}`);
  const backends = list.map((entry, index) => {
    const directory = (entry as { directory?: unknown } | null)?.directory;
    if (typeof directory !== "string" || directory === "") {
      throw new ConfigFileError(
        path,
        `backends[${index}]: a JSON config can name only mounted folders ({ "directory": "…" }); build other backends (awsSecretsManagerBackend, gcpSecretManagerBackend) in tributary.config.js`,
      );
    }
    return directoryBackend(resolve(dirname(path), directory));
  });
  return { backends, leastPrivilege, keys: (data as { trustedKeys?: unknown }).trustedKeys };
}

async function fromModule(
  path: string,
): Promise<Omit<TributaryConfig, "path" | "trustedKeys"> & { keys: unknown }> {
  let loaded: Record<string, unknown>;
  try {
    loaded = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (path.endsWith(".ts") && code === "ERR_UNKNOWN_FILE_EXTENSION") {
      throw new ConfigFileError(
        path,
        `Node ${process.versions.node} cannot import TypeScript files (Node 22.18 and later can): use a newer Node, or write tributary.config.js`,
        { cause: error },
      );
    }
    throw new ConfigFileError(path, `could not be loaded: ${(error as Error).message}`, { cause: error });
  }
  const config = (loaded.default ?? loaded) as Record<string, unknown>;
  const leastPrivilege = checkKeys(path, { ...config });
  const list = config.backends ?? [];
  if (!Array.isArray(list) || !list.every(isBackend)) {
    throw new ConfigFileError(
      path,
      '`backends` must be a list of secret backends: export default { backends: [directoryBackend("/var/run/secrets/app")] }',
    );
  }
  return { backends: list, leastPrivilege, keys: config.trustedKeys };
}

/**
 * Reads the config file a command is given (`--config FILE`) or finds in `cwd` (`tributary.config.{ts,js,mjs,json}`).
 * Returns `undefined` when there is none. A JSON file names mounted folders; a module exports ready backends. Either
 * may set `leastPrivilege`, the default for runs, and `trustedKeys`, the keys whose signatures runs trust.
 */
export async function loadConfig(
  explicit: string | undefined,
  cwd = process.cwd(),
): Promise<TributaryConfig | undefined> {
  let path: string | undefined;
  if (explicit !== undefined) {
    path = resolve(cwd, explicit);
    if (!existsSync(path)) throw new ConfigFileError(path, "no such file (given with --config)");
  } else {
    path = CONFIG_FILE_NAMES.map((name) => resolve(cwd, name)).find((p) => existsSync(p));
    if (path === undefined) return undefined;
  }
  const { keys, ...read } = path.endsWith(".json") ? fromJson(path) : await fromModule(path);
  return { path, ...read, trustedKeys: await readTrustedKeys(path, keys) };
}

/**
 * The `leastPrivilege` default of the runs a command starts: `--least-privilege true|false` when given (the config
 * file is then not read), else the config file's (`--config FILE`, else `tributary.config.*` in `cwd`).
 */
export async function runLeastPrivilege(
  flag: string | undefined,
  configFile: string | undefined,
  usage: string,
): Promise<boolean | undefined> {
  if (flag === undefined) return (await loadConfig(configFile))?.leastPrivilege;
  if (flag !== "true" && flag !== "false")
    throw new UsageError("--least-privilege takes true or false", usage);
  if (configFile !== undefined) throw new UsageError("give --least-privilege or --config, not both", usage);
  return flag === "true";
}

/** A run's trust policy and where it came from (for the note a command prints). */
export interface TrustPolicy {
  /** The trusted public keys (PEM), or `undefined`: deployments are not verified. */
  keys: readonly string[] | undefined;
  /** Where the keys came from: `--trust-key`, or the config file's path. */
  from: string | undefined;
}

/**
 * The trust policy of `run`, `verify` and `agent start`: the `--trust-key` values when given (each a file, or PEM
 * text; the config file is then not read for keys), else the config file's `trustedKeys` (`--config FILE`, else
 * `tributary.config.*` in `cwd`), else none.
 */
export async function trustPolicy(
  flags: readonly string[],
  configFile: string | undefined,
): Promise<TrustPolicy> {
  if (flags.length === 0) {
    const config = await loadConfig(configFile);
    return { keys: config?.trustedKeys, from: config?.trustedKeys ? config.path : undefined };
  }
  const { readTrustedKey } = await import("@tributary/flow");
  const keys = flags.map((flag) => {
    if (flag.includes("-----BEGIN")) {
      readTrustedKey(flag, "--trust-key (PEM text)");
      return flag;
    }
    let pem: string;
    try {
      pem = readFileSync(resolve(flag), "utf8");
    } catch {
      throw new ValidationError(
        `--trust-key ${flag}`,
        "the file cannot be read; give the path of a public key file (.pub)",
      );
    }
    readTrustedKey(pem, `--trust-key ${flag}`);
    return pem;
  });
  return { keys, from: "--trust-key" };
}
