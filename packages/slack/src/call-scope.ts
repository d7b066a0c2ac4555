import { AsyncLocalStorage } from "node:async_hooks";
import type { LogLevel, Logger as SdkLogger } from "@slack/web-api";
import { mask, processSingleton } from "@tributary/auth";

/** The logger a Slack call reports to: the task's masking logger. */
export interface ScopeLog {
  warn(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
}

/** @internal What one Slack call carries through the cached SDK clients: its signal, logger and 429 state. */
export interface CallScope {
  readonly signal: AbortSignal | undefined;
  readonly log: ScopeLog | undefined;
  /** Set by `scopedFetch` when Slack answered 429. */
  rateLimited: boolean;
  /** The `Retry-After` Slack sent with the 429, in seconds, when it sent one. */
  retryAfter: number | undefined;
}

/** @internal One store per process, even with two copies of the package loaded. */
export const callScope = processSingleton("slack.call-scope", () => new AsyncLocalStorage<CallScope>());

/** Parses `Retry-After`: whole seconds, or an HTTP date. */
export function parseRetryAfter(header: string | null): number | undefined {
  if (header === null || header.trim() === "") return undefined;
  if (/^\s*\d+\s*$/.test(header)) return Number.parseInt(header, 10);
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

/**
 * @internal The `fetch` given to the cached SDK clients. Clients are shared between calls, so the call's abort
 * signal comes from the call scope, and a 429 and its `Retry-After` are noted there (the webhook SDK drops them).
 */
export async function scopedFetch(url: string | URL, init: RequestInit = {}): Promise<Response> {
  const scope = callScope.getStore();
  const signals = [init.signal, scope?.signal].filter((s): s is AbortSignal => s != null);
  const signal = signals.length > 1 ? AbortSignal.any(signals) : signals[0];
  const response = await fetch(url, { ...init, ...(signal ? { signal } : {}) });
  if (response.status === 429 && scope) {
    scope.rateLimited = true;
    scope.retryAfter = parseRetryAfter(response.headers.get("retry-after"));
  }
  return response;
}

const forward =
  (level: "warn" | "info") =>
  (...messages: unknown[]) => {
    const text = messages.map((m) => (typeof m === "string" ? m : String(m))).join(" ");
    callScope.getStore()?.log?.[level](mask(`Slack SDK: ${text}`));
  };

/** @internal The SDK's logger: its warnings and errors go to the calling task's logger, masked; the rest is dropped. */
export const sdkLogger: SdkLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: forward("warn"),
  error: forward("warn"),
  setLevel: () => undefined,
  // `LogLevel.WARN`, spelt out: a type-only import keeps @slack/web-api from loading before the first client.
  getLevel: () => "warn" as LogLevel,
  setName: () => undefined,
};
