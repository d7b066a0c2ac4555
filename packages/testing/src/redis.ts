import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launchServer, onFreePort, type ServerProcess, stopProcess } from "./server-process.js";

/** The options of `startRedis`. */
export interface RedisServerOptions {
  /** The command to run. Default `redis-server` from PATH (Debian's `redis-server` package). */
  command?: string;
  /** How long to wait for it to answer `PING` (ms). Default 15 000. */
  startTimeoutMs?: number;
  /**
   * Whether it keeps an append-only file, so `restart` keeps the data (default `true`). `false` writes nothing to
   * disk: for benchmarks, where the file's writes and rewrites would drown what is measured.
   */
  persist?: boolean;
}

/** A `redis-server` started for a test on a free port, with its data in a temporary folder. */
export interface RedisServer {
  /** Its URL, such as `redis://127.0.0.1:45123`. */
  readonly url: string;
  /** Its TCP port. */
  readonly port: number;
  /** The server process's id (changes after `restart`). */
  readonly pid: number;
  /** Stops the server (SIGTERM, by pid) and starts it again on the same port after `downMs`, with its data kept. */
  restart(downMs?: number): Promise<void>;
  /** Stops the server by its pid and removes its data folder. */
  close(): Promise<void>;
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once("error", () => done(false));
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.once("data", (data) => done(String(data).startsWith("+PONG")));
  });
}

/**
 * Starts Debian's `redis-server` on a free port of 127.0.0.1 (append-only file on unless `persist: false`, so a
 * restart keeps the data)
 * and waits until it answers `PING`. Stop it with `close()`; it is stopped by its pid, never by name.
 * Throws a clear error when `redis-server` is not installed.
 * @example
 * const redis = await startRedis();
 * const queue = new Queue("etl", { connection: { url: redis.url } });
 * await redis.close();
 */
export async function startRedis(options: RedisServerOptions = {}): Promise<RedisServer> {
  const command = options.command ?? "redis-server";
  const persist = options.persist === false ? "no" : "yes";
  const dir = mkdtempSync(join(tmpdir(), "tributary-redis-"));
  let port = 0;
  let child: ChildProcess;

  const server: ServerProcess = {
    command,
    args: (port) => [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--dir",
      dir,
      "--save",
      "",
      "--appendonly",
      persist,
    ],
    install: "Install it: apt-get install -y redis-server",
    ready: ping,
    startTimeoutMs: options.startTimeoutMs ?? 15_000,
    pollMs: 50,
  };
  const launch = async () => {
    child = await launchServer(server, port);
  };

  // The process running now (a restart starts another).
  const stop = () => stopProcess(child);

  // Started again on another port when the one chosen was taken before redis-server could bind it.
  await onFreePort((free) => {
    port = free;
    return launch();
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    get pid() {
      return child.pid ?? -1;
    },
    async restart(downMs = 0) {
      await stop();
      await new Promise((r) => setTimeout(r, downMs));
      await launch();
    },
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
