import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { directoryBackend, type SecretBackend, TributaryError } from "@tributary/auth";

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

/** What `doctor` learns from a config file: the secret backends a run would have. */
export interface TributaryConfig {
  /** The file it came from. */
  path: string;
  /** The backends, in order. */
  backends: readonly SecretBackend[];
}

const JSON_SHAPE = '{ "backends": [{ "directory": "/var/run/secrets/app" }] }';

function isBackend(value: unknown): value is SecretBackend {
  const b = value as SecretBackend | null;
  return (
    typeof b === "object" && b !== null && typeof b.get === "function" && typeof b.describe === "function"
  );
}

function fromJson(path: string): SecretBackend[] {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, "utf8"));
  } catch (error) {
    throw new ConfigFileError(path, `not valid JSON; expected ${JSON_SHAPE}`, { cause: error });
  }
  const list = (data as { backends?: unknown } | null)?.backends;
  if (!Array.isArray(list)) throw new ConfigFileError(path, `no "backends" list; expected ${JSON_SHAPE}`);
  return list.map((entry, index) => {
    const directory = (entry as { directory?: unknown } | null)?.directory;
    if (typeof directory !== "string" || directory === "") {
      throw new ConfigFileError(
        path,
        `backends[${index}]: a JSON config can name only mounted folders ({ "directory": "…" }); build other backends (awsSecretsManagerBackend, gcpSecretManagerBackend) in tributary.config.js`,
      );
    }
    return directoryBackend(resolve(dirname(path), directory));
  });
}

async function fromModule(path: string): Promise<SecretBackend[]> {
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
  const config = (loaded.default ?? loaded) as { backends?: unknown };
  const list = config.backends;
  if (!Array.isArray(list) || !list.every(isBackend)) {
    throw new ConfigFileError(
      path,
      'must export `backends`, a list of secret backends: export default { backends: [directoryBackend("/var/run/secrets/app")] }',
    );
  }
  return list;
}

/**
 * Reads the config file `doctor` is given (`--config FILE`) or finds in `cwd` (`tributary.config.{ts,js,mjs,json}`).
 * Returns `undefined` when there is none. A JSON file names mounted folders; a module exports ready backends.
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
  const backends = path.endsWith(".json") ? fromJson(path) : await fromModule(path);
  return { path, backends };
}
