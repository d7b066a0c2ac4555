import type { Octokit } from "@octokit/rest";

/**
 * GitHub's guidance on rate limits, applied by one request hook (what `@octokit/plugin-throttling` and
 * `@octokit/plugin-retry` did, without a scheduler on the path of a read that has nothing to wait for):
 * - writes go one at a time per credential, each starting at least 1 s after the previous one was answered (3 s
 *   between content-creating writes: issues, comments, pull requests …), searches likewise 2 s apart; at most 100 requests in flight per credential (GitHub's documented ceiling);
 * - a primary limit (`x-ratelimit-remaining: 0`) is waited out until `x-ratelimit-reset` (plus a second), a
 *   `retry-after` (403 or 429) for that many seconds, a secondary limit without one for a minute — each wait only
 *   when `approve` allows it (the call's `maxRateLimitWaitMs` budget);
 * - 5xx answers and network errors are retried twice, after 1 s and 4 s.
 */
const WRITE_GAP_MS = 1000;
const NOTIFICATION_GAP_MS = 3000;
const SEARCH_GAP_MS = 2000;
const MAX_IN_FLIGHT = 100;
const SERVER_RETRIES = 2;
const SECONDARY_FALLBACK_SECONDS = 60;
/** Answers that a retry cannot change (429 is a rate limit: handled above, never retried blindly). */
const DO_NOT_RETRY = new Set([400, 401, 403, 404, 409, 410, 422, 429, 451]);

/** Write paths that notify people (GitHub asks for more room between them), as templates or literal paths. */
const NOTIFYING = new RegExp(
  `^(?:${[
    "/orgs/{}/invitations",
    "/orgs/{}/invitations/{}",
    "/orgs/{}/teams/{}/discussions",
    "/orgs/{}/teams/{}/discussions/{}/comments",
    "/repos/{}/{}/collaborators/{}",
    "/repos/{}/{}/commits/{}/comments",
    "/repos/{}/{}/issues",
    "/repos/{}/{}/issues/{}/comments",
    "/repos/{}/{}/issues/{}/sub_issue",
    "/repos/{}/{}/issues/{}/sub_issues/priority",
    "/repos/{}/{}/pulls",
    "/repos/{}/{}/pulls/{}/comments",
    "/repos/{}/{}/pulls/{}/comments/{}/replies",
    "/repos/{}/{}/pulls/{}/merge",
    "/repos/{}/{}/pulls/{}/requested_reviewers",
    "/repos/{}/{}/pulls/{}/reviews",
    "/repos/{}/{}/releases",
    "/teams/{}/discussions",
    "/teams/{}/discussions/{}/comments",
  ]
    .map((p) => p.replaceAll("{}", "[^/]+"))
    .join("|")})/?$`,
  "i",
);
/** Token exchanges: never spaced or held back (a held-back read may be waiting for one). */
const AUTH =
  /^(?:PATCH \/applications\/[^/]+\/token\/scoped|POST \/applications\/[^/]+\/token|POST \/app\/installations\/[^/]+\/access_tokens|POST \/login\/oauth\/access_token)$/;

/** Which kind of rate limit a wait is for, as the warning names it. */
export type RateLimitKind = "primary" | "secondary";
/** Says whether a call may wait `seconds` for a rate limit (and logs it); `false` lets the answer through. */
export type ApproveWait = (
  kind: RateLimitKind,
  seconds: number,
  options: { method: string; url: string; request: unknown },
) => boolean;

/** Requests that go one at a time, each `gapMs` after the previous one's answer. */
interface Lane {
  gapMs: number;
  /** Settles when the request holding the lane leaves it. */
  tail: Promise<void>;
  /** The earliest start of the next request (epoch ms). */
  free: number;
}

interface Lanes {
  write: Lane;
  notification: Lane;
  search: Lane;
  inFlight: number;
  queue: (() => void)[];
}

/** Per credential and endpoint: every client of one credential shares its spacing. */
const lanesByKey = new Map<string, Lanes>();

const lane = (gapMs: number): Lane => ({ gapMs, tail: Promise.resolve(), free: 0 });
const idle = (l: Lane, now: number) => l.free <= now;

function lanesFor(key: string): Lanes {
  let lanes = lanesByKey.get(key);
  if (!lanes) {
    if (lanesByKey.size >= 1000) {
      // Forget idle credentials: nothing in flight and no spacing left to honour.
      const now = Date.now();
      for (const [k, l] of lanesByKey) {
        if (l.inFlight === 0 && idle(l.write, now) && idle(l.notification, now) && idle(l.search, now))
          lanesByKey.delete(k);
      }
    }
    lanes = {
      write: lane(WRITE_GAP_MS),
      notification: lane(NOTIFICATION_GAP_MS),
      search: lane(SEARCH_GAP_MS),
      inFlight: 0,
      queue: [],
    };
    lanesByKey.set(key, lanes);
  }
  return lanes;
}

/** Waits for a lane (its previous request answered, then its gap); returns how to leave it once answered. */
async function enter(l: Lane, signal: AbortSignal | undefined): Promise<() => void> {
  const previous = l.tail;
  let open!: () => void;
  l.tail = new Promise((resolve) => {
    open = resolve;
  });
  const leave = () => {
    l.free = Math.max(l.free, Date.now() + l.gapMs);
    open();
  };
  try {
    await previous;
    await sleep(l.free - Date.now(), signal);
  } catch (error) {
    open();
    throw error;
  }
  return leave;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const done = () => {
      signal?.removeEventListener("abort", abort);
      resolve();
    };
    const timer = setTimeout(done, ms);
    const abort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", abort, { once: true });
  });
}

interface ErrorLike {
  status?: number;
  message?: string;
  request?: unknown;
  response?: { headers?: Record<string, string | number | undefined>; data?: unknown };
}

function hasRateLimitedError(data: unknown): boolean {
  const errors = (data as { errors?: unknown } | undefined)?.errors;
  return Array.isArray(errors) && errors.some((e) => (e as { type?: unknown })?.type === "RATE_LIMITED");
}

/** How long GitHub asks to wait before the same request, or `undefined` when the answer is no rate limit. */
export function rateLimitWait(
  error: ErrorLike,
  now = Date.now(),
): { kind: RateLimitKind; seconds: number } | undefined {
  const headers = error.response?.headers ?? {};
  const status = error.status;
  const limitedBody = hasRateLimitedError(error.response?.data);
  if (status !== 403 && status !== 429 && !limitedBody) return undefined;
  const primary = headers["x-ratelimit-remaining"] === "0" || limitedBody;
  const kind: RateLimitKind = primary ? "primary" : "secondary";
  const retryAfter = Number(headers["retry-after"]);
  if (headers["retry-after"] !== undefined && Number.isFinite(retryAfter) && retryAfter >= 0) {
    return { kind, seconds: Math.ceil(retryAfter) };
  }
  if (primary) {
    // A second past the reset, as GitHub's docs ask.
    const reset = Number(headers["x-ratelimit-reset"]) * 1000;
    return { kind, seconds: Number.isFinite(reset) ? Math.max(Math.ceil((reset - now) / 1000) + 1, 0) : 0 };
  }
  if (/\bsecondary rate\b/i.test(error.message ?? "")) {
    return { kind, seconds: SECONDARY_FALLBACK_SECONDS };
  }
  return undefined;
}

/** A 5xx answer or a network error (Octokit's `RequestError` without a response): worth the same request again. */
function isServerError(error: ErrorLike): boolean {
  return (
    error.request !== undefined &&
    typeof error.status === "number" &&
    error.status >= 400 &&
    !DO_NOT_RETRY.has(error.status)
  );
}

/** Leaves the lanes already entered, then rethrows. */
const leaveAll =
  (held: (() => void)[]) =>
  (error: unknown): never => {
    for (const leave of held) leave();
    throw error;
  };

type RequestOptions = { method: string; url: string; request: { signal?: AbortSignal } & object };
type Request = (options: RequestOptions) => Promise<{ data?: unknown; headers: Record<string, unknown> }>;

/**
 * @internal Installs GitHub's rate-limit guidance on a client as one `request` hook: see the top of this module.
 * `key` names the credential and endpoint whose requests share spacing.
 */
export function limitRequests(octokit: Octokit, key: string, approve: ApproveWait): void {
  const lanes = lanesFor(key);
  const release = () => {
    const next = lanes.queue.shift();
    if (next) next();
    else lanes.inFlight--;
  };
  const hook = async (request: Request, options: RequestOptions) => {
    const { method, url } = options;
    const signal = options.request?.signal;
    const path = url.startsWith("/") ? (url.split("?", 1)[0] ?? url) : new URL(url).pathname;
    const graphql = path.startsWith("/graphql");
    const auth = method !== "GET" && AUTH.test(`${method} ${path}`);
    const write = (method !== "GET" && method !== "HEAD" && !auth) || graphql;
    const search = method === "GET" && path.startsWith("/search/");
    for (let serverRetries = 0; ; ) {
      const held: (() => void)[] = [];
      if (write) {
        held.push(await enter(lanes.write, signal));
        if (!graphql && NOTIFYING.test(path))
          held.push(await enter(lanes.notification, signal).catch(leaveAll(held)));
      } else if (search) held.push(await enter(lanes.search, signal));
      // A GraphQL answer that is a failure in its body is handed back as it is when it is not retried.
      let failure: ErrorLike;
      let answer: unknown;
      if (!auth) {
        if (lanes.inFlight < MAX_IN_FLIGHT) lanes.inFlight++;
        else await new Promise<void>((resolve) => lanes.queue.push(resolve));
      }
      try {
        const response = await request(options);
        if (!graphql) return response;
        const data = response.data as { errors?: { message?: string }[] } | undefined;
        answer = response;
        if (hasRateLimitedError(data)) failure = { response: response as ErrorLike["response"] };
        else if (/Something went wrong while executing your query/.test(data?.errors?.[0]?.message ?? ""))
          failure = { status: 500, request: options };
        else return response;
      } catch (error) {
        failure = error as ErrorLike;
      } finally {
        if (!auth) release();
        for (const leave of held) leave();
      }
      const limit = rateLimitWait(failure);
      if (limit) {
        if (!approve(limit.kind, limit.seconds, options)) {
          if (answer !== undefined) return answer;
          throw failure;
        }
        await sleep(limit.seconds * 1000, signal);
        continue;
      }
      if (isServerError(failure) && serverRetries < SERVER_RETRIES) {
        serverRetries++;
        await sleep(serverRetries * serverRetries * 1000, signal);
        continue;
      }
      if (answer !== undefined) return answer;
      throw failure;
    }
  };
  octokit.hook.wrap(
    "request",
    (request, options) =>
      hook(request as unknown as Request, options as unknown as RequestOptions) as Promise<never>,
  );
}
