import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";

/** A request as a stand-in route sees it. */
export interface StandInRequest {
  /** The HTTP method, upper case. */
  readonly method: string;
  /** The full request URL. */
  readonly url: URL;
  /** The decoded path, without the query. */
  readonly path: string;
  /** Values captured by `:name` segments of the route path (or named groups of a RegExp). */
  readonly params: Readonly<Record<string, string>>;
  /** The request headers. */
  readonly headers: IncomingHttpHeaders;
  /** The raw request, to stream a large body instead of buffering it. */
  readonly raw: IncomingMessage;
  /** Reads the whole body (once; later calls return the same buffer). */
  body(): Promise<Buffer>;
  /** Reads the body as JSON (`undefined` when empty). */
  json<T = unknown>(): Promise<T>;
}

/** What a route answers. A handler may instead write to the `ServerResponse` itself and return nothing. */
export interface StandInReply {
  /** Default 200. */
  status?: number;
  /** Response headers. */
  headers?: Record<string, string | number | string[]>;
  /** A string, bytes, a stream, or an object sent as JSON. */
  body?: string | Buffer | Uint8Array | Readable | object;
}

/** A route handler. */
export type StandInHandler = (
  request: StandInRequest,
  response: ServerResponse,
) => StandInReply | undefined | Promise<StandInReply | undefined>;

/** One route of a stand-in. */
export interface StandInRoute {
  /** The method, or `"*"` for any. */
  method: string;
  /** A path with `:name` segments (`/repos/:owner/:repo`, a trailing `*` matches the rest), or a RegExp. */
  path: string | RegExp;
  /** Answers the request. */
  handler: StandInHandler;
}

/** Builds a route: `route("GET", "/b/:bucket/o", handler)`. */
export function route(method: string, path: string | RegExp, handler: StandInHandler): StandInRoute {
  return { method: method.toUpperCase(), path, handler };
}

/** A fault the stand-in applies to upcoming requests instead of (or while) answering them. */
export type StandInFault =
  | {
      kind: "status";
      status: number;
      headers?: Record<string, string>;
      body?: string | object;
      echo?: boolean;
    }
  | { kind: "reset"; afterBytes?: number }
  | { kind: "delay"; ms: number };

/** What a fault's matcher (and `faultBody`) sees of a request. */
export interface MatchedRequest {
  /** The method, upper case. */
  method: string;
  /** The path, percent-decoded. */
  path: string;
  /** The query's parameters, such as `{ partNumber: "3", uploadId: "…" }` for a part of an S3 multipart upload. */
  query: Readonly<Record<string, string>>;
  headers: IncomingHttpHeaders;
}

/** Which requests a fault applies to (all when omitted). */
export type RequestMatcher = (request: MatchedRequest) => boolean;

/** One request the stand-in received. */
export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly query: Readonly<Record<string, string>>;
  readonly headers: IncomingHttpHeaders;
  /** When it arrived (`Date.now()`): spacing and waits can be checked from the log itself. */
  readonly at: number;
  /** The status answered (0 when the connection was reset). */
  status: number;
  /** The fault applied, if any. */
  readonly fault?: StandInFault["kind"];
}

/** The options of `startStandIn`. */
export interface StandInOptions {
  /** A name used in error bodies and logs. */
  name?: string;
  /** What to answer when no route matches. Default: 404 with a JSON body. */
  notFound?: StandInHandler;
  /**
   * The body of an injected `failNext` status given without one, in the service's own error shape (so a client reads
   * the service's reason from it). Default, or when it returns `undefined`: `{ error: "<name>: injected <status>" }`.
   */
  faultBody?: (status: number, request: MatchedRequest) => string | object | undefined;
}

/** A running stand-in: a real HTTP server on 127.0.0.1 and a free port. */
export interface StandIn {
  /** The base URL, such as `http://127.0.0.1:41234` (no trailing slash). */
  readonly url: string;
  /** The port. */
  readonly port: number;
  /** Every request received, in order. */
  readonly requests: RecordedRequest[];
  /**
   * Answers the next `count` matching requests with `status` (and headers such as `Retry-After`). With `echo`,
   * the answer also repeats the request — method, URL, every header and the body — as careless services do in
   * their error bodies: see `echoRequestInto`.
   */
  failNext(
    count: number,
    status: number,
    options?: {
      headers?: Record<string, string>;
      body?: string | object;
      match?: RequestMatcher;
      echo?: boolean;
    },
  ): void;
  /** Resets the connection of the next `count` matching requests — at once, or after `afterBytes` of the response body. */
  resetNext(count: number, options?: { afterBytes?: number; match?: RequestMatcher }): void;
  /** Delays the next `count` matching requests by `ms` before answering. */
  delayNext(count: number, ms: number, options?: { match?: RequestMatcher }): void;
  /** Forgets pending faults and the request log. */
  reset(): void;
  /** Stops the server and drops open connections. */
  close(): Promise<void>;
}

interface PendingFault {
  fault: StandInFault;
  remaining: number;
  match: RequestMatcher | undefined;
}

function compile(path: string | RegExp): (p: string) => Record<string, string> | undefined {
  if (path instanceof RegExp) {
    return (p) => {
      const m = path.exec(p);
      return m ? { ...(m.groups ?? {}) } : undefined;
    };
  }
  const names: string[] = [];
  const source = path
    .split("/")
    .map((segment) => {
      if (segment === "*") {
        names.push("rest");
        return "(.*)";
      }
      if (segment.startsWith(":")) {
        names.push(segment.slice(1));
        return "([^/]+)";
      }
      return segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    })
    .join("/");
  const re = new RegExp(`^${source}$`);
  return (p) => {
    const m = re.exec(p);
    if (!m) return undefined;
    return Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(m[i + 1] ?? "")]));
  };
}

function send(res: ServerResponse, reply: StandInReply): Promise<void> | void {
  const headers: Record<string, string | number | string[]> = { ...(reply.headers ?? {}) };
  const body = reply.body;
  if (body instanceof Readable) {
    res.writeHead(reply.status ?? 200, headers);
    return pipeline(body, res).catch(() => undefined);
  }
  let payload: Buffer | undefined;
  if (typeof body === "string") payload = Buffer.from(body);
  else if (body instanceof Uint8Array) payload = Buffer.from(body);
  else if (body !== undefined) {
    payload = Buffer.from(JSON.stringify(body));
    if (!Object.keys(headers).some((h) => h.toLowerCase() === "content-type")) {
      headers["content-type"] = "application/json; charset=utf-8";
    }
  }
  if (payload) headers["content-length"] = payload.length;
  res.writeHead(reply.status ?? 200, headers);
  res.end(payload);
}

function resetAfter(res: ServerResponse, afterBytes: number): void {
  let sent = 0;
  const write = res.write.bind(res) as (chunk: unknown, ...rest: unknown[]) => boolean;
  const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
  const cut = (chunk: unknown): boolean => {
    if (chunk === undefined || chunk === null || typeof chunk === "function") return false;
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
    if (sent + buf.length < afterBytes) {
      sent += buf.length;
      write(buf);
      return false;
    }
    write(buf.subarray(0, Math.max(0, afterBytes - sent)));
    sent = afterBytes;
    // Let the partial bytes leave before the reset.
    setImmediate(() => res.socket?.resetAndDestroy());
    return true;
  };
  res.write = ((chunk: unknown) => {
    cut(chunk);
    return true;
  }) as typeof res.write;
  res.end = ((chunk?: unknown) => {
    if (!cut(chunk) && sent < afterBytes) setImmediate(() => res.socket?.resetAndDestroy());
    return res;
  }) as typeof res.end;
  void end;
}

/** A request as an echoing error body repeats it. */
export interface RequestEcho {
  /** The request's method. */
  method: string;
  /** The path and query, as received. */
  url: string;
  /** Every header, as received. */
  headers: IncomingHttpHeaders;
  /** The body, as UTF-8 text. */
  body: string;
}

const ECHO_MARK = "{{echo}}";

/**
 * Puts `echo` into an error body the way services that echo requests do. A text body (XML, plain text) gets the
 * echo as JSON in place of `{{echo}}` (XML-escaped), or at its end. An object body gets an `echo` field, and the
 * echo appended to its `message` and `error.message` texts, where SDKs take their error messages from.
 */
export function echoRequestInto(body: string | object, echo: RequestEcho): string | object {
  const json = JSON.stringify(echo);
  if (typeof body === "string") {
    const text = json.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
    return body.includes(ECHO_MARK) ? body.replace(ECHO_MARK, text) : `${body} ${text}`;
  }
  const out: Record<string, unknown> = { ...(body as Record<string, unknown>), echo };
  if (typeof out.message === "string") out.message = `${out.message} (request: ${json})`;
  const error = out.error;
  if (error && typeof error === "object" && typeof (error as { message?: unknown }).message === "string") {
    out.error = { ...error, message: `${(error as { message: string }).message} (request: ${json})` };
  }
  return out;
}

/**
 * Starts a stand-in: a real HTTP server on 127.0.0.1 and a free port that answers `routes`, records every
 * request, and injects faults (statuses with headers such as `Retry-After`, connection resets, delays).
 * @example
 * const api = await startStandIn([route("GET", "/ping", () => ({ body: { ok: true } }))]);
 * api.failNext(1, 503, { headers: { "Retry-After": "1" } });
 * await fetch(`${api.url}/ping`); // 503
 * await api.close();
 */
export async function startStandIn(
  routes: readonly StandInRoute[],
  options: StandInOptions = {},
): Promise<StandIn> {
  const compiled = routes.map((r) => ({ ...r, match: compile(r.path) }));
  const requests: RecordedRequest[] = [];
  let faults: PendingFault[] = [];
  const name = options.name ?? "stand-in";

  const takeFault = (req: MatchedRequest) => {
    const pending = faults.find((f) => f.remaining > 0 && (!f.match || f.match(req)));
    if (!pending) return undefined;
    pending.remaining--;
    faults = faults.filter((f) => f.remaining > 0);
    return pending.fault;
  };

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const method = (req.method ?? "GET").toUpperCase();
    let path: string;
    try {
      path = decodeURIComponent(url.pathname);
    } catch {
      path = url.pathname;
    }
    const query = Object.fromEntries(url.searchParams);
    const info: MatchedRequest = { method, path, query, headers: req.headers };
    const fault = takeFault(info);
    const record: RecordedRequest = {
      method,
      path,
      query,
      headers: req.headers,
      at: Date.now(),
      status: 0,
      ...(fault ? { fault: fault.kind } : {}),
    };
    requests.push(record);
    res.on("finish", () => {
      record.status = res.statusCode;
    });
    try {
      if (fault?.kind === "delay") await new Promise((r) => setTimeout(r, fault.ms));
      if (fault?.kind === "reset" && fault.afterBytes === undefined) {
        req.socket.resetAndDestroy();
        return;
      }
      if (fault?.kind === "status") {
        const body = fault.body ??
          options.faultBody?.(fault.status, info) ?? { error: `${name}: injected ${fault.status}` };
        let echo: RequestEcho | undefined;
        if (fault.echo) {
          const chunks: Buffer[] = [];
          for await (const chunk of req) chunks.push(chunk as Buffer);
          echo = {
            method,
            url: req.url ?? "/",
            headers: req.headers,
            body: Buffer.concat(chunks).toString("utf8"),
          };
        } else req.resume();
        await send(res, {
          status: fault.status,
          headers: fault.headers,
          body: echo ? echoRequestInto(body, echo) : body,
        });
        return;
      }
      if (fault?.kind === "reset") resetAfter(res, fault.afterBytes ?? 0);
      let bodyPromise: Promise<Buffer> | undefined;
      const body = () => {
        bodyPromise ??= (async () => {
          const chunks: Buffer[] = [];
          for await (const chunk of req) chunks.push(chunk as Buffer);
          return Buffer.concat(chunks);
        })();
        return bodyPromise;
      };
      for (const r of compiled) {
        if (r.method !== "*" && r.method !== method) continue;
        const params = r.match(path);
        if (!params) continue;
        const request: StandInRequest = {
          method,
          url,
          path,
          params,
          headers: req.headers,
          raw: req,
          body,
          json: async <T>() => {
            const b = await body();
            return (b.length ? JSON.parse(b.toString("utf8")) : undefined) as T;
          },
        };
        const reply = await r.handler(request, res);
        if (reply) await send(res, reply);
        else if (!res.headersSent && !res.writableEnded) await send(res, { status: 204 });
        return;
      }
      req.resume();
      const notFound = options.notFound
        ? await options.notFound(
            {
              method,
              url,
              path,
              params: {},
              headers: req.headers,
              raw: req,
              body,
              json: async () => undefined as never,
            },
            res,
          )
        : { status: 404, body: { error: `${name}: no route for ${method} ${path}` } };
      if (notFound) await send(res, notFound);
    } catch (error) {
      if (!res.headersSent) {
        await send(res, { status: 500, body: { error: `${name}: ${(error as Error).message}` } });
      } else res.destroy();
    }
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const add = (fault: StandInFault, count: number, match: RequestMatcher | undefined) => {
    if (!Number.isInteger(count) || count < 1) throw new RangeError("count must be a positive whole number");
    faults.push({ fault, remaining: count, match });
  };
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    failNext: (count, status, o = {}) =>
      add(
        {
          kind: "status",
          status,
          ...(o.headers ? { headers: o.headers } : {}),
          ...(o.body !== undefined ? { body: o.body } : {}),
          ...(o.echo ? { echo: true } : {}),
        },
        count,
        o.match,
      ),
    resetNext: (count, o = {}) =>
      add(
        { kind: "reset", ...(o.afterBytes !== undefined ? { afterBytes: o.afterBytes } : {}) },
        count,
        o.match,
      ),
    delayNext: (count, ms, o = {}) => add({ kind: "delay", ms }, count, o.match),
    reset: () => {
      faults = [];
      requests.length = 0;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
