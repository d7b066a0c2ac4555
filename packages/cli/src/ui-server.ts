import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import {
  listAgents,
  openRunQueue,
  type QueuedRunState,
  RUN_STATES,
  type RunEvent,
  type RunQueue,
} from "@tributary/agent";
import { mask, maskValue, TributaryError, ValidationError } from "@tributary/auth";
import { type Context, Hono } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import { streamSSE } from "hono/streaming";
import { CliOutput } from "./cli-io.js";
import { neededSecrets } from "./run-on-queue.js";
import { UI_CSS, UI_JS } from "./ui-assets.js";
import {
  agentsPage,
  loginPage,
  messagePage,
  type PageFrame,
  type RunsQuery,
  runPage,
  runsPage,
  schedulesPage,
  type UiRun,
} from "./ui-pages.js";

/** The options of `startUi`. */
export interface UiOptions {
  /** The queues the dashboard shows (one or more). */
  queues: readonly string[];
  /** The Redis URL; default `TRIBUTARY_REDIS_URL`. */
  redis?: string;
  /** The address to bind (default `127.0.0.1`). */
  host?: string;
  /** The port (default 4600; 0 picks a free one). */
  port?: number;
  /** The token every request must carry (bearer header or login cookie); required for a non-loopback `host`. */
  token?: string;
  /** Serve the actions (queue a run, retry a failed run, pause or resume a schedule). */
  allowActions?: boolean;
}

/** A running dashboard. */
export interface UiServer {
  /** Its base URL, such as `http://127.0.0.1:4600`. */
  readonly url: string;
  /** Stops serving and closes its Redis connections. */
  close(): Promise<void>;
}

/** The cookie the login form sets. */
const SESSION_COOKIE = "tributary_ui";
/** How many runs the runs page shows at most unless `limit` says otherwise. */
const PAGE_SIZE = 50;

const LOOPBACK = new Set(["127.0.0.1", "::1", "localhost"]);

/** True when `host` only accepts connections from this machine. */
export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Compares two texts in constant time (hashed first, so a wrong length tells nothing either). */
function sameSecret(given: string, expected: string): boolean {
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}

const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join("; ");

/** Builds the dashboard's Hono app over open run queues. */
export function createUiApp(
  options: UiOptions,
  queues: ReadonlyMap<string, RunQueue>,
  events: { subscribe(listener: (event: RunEvent) => void): () => void },
): Hono {
  const token = options.token;
  const session = token ? createHmac("sha256", token).update("tributary-ui-session").digest("base64url") : "";
  const csrf = options.allowActions ? randomBytes(32).toString("base64url") : undefined;
  const names = [...queues.keys()];
  const frame = (title: string, tab: PageFrame["tab"]): PageFrame => ({
    title,
    tab,
    queues: names,
    ...(csrf ? { csrf } : {}),
  });
  type Status = 200 | 400 | 401 | 404 | 500;
  // Every body leaves through these two: masked with this process's values (the token among them). Records come
  // masked from the agents; params are masked here again, by field name too.
  const html = (c: Context, body: string, status: Status = 200) => c.html(mask(body), status);
  const json = (c: Context, value: unknown, status: Status = 200) =>
    c.body(mask(JSON.stringify(value)), status, {
      "content-type": "application/json; charset=utf-8",
    });

  const authorized = (c: Context): boolean => {
    if (!token) return true;
    const header = c.req.header("authorization");
    if (header?.startsWith("Bearer ")) return sameSecret(header.slice(7), token);
    const cookie = getCookie(c, SESSION_COOKIE);
    return cookie !== undefined && sameSecret(cookie, session);
  };

  const app = new Hono();
  app.onError((error, c) => {
    const message = error instanceof Error ? error.message : String(error);
    const status = ValidationError.isInstance(error) ? 400 : 500;
    if (c.req.path.startsWith("/api/"))
      return json(
        c,
        { error: { code: TributaryError.isInstance(error) ? error.code : "UNEXPECTED", message } },
        status,
      );
    return html(
      c,
      messagePage(frame("Error", "runs"), status === 400 ? "Not accepted" : "Error", message),
      status,
    );
  });
  app.use("*", async (c, next) => {
    const started = performance.now();
    await next();
    // How long the server took, for browsers' dev tools and for bench/ui.bench.ts.
    c.header("server-timing", `app;dur=${(performance.now() - started).toFixed(1)}`);
    c.header("content-security-policy", CSP);
    c.header("x-content-type-options", "nosniff");
    c.header("referrer-policy", "no-referrer");
    c.header("x-frame-options", "DENY");
    c.header("cache-control", "no-store");
  });

  if (isLoopback(options.host ?? "127.0.0.1")) {
    // A page elsewhere could point its own name at 127.0.0.1 (DNS rebinding) and read a local dashboard as its
    // own origin: a loopback bind answers only requests addressed to a loopback name.
    app.use("*", async (c, next) => {
      const hostname = (c.req.header("host") ?? "").replace(/:\d+$/, "").replace(/^\[(.*)\]$/, "$1");
      if (isLoopback(hostname)) return next();
      return c.text("This dashboard answers only on 127.0.0.1 and localhost.", 421);
    });
  }

  app.get("/assets/ui.css", (c) => c.body(UI_CSS, 200, { "content-type": "text/css; charset=utf-8" }));
  app.get("/assets/ui.js", (c) => c.body(UI_JS, 200, { "content-type": "text/javascript; charset=utf-8" }));
  app.get("/favicon.ico", (c) => c.body(null, 204));
  app.get("/login", (c) =>
    token ? html(c, loginPage(frame("Sign in", "login"), false)) : c.redirect("/", 303),
  );
  app.post("/login", async (c) => {
    if (!token) return c.redirect("/", 303);
    const form = await c.req.parseBody();
    const given = typeof form.token === "string" ? form.token : "";
    if (!sameSecret(given, token)) return html(c, loginPage(frame("Sign in", "login"), true), 401);
    setCookie(c, SESSION_COOKIE, session, {
      httpOnly: true,
      sameSite: "Strict",
      path: "/",
      secure: new URL(c.req.url).protocol === "https:",
    });
    return c.redirect("/", 303);
  });

  app.use("*", async (c, next) => {
    if (authorized(c)) return next();
    c.header("www-authenticate", 'Bearer realm="tributary"');
    if (c.req.path.startsWith("/api/") || c.req.path === "/events") {
      return json(
        c,
        { error: { code: "UNAUTHORIZED", message: "send the dashboard's token as a bearer header" } },
        401,
      );
    }
    return html(c, loginPage(frame("Sign in", "login"), false), 401);
  });

  const queueOf = (name: string | undefined): RunQueue | undefined =>
    name === undefined ? undefined : queues.get(name);

  const readRuns = async (query: RunsQuery & { limit?: string }): Promise<UiRun[]> => {
    const limit = query.limit === undefined ? PAGE_SIZE : Number(query.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
      throw new ValidationError("limit", "must be a whole number from 1 to 1000");
    }
    const states = (query.state ?? "").split(",").filter((s) => s !== "") as QueuedRunState[];
    const wrong = states.find((s) => !RUN_STATES.includes(s));
    if (wrong !== undefined) throw new ValidationError("state", `must be one of ${RUN_STATES.join(", ")}`);
    if (query.queue && !queues.has(query.queue)) {
      throw new ValidationError("queue", `this dashboard shows the queues ${names.join(", ")}`);
    }
    const filter = {
      limit,
      ...(states.length > 0 ? { states } : {}),
      ...(query.flow ? { flow: query.flow } : {}),
      ...(query.since ? { since: query.since } : {}),
    };
    const chosen = query.queue ? [query.queue] : names;
    const lists = await Promise.all(
      chosen.map(async (name) =>
        (await (queues.get(name) as RunQueue).runs.list(filter)).map((r) => ({ ...r, queue: name })),
      ),
    );
    const when = (r: UiRun) => r.startedAt ?? r.enqueuedAt;
    return lists
      .flat()
      .sort((a, b) => when(b).localeCompare(when(a)))
      .slice(0, limit);
  };

  const findRun = async (runId: string, queueName?: string) => {
    const candidates = queueName === undefined ? names : queues.has(queueName) ? [queueName] : [];
    for (const name of candidates) {
      const run = await (queues.get(name) as RunQueue).runs.get(runId, { logs: true });
      if (run) return { queue: name, run: { ...run, params: maskValue(run.params) } };
    }
    return undefined;
  };

  const listSchedules = async () =>
    (
      await Promise.all(
        names.map(async (name) =>
          (
            await (queues.get(name) as RunQueue).schedules.list()
          ).map((s) => ({
            ...s,
            params: maskValue(s.params),
            queue: name,
          })),
        ),
      )
    ).flat();

  const listLiveAgents = async () =>
    (
      await Promise.all(
        names.map((queue) => listAgents({ queue, ...(options.redis ? { redis: options.redis } : {}) })),
      )
    ).flat();

  // Pages.
  app.get("/", async (c) => {
    const query: RunsQuery = {
      queue: c.req.query("queue") || undefined,
      flow: c.req.query("flow") || undefined,
      state: c.req.query("state") || undefined,
      since: c.req.query("since") || undefined,
    };
    try {
      return html(
        c,
        runsPage(
          frame("Runs", "runs"),
          await readRuns({ ...query, limit: c.req.query("limit") }),
          query,
          RUN_STATES,
        ),
      );
    } catch (error) {
      if (!ValidationError.isInstance(error)) throw error;
      return html(c, runsPage(frame("Runs", "runs"), [], query, RUN_STATES, error.message), 400);
    }
  });
  app.get("/runs/:queue/:id", async (c) => {
    const found = await findRun(c.req.param("id"), c.req.param("queue"));
    if (!found) {
      return html(
        c,
        messagePage(
          frame("No such run", "runs"),
          "No such run",
          `No run ${c.req.param("id")} on queue ${c.req.param("queue")}.`,
        ),
        404,
      );
    }
    return html(c, runPage(frame(`Run ${found.run.runId}`, "runs"), found.queue, found.run));
  });
  app.get("/schedules", async (c) =>
    html(c, schedulesPage(frame("Schedules", "schedules"), await listSchedules())),
  );
  app.get("/agents", async (c) => html(c, agentsPage(frame("Agents", "agents"), await listLiveAgents())));

  // The JSON API behind the pages.
  app.get("/api/runs", async (c) => {
    const q = c.req.query();
    return json(c, { runs: await readRuns(q) });
  });
  app.get("/api/runs/:id", async (c) => {
    const found = await findRun(c.req.param("id"), c.req.query("queue") || undefined);
    if (!found) return json(c, { error: { code: "NOT_FOUND", message: `no run ${c.req.param("id")}` } }, 404);
    return json(c, { queue: found.queue, ...found.run });
  });
  app.get("/api/schedules", async (c) => json(c, { schedules: await listSchedules() }));
  app.get("/api/agents", async (c) => json(c, { agents: await listLiveAgents() }));

  // Live: each run that is queued, starts or ends on one of the queues, as a server-sent event `run`.
  app.get("/events", (c) =>
    streamSSE(c, async (stream) => {
      const stop = events.subscribe((event) => {
        stream.writeSSE({ event: "run", data: mask(JSON.stringify(event)) }).catch(() => {});
      });
      stream.onAbort(stop);
      while (!stream.aborted && !stream.closed) {
        await stream.writeSSE({ event: "ping", data: "" });
        await stream.sleep(15_000);
      }
      stop();
    }),
  );

  if (csrf) {
    // Actions: each a POST carrying the page's CSRF token.
    const checked = async (c: Context): Promise<Record<string, string> | undefined> => {
      const form = await c.req.parseBody();
      const given = typeof form.csrf === "string" ? form.csrf : (c.req.header("x-csrf-token") ?? "");
      if (!sameSecret(given, csrf)) return undefined;
      return Object.fromEntries(
        Object.entries(form).filter((e): e is [string, string] => typeof e[1] === "string"),
      );
    };
    const refused = (c: Context) =>
      html(
        c,
        messagePage(
          frame("Refused", "runs"),
          "Refused",
          "This form is stale or did not come from this dashboard: reload the page and try again.",
        ),
        400,
      );
    const goTo = (c: Context, queue: string, runId: string) =>
      c.redirect(`/runs/${encodeURIComponent(queue)}/${encodeURIComponent(runId)}`, 303);

    app.post("/actions/run", async (c) => {
      const form = await checked(c);
      if (!form) return refused(c);
      const queue = queueOf(form.queue);
      if (!queue) throw new ValidationError("queue", `this dashboard shows the queues ${names.join(", ")}`);
      let params: unknown;
      if (form.params?.trim()) {
        try {
          params = JSON.parse(form.params);
        } catch {
          throw new ValidationError("params", 'must be JSON, such as {"day":"2026-12-01"}');
        }
      }
      const address = form.address ?? "";
      // The secret names the run needs, from its manifest, as `run --queue` reads them; notes go to the server's stderr.
      const secrets = await neededSecrets(address, {
        output: new CliOutput(process.stdout, process.stderr),
        stdin: () => process.stdin,
      });
      const { runId } = await queue.enqueue({ address, params, secrets });
      return goTo(c, queue.queue, runId);
    });
    app.post("/runs/:queue/:id/retry", async (c) => {
      if (!(await checked(c))) return refused(c);
      const queue = queueOf(c.req.param("queue"));
      const run = queue ? await queue.runs.get(c.req.param("id")) : undefined;
      if (!queue || !run) throw new ValidationError("runId", `no run ${c.req.param("id")} on that queue`);
      if (run.state !== "failed")
        throw new ValidationError("runId", `run ${run.runId} has not failed: it is ${run.state}`);
      const base = run.runId.replace(/\.retry-[a-z0-9]+$/, "").slice(0, 100);
      const { runId } = await queue.enqueue({
        address: run.address,
        params: run.params,
        secrets: run.secrets,
        runId: `${base}.retry-${Date.now().toString(36)}`,
      });
      return goTo(c, queue.queue, runId);
    });
    for (const verb of ["pause", "resume"] as const) {
      app.post(`/schedules/:queue/:name/${verb}`, async (c) => {
        if (!(await checked(c))) return refused(c);
        const queue = queueOf(c.req.param("queue"));
        if (!queue) throw new ValidationError("queue", `this dashboard shows the queues ${names.join(", ")}`);
        await queue.schedules[verb](c.req.param("name"));
        return c.redirect("/schedules", 303);
      });
    }
  }

  app.notFound((c) =>
    c.req.path.startsWith("/api/")
      ? json(c, { error: { code: "NOT_FOUND", message: "no such API route" } }, 404)
      : html(c, messagePage(frame("Not found", "runs"), "Not found", "There is no such page."), 404),
  );
  return app;
}

/**
 * Starts the dashboard: opens the queues, follows their run events, serves the pages and the JSON API.
 * Refuses a non-loopback `host` without a `token`.
 * @example
 * const ui = await startUi({ queues: ["nightly"], port: 0 });
 * console.log(ui.url);
 * await ui.close();
 */
export async function startUi(options: UiOptions): Promise<UiServer> {
  const host = options.host ?? "127.0.0.1";
  if (!isLoopback(host) && !options.token) {
    throw new ValidationError(
      "--host",
      `binding ${host} lets other machines in: give a token with --token-secret NAME or TRIBUTARY_UI_TOKEN`,
    );
  }
  if (options.queues.length === 0) throw new ValidationError("--queue", "name at least one queue");
  const queues = new Map<string, RunQueue>();
  for (const name of options.queues) {
    queues.set(name, openRunQueue({ queue: name, ...(options.redis ? { redis: options.redis } : {}) }));
  }
  const listeners = new Set<(event: RunEvent) => void>();
  const stops: (() => Promise<void>)[] = [];
  const closeQueues = () => Promise.all([...queues.values()].map((q) => q.close()));
  try {
    for (const queue of queues.values()) {
      stops.push(
        await queue.watch((event) => {
          for (const listener of listeners) listener(event);
        }),
      );
    }
  } catch (error) {
    await closeQueues();
    throw error;
  }
  const app = createUiApp(options, queues, {
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  });
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: app.fetch, hostname: host, port: options.port ?? 4600 }, () => resolve(s));
    s.once("error", reject);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    async close() {
      listeners.clear();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
      });
      await Promise.all(stops.map((stop) => stop()));
      await closeQueues();
    },
  };
}
