import { mask, registerSecretValue, TributaryError, ValidationError } from "@tributary/auth";
import { Redis } from "ioredis";

/** The environment variable that names the Redis of the queues when `--redis` / `redis` is not given. */
export const REDIS_URL_ENV = "TRIBUTARY_REDIS_URL";

/**
 * The Redis URL to use: the one given, else `TRIBUTARY_REDIS_URL`. Its password (and user name) is registered
 * with the masker, so no log line or error prints it. Throws `ValidationError` when neither is set or the URL is
 * not a `redis:` / `rediss:` URL; the message never repeats the URL.
 * @example
 * const url = redisUrl(options.redis); // "redis://:pw@queue.internal:6379" → masked wherever printed
 */
export function redisUrl(given?: string): string {
  const from = given !== undefined ? "redis" : REDIS_URL_ENV;
  const url = given ?? process.env[REDIS_URL_ENV];
  if (url === undefined || url === "") {
    throw new ValidationError(
      "redis",
      `no Redis URL: pass --redis redis://host:6379 (option \`redis\`) or set ${REDIS_URL_ENV}`,
    );
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ValidationError(from, "is not a URL; expected redis://[user:password@]host:port[/db]");
  }
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") {
    throw new ValidationError(from, `must start with redis:// or rediss://, not ${parsed.protocol}//`);
  }
  if (parsed.password) {
    registerSecretValue(decodeURIComponent(parsed.password));
    registerSecretValue(parsed.password);
  }
  return url;
}

/** The URL as it may be printed: user name and password replaced by `[redacted]`. */
export function describeRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    const auth = parsed.username || parsed.password ? "[redacted]@" : "";
    return `${parsed.protocol}//${auth}${parsed.host}${parsed.pathname === "/" ? "" : parsed.pathname}`;
  } catch {
    return "[redacted]";
  }
}

/** Thrown when Redis cannot be reached or refuses the connection; names the URL without its password. */
export class RedisUnreachableError extends TributaryError {
  static override readonly errorName: string = "RedisUnreachableError";
  constructor(url: string, reason: string) {
    super(
      "REDIS_UNREACHABLE",
      `Could not reach Redis at ${describeRedisUrl(url)}: ${mask(reason)}. Check --redis or ${REDIS_URL_ENV}.`,
      { retryable: true },
    );
  }
}

/**
 * Connects once to `url` and pings it, failing within `timeoutMs` with `RedisUnreachableError`: a Redis that takes
 * the connection but does not answer (stopped, or overloaded) too.
 */
export async function checkRedis(url: string, timeoutMs = 5000): Promise<void> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  let last = "";
  client.on("error", (error: Error & { code?: string }) => {
    last = error.code ?? error.message;
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.connect().then(() => client.ping()),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } catch (error) {
    throw new RedisUnreachableError(url, last || (error as Error).message);
  } finally {
    clearTimeout(timer);
    client.disconnect();
  }
}
