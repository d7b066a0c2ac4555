import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";

// Servers the tests start as processes (moto_server, redis-server) bind their port a moment after it was chosen. A
// port from below Linux's default ephemeral range (32768–60999) cannot be taken in that moment by an outgoing
// connection's source port or by another listen(0); what is left (another program binding the same port) is caught
// by `onFreePort`, which starts the server again on another port.
const LOWEST = 20_000;
const HIGHEST = 32_767;

function listenOn(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(undefined));
    server.listen(port, "127.0.0.1", () => {
      const address = server.address();
      const bound = typeof address === "object" && address ? address.port : undefined;
      server.close(() => resolve(bound));
    });
  });
}

/** A TCP port free on 127.0.0.1 right now, below the ephemeral range when one is free there. */
export async function freePort(): Promise<number> {
  for (let tries = 0; tries < 50; tries++) {
    const port = LOWEST + Math.floor(Math.random() * (HIGHEST - LOWEST + 1));
    if ((await listenOn(port)) === port) return port;
  }
  const port = await listenOn(0);
  if (port === undefined) throw new Error("no free TCP port on 127.0.0.1");
  return port;
}

/** Whether a server's error or output says its port was already taken (Node, moto_server and redis-server). */
export function isAddressInUse(message: string): boolean {
  return /address already in use|EADDRINUSE/i.test(message);
}

/**
 * Runs `start` with a free port; when the server it starts says that port is already in use (another program took
 * it after it was chosen), runs it again with another port, up to `attempts` times.
 */
export async function onFreePort<T>(start: (port: number) => Promise<T>, attempts = 4): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      return await start(port);
    } catch (error) {
      if (attempt >= attempts || !isAddressInUse((error as Error).message)) throw error;
    }
  }
}

/** Stops a server process: SIGTERM by its pid, then SIGKILL if it has not exited 3 s later. */
export function stopProcess(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return resolve();
    const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
    timer.unref();
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}

/** How to start a server process and tell when it is ready. */
export interface ServerProcess {
  command: string;
  args: (port: number) => string[];
  /** What to do when `command` is not on PATH (appended to the error). */
  install: string;
  /** Whether the server answers on `port` yet. */
  ready: (port: number) => Promise<boolean>;
  startTimeoutMs: number;
  pollMs: number;
}

/**
 * Starts the server on `port` and waits until it is ready. Throws when it is not installed, when it exits first
 * (with the end of its output, where a taken port shows), or when it does not answer within `startTimeoutMs`.
 */
export async function launchServer(server: ServerProcess, port: number): Promise<ChildProcess> {
  const { command } = server;
  const child = spawn(command, server.args(port), { stdio: ["ignore", "pipe", "pipe"] });
  let failed: Error | undefined;
  let output = "";
  const keep = (d: unknown) => {
    output = (output + String(d)).slice(-4000);
  };
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  child.once("error", (error) => {
    failed =
      (error as NodeJS.ErrnoException).code === "ENOENT"
        ? new Error(`${command} was not found on PATH. ${server.install}`)
        : error;
  });
  child.once("exit", (code) => {
    failed ??= new Error(`${command} exited with code ${code} before it was ready:\n${output}`);
  });
  const deadline = Date.now() + server.startTimeoutMs;
  for (;;) {
    if (failed) throw failed;
    if (await server.ready(port)) return child;
    if (Date.now() > deadline) {
      await stopProcess(child);
      throw new Error(`${command} did not answer on port ${port} within the start timeout:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, server.pollMs));
  }
}
