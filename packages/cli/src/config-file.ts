import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { directoryBackend, type SecretBackend, TributaryError } from "@tributary/auth";
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

/** What a config file says: the secret backends `doctor` asks, and the run default of `leastPrivilege`. */
export interface TributaryConfig {
  /** The file it came from. */
  path: string;
  /** The backends, in order (none when the file names none). */
  backends: readonly SecretBackend[];
  /** The default for runs started by `tributary run` and `tributary agent start` when a flow does not set it. */
  leastPrivilege: boolean | undefined;
}

/** The keys a config file may hold. */
const CONFIG_KEYS = ["backends", "leastPrivilege"] as const;

const JSON_SHAPE = '{ "backends": [{ "directory": "/var/run/secrets/app" }], "leastPrivilege": true }';

function isBackend(value: unknown): value is SecretBackend {
  const b = value as SecretBackend | null;
  return (
    typeof b === "object" && b !== null && typeof b.get === "function" && typeof b.describe === "function"
  );
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

function fromJson(path: string): Omit<TributaryConfig, "path"> {
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
  return { backends, leastPrivilege };
}

async function fromModule(path: string): Promise<Omit<TributaryConfig, "path">> {
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
  return { backends: list, leastPrivilege };
}

/**
 * Reads the config file a command is given (`--config FILE`) or finds in `cwd` (`tributary.config.{ts,js,mjs,json}`).
 * Returns `undefined` when there is none. A JSON file names mounted folders; a module exports ready backends. Either
 * may set `leastPrivilege`, the default for runs.
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
  return { path, ...(path.endsWith(".json") ? fromJson(path) : await fromModule(path)) };
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
