import { randomBytes } from "node:crypto";
import { closeSync, fsyncSync, openSync, readFileSync, type Stats, statSync } from "node:fs";
import { mkdir, open, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { homedir, userInfo } from "node:os";
import { dirname, join } from "node:path";
import { checkSecretInput } from "./check-secret-input.js";
import { assertSecretValue } from "./check-secret-value.js";
import { SecretStoreError } from "./errors.js";
import { assertSecretName } from "./secret-definition.js";
import { type HeldLock, leftBehind, thisHostId, withFileLock } from "./store-lock.js";

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
  /**
   * Throws the `SecretStoreError` that reading or writing would throw (unsafe owner or mode, corrupt file); does
   * nothing when the store and its folder are sound or do not exist yet. `tributary doctor` reports it.
   */
  check(): void;
}

interface StoreFile {
  version: 1;
  secrets: ReadonlyMap<string, unknown>;
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

function currentUser(uid: number): string {
  try {
    return userInfo().username || String(uid);
  } catch {
    return String(uid);
  }
}

/**
 * Trusts the store file and its folder as OpenSSH's StrictModes does: each must be owned by the current user (or
 * root), and neither may be writable by group or others; the file may not be readable by them either. Anything
 * else is refused with the exact `chown`/`chmod` that fixes it.
 */
export function checkStoreSafety(path: string, file: Stats | undefined, folder: Stats): void {
  const uid = process.getuid?.();
  if (uid === undefined) return;
  const dir = dirname(path);
  const fail = (code: string, message: string) => {
    throw new SecretStoreError(code, message, path);
  };
  const mode = (st: Stats) => (st.mode & 0o7777).toString(8).padStart(3, "0");
  if (!folder.isDirectory()) fail("STORE_UNREADABLE", `${dir} (the secret store's folder) is not a folder.`);
  if (folder.uid !== uid && folder.uid !== 0) {
    fail(
      "STORE_UNSAFE_OWNER",
      `The folder of the secret store, ${dir}, belongs to another user (uid ${folder.uid}), who could have put values in it. It is not used. Check it, then run: chown ${currentUser(uid)} ${dir} (or set TRIBUTARY_HOME to a folder of your own).`,
    );
  }
  if ((folder.mode & 0o022) !== 0) {
    fail(
      "STORE_UNSAFE_PERMISSIONS",
      `The folder of the secret store, ${dir}, can be written by other users (mode ${mode(folder)}), who could replace the store in it. It is not used. Run: chmod go-w ${dir} (or, for a shared folder such as /tmp, set TRIBUTARY_HOME to a folder of your own).`,
    );
  }
  if (!file) return;
  if (!file.isFile()) fail("STORE_UNREADABLE", `The secret store ${path} is not a regular file.`);
  if (file.uid !== uid && file.uid !== 0) {
    fail(
      "STORE_UNSAFE_OWNER",
      `The secret store ${path} belongs to another user (uid ${file.uid}), who could have put values in it. It is not read. Check it, then run: chown ${currentUser(uid)} ${path} (or remove it).`,
    );
  }
  if ((file.mode & 0o077) !== 0) {
    fail(
      "STORE_UNSAFE_PERMISSIONS",
      `The secret store ${path} can be read or changed by other users (mode ${mode(file)}). Run: chmod 600 ${path}`,
    );
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function parseStore(path: string, bytes: Uint8Array): StoreFile {
  const corrupt = (why: string): never => {
    throw new SecretStoreError(
      "STORE_CORRUPT",
      `The secret store ${path} is not a valid Tributary store file: ${why}. It was left as it is; move it away or repair it, then set the secrets again.`,
      path,
    );
  };
  let data: unknown;
  try {
    data = JSON.parse(utf8.decode(bytes));
  } catch (error) {
    corrupt(error instanceof SyntaxError ? "it is not valid JSON" : "it is not valid UTF-8 text");
  }
  const secrets = (data as { secrets?: unknown } | null | undefined)?.secrets;
  if (
    !data ||
    typeof data !== "object" ||
    !secrets ||
    typeof secrets !== "object" ||
    Array.isArray(secrets)
  ) {
    corrupt('it has no "secrets" object');
  }
  const map = new Map<string, unknown>();
  for (const [name, value] of Object.entries(secrets as object)) {
    try {
      assertSecretName(name);
    } catch {
      corrupt(
        `it holds an entry whose name is not a valid secret name (${JSON.stringify(name.slice(0, 64))})`,
      );
    }
    map.set(name, value);
  }
  return { version: 1, secrets: map };
}

function readSync(path: string): StoreFile | undefined {
  let st: Stats;
  try {
    st = statSync(path);
    checkStoreSafety(path, st, statSync(dirname(path)));
  } catch (error) {
    if (SecretStoreError.isInstance(error)) throw error;
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new SecretStoreError("STORE_UNREADABLE", `Cannot read the secret store ${path}`, path, {
      cause: error,
    });
  }
  const key = `${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
  const hit = cache.get(path);
  if (hit && hit.key === key) return hit.data;
  const data = parseStore(path, readFileSync(path));
  cache.set(path, { key, data });
  return data;
}

async function readAsync(path: string): Promise<StoreFile | undefined> {
  const file = await stat(path).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return undefined;
    throw error;
  });
  checkStoreSafety(path, file, await stat(dirname(path)));
  if (!file) return undefined;
  return parseStore(path, await readFile(path));
}

const queues = new Map<string, Promise<unknown>>();

/** Writers in this process queue here; other processes are kept out by the lock file. */
async function inQueue<R>(path: string, fn: () => Promise<R>): Promise<R> {
  const previous = queues.get(path) ?? Promise.resolve();
  const run = previous.catch(() => undefined).then(fn);
  queues.set(path, run);
  try {
    return await run;
  } finally {
    if (queues.get(path) === run) queues.delete(path);
  }
}

/** Temporary copies of the store: `.secrets.json.<host id>.<pid>.<random>.tmp` (older versions: no host id). */
const TEMP = /^\.secrets\.json\.(?:([0-9a-f]{8})\.)?(\d+)\.[0-9a-z]+\.tmp$/;

/**
 * Removes the temporary copies that writers killed mid-write left behind (each may hold every secret, including
 * ones since removed). Called under the lock; a live writer's copy is left alone.
 */
async function removeStaleTemps(dir: string): Promise<void> {
  for (const name of await readdir(dir)) {
    const match = TEMP.exec(name);
    if (!match) continue;
    const path = join(dir, name);
    if (await leftBehind(match[1], Number(match[2]), path))
      await rm(path, { force: true }).catch(() => undefined);
  }
}

async function writeAtomic(path: string, data: StoreFile, held: HeldLock): Promise<void> {
  const text = `${JSON.stringify({ version: 1, secrets: Object.fromEntries(data.secrets) }, null, 2)}\n`;
  const dir = dirname(path);
  const tmp = join(dir, `.secrets.json.${thisHostId()}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    const handle = await open(tmp, "wx", 0o600);
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await held.assertHeld();
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
  const source = { kind: "store" as const, detail: path };
  const update = async (change: (secrets: Map<string, unknown>) => boolean) => {
    const dir = dirname(path);
    // The folder must exist before the lock file can be made in it; an existing one is checked, never changed.
    await mkdir(dir, { recursive: true, mode: 0o700 });
    checkStoreSafety(path, undefined, await stat(dir));
    return inQueue(path, () =>
      withFileLock(`${path}.lock`, timeout, async (held) => {
        await removeStaleTemps(dir);
        const current = await readAsync(path);
        const secrets = new Map(current?.secrets);
        const changed = change(secrets);
        if (changed) await writeAtomic(path, { version: 1, secrets }, held);
        return changed;
      }),
    );
  };
  return {
    path,
    get: (name) => {
      assertSecretName(name);
      return readSync(path)?.secrets.get(name);
    },
    names: () => [...(readSync(path)?.secrets.keys() ?? [])].sort(),
    check: () => {
      const folder = statSync(dirname(path), { throwIfNoEntry: false });
      if (folder) checkStoreSafety(path, undefined, folder);
      readSync(path);
    },
    set: async (name, raw) => {
      assertSecretName(name);
      if (raw !== undefined && raw !== null) checkSecretInput(name, raw, source);
      // The same checks as `tributary secrets set`: undefined or a malformed value is refused, not dropped.
      const value = assertSecretValue(name, raw, "value");
      await update((s) => {
        s.set(name, value);
        return true;
      });
    },
    remove: async (name) => {
      assertSecretName(name);
      return update((s) => s.delete(name));
    },
  };
}
