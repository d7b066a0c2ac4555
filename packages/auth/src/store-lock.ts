import { createHash, randomBytes } from "node:crypto";
import type { Stats } from "node:fs";
import { link, lstat, open, readdir, rename, rm, stat, unlink, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { basename, dirname, join } from "node:path";
import { SecretStoreError } from "./errors.js";

/**
 * A lock whose holder cannot be shown to be gone is taken over after this long (a holder on another machine
 * sharing the folder, or a pid reused by another process). Writers hold the lock for milliseconds.
 */
export const STALE_LOCK_MS = 60_000;

/** What a lock file records about its holder. */
interface Holder {
  pid: number;
  host: string;
  token: string;
  /** Milliseconds since the epoch. */
  time: number;
}

/** @internal One of this process's candidate lock files on disk: its path and what it records. */
export interface Claim {
  path: string;
  holder: Holder;
}

const HOST = hostname();
let hostDigest: string | undefined;
/**
 * A short, file-name-safe digest of the host name, for temporary files' names (made on first use: `node:crypto`
 * is not loaded when the package is imported).
 */
export function thisHostId(): string {
  hostDigest ??= createHash("sha256").update(HOST).digest("hex").slice(0, 8);
  return hostDigest;
}

/** Tokens of this process's candidates and held locks: a file naming this pid with another token is a dead namesake's. */
const ownTokens = new Set<string>();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** True when `pid` is a live process on this host (or might be: one we may not signal is alive). */
function pidAlive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** @internal A lock-like file as found: its holder when it records one, and how old it is. */
export interface Found {
  holder: Holder | undefined;
  /** An identity that no later lock at the same path shares: the holder's token, else inode and time. */
  id: string;
  ageMs: number;
}

/** @internal Reads a lock-like file: its holder, identity and age; `undefined` when it does not exist. */
export async function inspect(path: string): Promise<Found | undefined> {
  // The file's times and its content must come from one inode: a lock replaced between a stat and a read would
  // otherwise pair a new holder with an old time, and look stale.
  let st: Stats;
  let text = "";
  try {
    const handle = await open(path, "r");
    try {
      st = await handle.stat();
      if (st.isFile()) text = await handle.readFile("utf8");
    } finally {
      await handle.close();
    }
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (!["ENOENT", "ELOOP", "EISDIR", "EACCES", "EPERM"].includes(code ?? "")) throw error;
    // A folder, an unreadable file or a dangling symlink still holds the name: judged by its age alone.
    const found = await lstat(path).catch(() => undefined);
    if (!found) return undefined;
    st = found;
  }
  let holder: Holder | undefined;
  try {
    const data = JSON.parse(text) as Partial<Holder>;
    if (typeof data.pid === "number" && typeof data.host === "string" && typeof data.token === "string") {
      holder = { pid: data.pid, host: data.host, token: data.token, time: Number(data.time) || st.mtimeMs };
    }
  } catch {
    // Earlier versions wrote the pid alone.
    if (/^\d+$/.test(text.trim()))
      holder = { pid: Number(text.trim()), host: HOST, token: "", time: st.mtimeMs };
  }
  const time = holder?.time ?? st.mtimeMs;
  return {
    holder,
    id: holder?.token || `i${st.ino}-${st.mtimeMs}`,
    ageMs: Date.now() - Math.min(time, st.mtimeMs),
  };
}

/** Gone: its holder was on this host and has exited, or it is older than `STALE_LOCK_MS`. */
function isStale(found: Found): boolean {
  if (found.ageMs > STALE_LOCK_MS) return true;
  const h = found.holder;
  return h !== undefined && h.host === HOST && holderGone(h.pid, h.token);
}

/**
 * On this host: a holder is gone when its pid is not alive, or when it is this process's pid with a token this
 * process never made (an earlier process that had the same pid, as happens in containers).
 */
function holderGone(pid: number, token: string | undefined): boolean {
  if (pid === process.pid) return token === undefined || !ownTokens.has(token);
  return !pidAlive(pid);
}

/**
 * Removes the stale lock-like file at `path`, found as `found`, unless someone else does first. Takers are kept
 * apart by a guard file whose name is derived from the stale lock's identity, created with `link` (which fails
 * when the name exists): one taker at a time re-reads `path`, checks it is still the same stale lock, and renames
 * it away. A later taker of the same stale lock finds it gone. A guard whose holder died is itself taken over the
 * same way. Returns whether `path` may be free now.
 */
export async function takeOver(path: string, found: Found, mine: Claim, depth = 0): Promise<boolean> {
  const guard = `${path}.reap-${found.id.replace(/[^\w-]/g, "")}`;
  try {
    await link(mine.path, guard);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    const other = await inspect(guard);
    if (other && depth < 3 && isStale(other)) await takeOver(guard, other, mine, depth + 1);
    return false;
  }
  try {
    const now = await inspect(path);
    if (!now) return true;
    if (now.id !== found.id) return false;
    const dead = `${path}.dead.${thisHostId()}.${process.pid}.${mine.holder.token}`;
    await rename(path, dead);
    await rm(dead, { recursive: true, force: true });
    return true;
  } finally {
    await unlink(guard).catch(() => undefined);
  }
}

/**
 * Whether a file named with its creator's host id and pid was left behind by a process that is gone: on this host,
 * its pid is not alive; from another host, it is older than `STALE_LOCK_MS`. The name says who made the file even
 * when the process died before writing anything in it.
 */
export async function leftBehind(
  hostId: string | undefined,
  pid: number,
  path: string,
  token?: string,
): Promise<boolean> {
  if (hostId === undefined || hostId === thisHostId()) return holderGone(pid, token);
  const st = await stat(path).catch(() => undefined);
  return st !== undefined && Date.now() - st.mtimeMs > STALE_LOCK_MS;
}

/** Candidates (`<lock>.<host id>.<pid>.<token>`) and renamed stale locks (`<lock>.dead.<host id>.<pid>.<token>`). */
const OWNED = /^(?:dead\.)?([0-9a-f]{8})\.(\d+)\.([0-9a-f]{16})$/;
/** Guards (`<lock>.reap-<id>`, also nested): hard links of a complete candidate, so they name their holder inside. */
const GUARD = /^reap-[\w.-]+$/;

/**
 * Removes what dead processes left beside the lock: their candidates, guards and renamed stale locks. Called by the
 * lock's holder. Files of live processes are left alone.
 */
async function removeLeftovers(lock: string): Promise<void> {
  const prefix = `${basename(lock)}.`;
  for (const name of await readdir(dirname(lock))) {
    if (!name.startsWith(prefix)) continue;
    const rest = name.slice(prefix.length);
    const path = join(dirname(lock), name);
    const owned = OWNED.exec(rest);
    let gone = false;
    if (owned) gone = await leftBehind(owned[1], Number(owned[2]), path, owned[3]);
    else if (GUARD.test(rest)) {
      const found = await inspect(path).catch(() => undefined);
      gone = found !== undefined && isStale(found);
    }
    if (gone) await rm(path, { recursive: true, force: true }).catch(() => undefined);
  }
}

/** What the holder of a lock can ask of it. */
export interface HeldLock {
  /** Throws `STORE_LOCK_LOST` when the lock was taken over (this process was paused past `STALE_LOCK_MS`). */
  assertHeld(): Promise<void>;
}

/** @internal Writes this process's candidate lock file: complete before it is linked to the lock's name. */
export async function claim(lock: string): Promise<Claim> {
  const holder: Holder = {
    pid: process.pid,
    host: HOST,
    token: randomBytes(8).toString("hex"),
    time: Date.now(),
  };
  const path = `${lock}.${thisHostId()}.${process.pid}.${holder.token}`;
  ownTokens.add(holder.token);
  await writeFile(path, JSON.stringify(holder), { mode: 0o600, flag: "wx" });
  return { path, holder };
}

/**
 * Runs `fn` holding the lock file `lock` (beside the store), across processes and hosts sharing the folder.
 * The lock is created atomically, complete with its holder's pid, host and a random token (written to a private
 * candidate file, then hard-linked to the lock's name). A lock is taken over only when its holder is gone (on
 * this host: its pid is not alive) or older than `STALE_LOCK_MS`. Waiting backs off up to 25 ms between tries
 * and never passes `timeoutMs`. The lock is removed only by its holder, and only while it is still its own.
 */
export async function withFileLock<R>(
  lock: string,
  timeoutMs: number,
  fn: (held: HeldLock) => Promise<R>,
): Promise<R> {
  let mine = await claim(lock);
  let acquired = false;
  const deadline = Date.now() + timeoutMs;
  let lastProblem: string | undefined;
  try {
    for (let attempt = 0; ; attempt++) {
      if (Date.now() - mine.holder.time > STALE_LOCK_MS / 4) {
        // The lock's age counts from its candidate's time: a long wait must not produce a lock born stale.
        await unlink(mine.path).catch(() => undefined);
        ownTokens.delete(mine.holder.token);
        mine = await claim(lock);
      }
      try {
        await link(mine.path, lock);
        acquired = true;
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      }
      const found = await inspect(lock);
      if (!found) continue;
      if (isStale(found)) {
        try {
          if (await takeOver(lock, found, mine)) continue;
        } catch (error) {
          lastProblem = `the stale lock ${lock} cannot be removed (${(error as NodeJS.ErrnoException).code ?? "failed"})`;
        }
      } else {
        const h = found.holder;
        lastProblem = h
          ? `it is held by process ${h.pid} on ${h.host === HOST ? "this machine" : h.host}`
          : `${lock} exists and records no holder`;
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new SecretStoreError(
          "STORE_LOCKED",
          `The secret store ${lock.replace(/\.lock$/, "")} stayed locked for ${timeoutMs} ms: ${lastProblem}. ` +
            `If no other tributary command is running, remove ${lock}.`,
          lock.replace(/\.lock$/, ""),
        );
      }
      const backoff = Math.min(25, 2 ** Math.min(attempt, 5)) * (0.5 + Math.random());
      await sleep(Math.min(backoff, left));
    }
  } finally {
    await unlink(mine.path).catch(() => undefined);
    if (!acquired) ownTokens.delete(mine.holder.token);
  }
  const token = mine.holder.token;
  const held: HeldLock = {
    async assertHeld() {
      const now = await inspect(lock);
      if (now?.id !== token) {
        throw new SecretStoreError(
          "STORE_LOCK_LOST",
          `The lock of the secret store ${lock.replace(/\.lock$/, "")} was taken over while this process held it (paused for more than ${STALE_LOCK_MS / 1000} s?). Nothing was written; try again.`,
          lock.replace(/\.lock$/, ""),
        );
      }
    },
  };
  try {
    const result = await fn(held);
    await removeLeftovers(lock).catch(() => undefined);
    return result;
  } finally {
    const now = await inspect(lock).catch(() => undefined);
    if (now?.id === token) await unlink(lock).catch(() => undefined);
    ownTokens.delete(token);
  }
}
