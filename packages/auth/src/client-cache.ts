import { createHmac, randomBytes } from "node:crypto";
import { processSingleton } from "./process-singleton.js";
import { Secret } from "./secret.js";

/** The process's fingerprint key, made by the first fingerprint (not at import: `node:crypto` loads on first use). */
let fingerprintKey: Buffer | undefined;

function stable(value: unknown): string {
  if (value instanceof Secret) return stable(value.reveal());
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "undefined";
  if (Array.isArray(value)) return `[${value.map(stable).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stable(v)}`).join(",")}}`;
}

/**
 * A short fingerprint of a credential: an HMAC with a key made fresh in each process, so it identifies a value
 * within the process (to key a client cache) and reveals nothing about it. Object key order does not matter.
 */
export function credentialFingerprint(value: unknown): string {
  fingerprintKey ??= processSingleton("auth.fingerprint-key", () => randomBytes(32));
  return createHmac("sha256", fingerprintKey).update(stable(value)).digest("base64url").slice(0, 22);
}

/** The options of `createClientCache`. */
export interface ClientCacheOptions {
  /** The most clients kept; the least recently used goes first. Default 100. */
  max?: number;
}

/** Options for one cached client. */
export interface CacheEntryOptions<T> {
  /** When the client stops being usable (epoch ms), such as when the credentials behind it expire. */
  expiresAt?: number;
  /** Called when the client leaves the cache (evicted, expired or cleared), to close sockets. */
  dispose?: (client: T) => void;
}

/** Counts kept by a client cache, for tests and benchmarks. */
export interface ClientCacheStats {
  /** Clients made by a factory. */
  created: number;
  /** Requests answered from the cache. */
  hits: number;
  /** Clients held now. */
  size: number;
}

/** A bounded LRU of clients keyed by strings built from credential fingerprints, never values. */
export interface ClientCache {
  /** The client for `key`, made with `create` when there is none, or when the one there expired. */
  get<T>(key: string, create: () => T, options?: CacheEntryOptions<T>): T;
  /** Drops one client, or all. */
  clear(key?: string): void;
  /** Counts so far. */
  stats(): ClientCacheStats;
}

interface Entry {
  client: unknown;
  expiresAt: number;
  dispose: ((client: never) => void) | undefined;
}

/** Makes a client cache. Integrations share the process-wide `clientCache`; make your own for separate limits. */
export function createClientCache(options: ClientCacheOptions = {}): ClientCache {
  const max = options.max ?? 100;
  const entries = new Map<string, Entry>();
  let created = 0;
  let hits = 0;
  const drop = (key: string) => {
    const entry = entries.get(key);
    if (!entry) return;
    entries.delete(key);
    entry.dispose?.(entry.client as never);
  };
  return {
    get<T>(key: string, create: () => T, entryOptions: CacheEntryOptions<T> = {}): T {
      const entry = entries.get(key);
      if (entry && entry.expiresAt > Date.now()) {
        entries.delete(key);
        entries.set(key, entry);
        hits++;
        return entry.client as T;
      }
      if (entry) drop(key);
      const client = create();
      created++;
      entries.set(key, {
        client,
        expiresAt: entryOptions.expiresAt ?? Number.POSITIVE_INFINITY,
        dispose: entryOptions.dispose as Entry["dispose"],
      });
      while (entries.size > max) drop(entries.keys().next().value as string);
      return client;
    },
    clear(key?: string) {
      for (const k of key === undefined ? [...entries.keys()] : [key]) drop(k);
    },
    stats: () => ({ created, hits, size: entries.size }),
  };
}

/** The one process-wide client cache every integration uses. */
export const clientCache: ClientCache = processSingleton("auth.client-cache", () =>
  createClientCache({ max: 256 }),
);
