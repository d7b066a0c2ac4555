// Test-only helpers: agents in their own processes, and a dump of everything a Redis holds.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type RedisServer, startRedis } from "@tributary/testing";
import { Redis } from "ioredis";
import { afterAll, beforeAll } from "vitest";
import type { AgentOptions } from "../src/agent.js";
import { openRunQueue, type RunQueue } from "../src/index.js";

/** An agent process started by a test. */
export interface TestAgent {
  readonly child: ChildProcess;
  /** The agent's name. */
  readonly id: string;
  /** Resolves to the exit code (or the signal) when the process ends. */
  readonly exited: Promise<number | NodeJS.Signals>;
}

const script = fileURLToPath(new URL("./agent-process.ts", import.meta.url));

/** Starts `test-agent-process.ts` with the given agent options and extra environment; resolves once it is ready. */
export async function startTestAgent(
  config: Omit<AgentOptions, "childCommand" | "runInProcess" | "log"> & {
    secretsDir?: string;
    endOnItsOwn?: boolean;
  },
  env: Record<string, string> = {},
): Promise<TestAgent> {
  const child = spawn(process.execPath, ["--import", "tsx", script], {
    env: { ...process.env, ...env, TRIBUTARY_TEST_AGENT: JSON.stringify(config) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let errors = "";
  child.stderr?.on("data", (d) => {
    errors = (errors + String(d)).slice(-4000);
  });
  const exited = new Promise<number | NodeJS.Signals>((resolve) =>
    child.once("exit", (code, signal) => resolve(signal ?? code ?? -1)),
  );
  const id = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (d) => {
      out += String(d);
      const match = /^ready (\S+)$/m.exec(out);
      if (match) resolve(match[1] as string);
    });
    exited.then((code) =>
      reject(new Error(`the test agent exited (${code}) before it was ready:\n${errors}`)),
    );
  });
  return { child, id, exited };
}

/** Every key of a Redis and every value it holds, whatever its type, as one text. */
export async function dumpRedis(url: string): Promise<string> {
  const redis = new Redis(url);
  const parts: string[] = [];
  try {
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "COUNT", 500);
      cursor = next;
      for (const key of keys) {
        const type = await redis.type(key);
        let value: unknown;
        if (type === "string") value = await redis.get(key);
        else if (type === "hash") value = await redis.hgetall(key);
        else if (type === "list") value = await redis.lrange(key, 0, -1);
        else if (type === "set") value = await redis.smembers(key);
        else if (type === "zset") value = await redis.zrange(key, "0", "-1", "WITHSCORES");
        else if (type === "stream") value = await redis.xrange(key, "-", "+");
        else value = `<${type}>`;
        parts.push(`${key} ${JSON.stringify(value)}`);
      }
    } while (cursor !== "0");
  } finally {
    redis.disconnect();
  }
  return parts.join("\n");
}

/** Resolves once `check` returns true, polling every 25 ms; rejects after `timeoutMs`. */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A real redis-server and a temporary folder for one test file, with the agents and queues its tests open. */
export interface AgentsOnRedis {
  /** The redis-server's URL (after `beforeAll`). */
  readonly redisUrl: string;
  /** The temporary folder, removed after the file's tests. */
  readonly dir: string;
  /** Starts an agent process on the file's Redis, with short stall and heartbeat settings; killed after the tests. */
  agent(config: Parameters<typeof startTestAgent>[0]): Promise<TestAgent>;
  /** Opens a run queue on the file's Redis; closed after the tests. */
  queue(name: string): RunQueue;
}

/** Starts Redis and a temporary folder before a file's tests, and stops every agent, queue and server after them. */
export function useAgentsOnRedis(dirPrefix: string): AgentsOnRedis {
  let redis: RedisServer | undefined;
  let dir = "";
  const agents: TestAgent[] = [];
  const queues: RunQueue[] = [];
  const url = () => {
    if (!redis) throw new Error("useAgentsOnRedis: Redis is started in beforeAll");
    return redis.url;
  };
  beforeAll(async () => {
    redis = await startRedis();
    dir = mkdtempSync(join(tmpdir(), dirPrefix));
  });
  afterAll(async () => {
    for (const started of agents) if (started.child.exitCode === null) started.child.kill("SIGKILL");
    for (const q of queues) await q.close();
    await redis?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  return {
    get redisUrl() {
      return url();
    },
    get dir() {
      return dir;
    },
    async agent(config) {
      const started = await startTestAgent({
        redis: url(),
        stallTimeoutMs: 3000,
        heartbeatMs: 500,
        ...config,
      });
      agents.push(started);
      return started;
    },
    queue(name) {
      const opened = openRunQueue({ queue: name, redis: url() });
      queues.push(opened);
      return opened;
    },
  };
}

/** Two ways Redis goes out of reach: its process gone (connections refused), or stopped (connections open, no answer). */
export const REDIS_OUT_OF_REACH: readonly [string, (server: RedisServer) => unknown][] = [
  ["gone", (server) => server.close()],
  ["not answering", (server) => process.kill(server.pid, "SIGSTOP")],
];

/** Runs `body` with a redis-server of its own, then stops the server however `body` left it (stopped or gone). */
export async function withOwnRedis<T>(body: (server: RedisServer) => Promise<T>): Promise<T> {
  const server = await startRedis();
  try {
    return await body(server);
  } finally {
    try {
      process.kill(server.pid, "SIGCONT");
    } catch {
      // Already gone.
    }
    await server.close();
  }
}
