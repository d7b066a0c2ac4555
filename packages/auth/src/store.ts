import { closeSync, fsyncSync, openSync, readFileSync, statSync } from "node:fs";
import { mkdir, open, readFile, rename, rm, stat, unlink } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { SecretStoreError } from "./errors.js";
import { checkSecretValue } from "./secret-value-limits.js";

/** The options of `localStore`. */
export interface LocalStoreOptions {
  /** The folder holding `secrets.json`. Default: `$TRIBUTARY_HOME`, else `$XDG_CONFIG_HOME/tributary`, else `~/.config/tributary`. */
  home?: string;
  /** How long `set`/`remove` wait for another writer's lock before failing, in ms. Default 10 000. */
  lockTimeoutMs?: number;
}

/** The local secret store: a 0600 JSON file in the user's config folder. */
export interface LocalStore {
  /** The store file's path. */
  readonly path: string;
  /** The raw stored value of `name`, or `undefined`. Throws `SecretStoreError` when the file is unsafe or corrupt. */
  get(name: string): unknown;
  /** The stored names, sorted. */
  names(): string[];
  /** Stores `value` under `name`, atomically and under a lock. Never overwrites a corrupt file. */
  set(name: string, value: unknown): Promise<void>;
  /** Removes `name`; returns whether it was there. */
  remove(name: string): Promise<boolean>;
}

interface StoreFile {
  version: 1;
  secrets: Record<string, unknown>;
}

/** The folder of the local store, from the options or the environment. */
export function storeHome(home?: string): string {
  if (home) return home;
  const env = process.env;
  if (env.TRIBUTARY_HOME) return env.TRIBUTARY_HOME;
  const config = env.XDG_CONFIG_HOME || join(homedir(), ".config");
  return join(config, "tributary");
}

const cache = new Map<string, { key: string; data: StoreFile }>();

function checkMode(path: string, mode: number): void {
  if (process.platform !== "win32" && (mode & 0o077) !== 0) {
    throw new SecretStoreError(
      "STORE_UNSAFE_PERMISSIONS",
      `The secret store ${path} can be read by other users (mode ${(mode & 0o777).toString(8)}). Run: chmod 600 ${path}`,
      path,
    );
  }
}

function parseStore(path: string, text: string): StoreFile {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    data = undefined;
  }
  const secrets = (data as { secrets?: unknown } | undefined)?.secrets;
  if (
    !data ||
    typeof data !== "object" ||
    !secrets ||
    typeof secrets !== "object" ||
    Array.isArray(secrets)
  ) {
    throw new SecretStoreError(
      "STORE_CORRUPT",
      `The secret store ${path} is not a valid Tributary store file. It was left as it is; move it away or repair it, then set the secrets again.`,
      path,
    );
  }
  return { version: 1, secrets: secrets as Record<string, unknown> };
}

function readSync(path: string): StoreFile | undefined {
  let st: import("node:fs").Stats;
  try {
    st = statSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new SecretStoreError("STORE_UNREADABLE", `Cannot read the secret store ${path}`, path, {
      cause: error,
    });
  }
  checkMode(path, st.mode);
  const key = `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
  const hit = cache.get(path);
  if (hit && hit.key === key) return hit.data;
  const data = parseStore(path, readFileSync(path, "utf8"));
  cache.set(path, { key, data });
  return data;
}

async function readAsync(path: string): Promise<StoreFile | undefined> {
  try {
    const st = await stat(path);
    checkMode(path, st.mode);
    return parseStore(path, await readFile(path, "utf8"));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const STALE_LOCK_MS = 30_000;
const queues = new Map<string, Promise<unknown>>();

async function withLock<R>(path: string, timeoutMs: number, fn: () => Promise<R>): Promise<R> {
  // Writers in this process queue here; other processes are kept out by the lock file.
  const previous = queues.get(path) ?? Promise.resolve();
  const run = previous.catch(() => undefined).then(() => lockFile(path, timeoutMs, fn));
  queues.set(path, run);
  try {
    return await run;
  } finally {
    if (queues.get(path) === run) queues.delete(path);
  }
}

async function lockFile<R>(path: string, timeoutMs: number, fn: () => Promise<R>): Promise<R> {
  const lock = `${path}.lock`;
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; ; attempt++) {
    try {
      const handle = await open(lock, "wx", 0o600);
      await handle.writeFile(String(process.pid));
      await handle.close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const st = await stat(lock).catch(() => undefined);
      if (st && Date.now() - st.mtimeMs > STALE_LOCK_MS) {
        await unlink(lock).catch(() => undefined);
        continue;
      }
      if (Date.now() > deadline) {
        throw new SecretStoreError(
          "STORE_LOCKED",
          `The secret store ${path} stayed locked for ${timeoutMs} ms. If no other tributary command is running, remove ${lock}.`,
          path,
        );
      }
      await sleep(Math.min(5 + attempt * 5, 50) * (0.5 + Math.random()));
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lock, { force: true });
  }
}

async function writeAtomic(path: string, data: StoreFile): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.secrets.json.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  const handle = await open(tmp, "wx", 0o600);
  try {
    await handle.writeFile(`${JSON.stringify(data, null, 2)}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
  const dirFd = openSync(dir, "r");
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}

/**
 * The local secret store (`tributary secrets set` writes it). Values are kept as given: text, or objects for
 * JSON-shaped names. The file is created 0600 and refused when group or others can read it.
 * @example
 * await localStore().set("SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/…");
 */
export function localStore(options: LocalStoreOptions = {}): LocalStore {
  const path = join(storeHome(options.home), "secrets.json");
  const timeout = options.lockTimeoutMs ?? 10_000;
  const update = async (change: (secrets: Record<string, unknown>) => boolean) => {
    // The folder must exist before the lock file can be made in it.
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    return withLock(path, timeout, async () => {
      const current = (await readAsync(path)) ?? { version: 1 as const, secrets: {} };
      const secrets = { ...current.secrets };
      const changed = change(secrets);
      if (changed) await writeAtomic(path, { version: 1, secrets });
      return changed;
    });
  };
  return {
    path,
    get: (name) => readSync(path)?.secrets[name],
    names: () => Object.keys(readSync(path)?.secrets ?? {}).sort(),
    set: async (name, value) => {
      checkSecretValue(name, { kind: "store", detail: path }, value);
      await update((s) => {
        s[name] = value;
        return true;
      });
    },
    remove: (name) =>
      update((s) => {
        if (!(name in s)) return false;
        delete s[name];
        return true;
      }),
  };
}
