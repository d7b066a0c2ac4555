import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RedisServer, startRedis } from "@tributary/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  dumpRedis,
  REDIS_OUT_OF_REACH,
  startTestAgent,
  type TestAgent,
  until,
  withOwnRedis,
} from "../test/helpers.js";
import {
  checkRedis,
  isAllowedRunVariable,
  listAgents,
  openRunQueue,
  type RunQueue,
  startAgent,
} from "./index.js";

let redis: RedisServer;
let dir: string;
const agents: TestAgent[] = [];
const queues: RunQueue[] = [];
/** Every secret value any test gives an agent or a process: none may ever be found in Redis. */
const secretsUsed: string[] = [];

const secret = (label: string) => {
  const value = `${label}-${randomBytes(12).toString("hex")}`;
  secretsUsed.push(value);
  return value;
};
// A short stall timeout, so a dead agent's run is taken again within seconds.
const fast = { stallTimeoutMs: 3000, heartbeatMs: 500 };

async function agent(
  config: Parameters<typeof startTestAgent>[0],
  env?: Record<string, string>,
): Promise<TestAgent> {
  const started = await startTestAgent({ redis: redis.url, ...fast, ...config }, env);
  agents.push(started);
  return started;
}

function queue(name: string): RunQueue {
  const opened = openRunQueue({ queue: name, redis: redis.url });
  queues.push(opened);
  return opened;
}

const lines = (file: string) => readFileSync(file, "utf8").trim().split("\n").filter(Boolean);

beforeAll(async () => {
  redis = await startRedis();
  dir = mkdtempSync(join(tmpdir(), "tributary-agent-test-"));
});

afterAll(async () => {
  for (const started of agents) if (started.child.exitCode === null) started.child.kill("SIGKILL");
  for (const q of queues) await q.close();
  try {
    if (redis) {
      // Every key and value Redis holds after all the runs: no secret value in any of them.
      const everything = await dumpRedis(redis.url);
      expect(everything.length).toBeGreaterThan(1000);
      for (const value of secretsUsed) expect(everything).not.toContain(value);
    }
  } finally {
    // Stopped even when the check fails (as it does when only some tests ran): no redis-server is left behind.
    await redis?.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

describe("agents on one Redis", () => {
  it("spreads 200 runs over two agent processes and completes each exactly once", async () => {
    const token = secret("spread");
    const log = join(dir, "spread.log");
    writeFileSync(log, "");
    const a = await agent({
      queue: "spread",
      isolation: "in-process",
      concurrency: 8,
      secrets: { TOKEN: token },
    });
    const b = await agent({
      queue: "spread",
      isolation: "in-process",
      concurrency: 8,
      secrets: { TOKEN: token },
    });
    const runs = queue("spread");
    const ids: string[] = [];
    for (let i = 0; i < 200; i++) {
      const { runId } = await runs.enqueue({
        address: "test://record",
        params: { log, ms: 5 },
        runId: `spread-${i}`,
        secrets: ["TOKEN"],
      });
      ids.push(runId);
    }
    const reports = await Promise.all(ids.map((id) => runs.wait(id, { timeoutMs: 60_000 })));
    expect(reports.map((r) => [r.runId, r.state])).toEqual(ids.map((id) => [id, "completed"]));

    const ended = lines(log).filter((l) => l.startsWith("end "));
    const perRun = new Map<string, number>();
    for (const line of ended) {
      const runId = line.split(" ")[1] as string;
      perRun.set(runId, (perRun.get(runId) ?? 0) + 1);
    }
    expect([...perRun.keys()].sort()).toEqual([...ids].sort());
    expect([...perRun.values()].every((n) => n === 1)).toBe(true);

    const done = await runs.list({ states: ["completed"], limit: 500 });
    const byAgent = new Map<string, number>();
    for (const run of done) byAgent.set(run.agent ?? "?", (byAgent.get(run.agent ?? "?") ?? 0) + 1);
    expect(byAgent.get(a.id)).toBeGreaterThan(0);
    expect(byAgent.get(b.id)).toBeGreaterThan(0);
    expect((byAgent.get(a.id) ?? 0) + (byAgent.get(b.id) ?? 0)).toBe(200);
    expect((await runs.counts()).completed).toBe(200);

    const alive = await listAgents({ redis: redis.url, queue: "spread" });
    expect(alive.map((x) => x.id).sort()).toEqual([a.id, b.id].sort());
    expect(alive[0]?.secrets).toEqual(["TOKEN"]);
    a.child.kill("SIGTERM");
    b.child.kill("SIGTERM");
    expect(await a.exited).toBe(0);
    expect(await b.exited).toBe(0);
    expect(await listAgents({ redis: redis.url, queue: "spread" })).toEqual([]);
  }, 90_000);

  it("gives a child-process run only the -e secrets and the allow-list of the agent's environment", async () => {
    const token = secret("env");
    const other = secret("not-passed");
    await agent(
      { queue: "env", secrets: { GIVEN_TOKEN: token, GIVEN_JSON: { KEY: "x", PASSWORD: secret("json") } } },
      {
        AGENT_ONLY: "agent's own",
        NODE_OPTIONS: "--max-old-space-size=100",
        TRIBUTARY__CONTEXT__SECRETS__NOT_PASSED: other,
        TZ: "UTC",
        LC_ALL: "C",
      },
    );
    const runs = queue("env");
    const { runId } = await runs.enqueue({ address: "test://env" });
    const report = await runs.wait(runId, { timeoutMs: 30_000 });
    expect(report.state).toBe("completed");
    expect(report.runId).toBe(runId);
    const keys = report.result as string[];
    const extra = keys.filter(
      (k) =>
        !isAllowedRunVariable(k) &&
        k !== "TRIBUTARY_HOME" &&
        k !== "TRIBUTARY__CONTEXT__SECRETS__GIVEN_TOKEN" &&
        k !== "TRIBUTARY__CONTEXT__SECRETS__GIVEN_JSON",
    );
    expect(extra).toEqual([]);
    expect(keys).toEqual(
      expect.arrayContaining([
        "TRIBUTARY__CONTEXT__SECRETS__GIVEN_TOKEN",
        "TRIBUTARY__CONTEXT__SECRETS__GIVEN_JSON",
        "PATH",
        "TZ",
        "LC_ALL",
      ]),
    );
  });

  it("passes -e values to the run and masks them in its report and its failure", async () => {
    const token = secret("masked");
    await agent({ queue: "mask", secrets: { GIVEN_TOKEN: token } });
    const runs = queue("mask");
    const ok = await runs.wait(
      (await runs.enqueue({ address: "test://secret", params: { name: "GIVEN_TOKEN" } })).runId,
    );
    expect(ok.state).toBe("completed");
    expect(ok.result).toEqual({ value: "[redacted]", length: token.length });

    const failed = await runs.wait(
      (
        await runs.enqueue({
          address: "test://fail",
          params: { name: "GIVEN_TOKEN" },
          retries: 1,
          backoffMs: 10,
        })
      ).runId,
    );
    expect(failed.state).toBe("failed");
    expect(failed.error?.message).toBe("could not use [redacted]");
    const [record] = await runs.list({ states: ["failed"] });
    expect(record?.attempts).toBe(2);
    expect(record?.error).toContain("could not use [redacted]");
  });

  it("fails a run at once when the agent was not given a secret the run needs", async () => {
    await agent({ queue: "missing", isolation: "in-process", secrets: { OTHER: secret("other") } });
    const runs = queue("missing");
    const report = await runs.wait(
      (await runs.enqueue({ address: "test://noop", secrets: ["NEEDED_TOKEN"], retries: 3 })).runId,
    );
    expect(report.state).toBe("failed");
    expect(report.error?.message).toMatch(/was not given NEEDED_TOKEN.*-e NEEDED_TOKEN/);
    expect((await runs.list({ states: ["failed"] }))[0]?.attempts).toBe(1);
  });

  it("refuses params that hold a secret value of the enqueuing process, and bad runs, before Redis sees them", async () => {
    const value = secret("enqueuer");
    process.env.TRIBUTARY__CONTEXT__SECRETS__ENQUEUER_TOKEN = value;
    try {
      const runs = queue("refused");
      await expect(
        runs.enqueue({
          address: "test://noop",
          params: { day: "2026-11-25", auth: { header: `Bearer ${value}` } },
        }),
      ).rejects.toMatchObject({ code: "SECRET_IN_PARAMS", path: "params.auth.header" });
      await expect(
        runs.enqueue({ address: "test://noop", params: { when: new Date() } }),
      ).rejects.toMatchObject({
        code: "INVALID_INPUT",
        message: expect.stringContaining("params.when"),
      });
      await expect(runs.enqueue({ address: "", params: {} })).rejects.toMatchObject({
        code: "INVALID_INPUT",
      });
      await expect(runs.enqueue({ address: "test://noop", runId: "a b" })).rejects.toMatchObject({
        message: expect.stringContaining("runId"),
      });
      expect(await runs.counts()).toEqual({ waiting: 0, delayed: 0, running: 0, completed: 0, failed: 0 });
      await runs.enqueue({ address: "test://noop", runId: "once" });
      await expect(runs.enqueue({ address: "test://noop", runId: "once" })).rejects.toMatchObject({
        message: expect.stringContaining("already on queue refused"),
      });
    } finally {
      delete process.env.TRIBUTARY__CONTEXT__SECRETS__ENQUEUER_TOKEN;
    }
  });
});

describe("startAgent options", () => {
  it.each([
    [{ stallTimeoutMs: 0 }, "Invalid stallTimeoutMs: must be a whole number of milliseconds from 1000"],
    [{ stallTimeoutMs: -3000 }, "Invalid stallTimeoutMs"],
    [{ stallTimeoutMs: 999 }, "Invalid stallTimeoutMs"],
    [{ stallTimeoutMs: 2500.5 }, "Invalid stallTimeoutMs"],
    [{ stallTimeoutMs: Number.NaN }, "Invalid stallTimeoutMs"],
    [{ stallTimeoutMs: "3000" as unknown as number }, "Invalid stallTimeoutMs"],
    [{ stallTimeoutMs: 86_400_001 }, "Invalid stallTimeoutMs"],
    [{ concurrency: 0 }, "Invalid concurrency"],
    [{ graceMs: -1 }, "Invalid graceMs: must be a whole number of milliseconds from 0 to 86400000"],
    [{ graceMs: Number.NaN }, "Invalid graceMs"],
    [{ graceMs: 1.5 }, "Invalid graceMs"],
  ])("refuses %j before it connects to Redis", async (bad, message) => {
    // Nothing listens on port 1: an option checked after connecting would fail as Redis unreachable instead.
    await expect(
      startAgent({
        queue: "q",
        redis: "redis://127.0.0.1:1",
        runInProcess: async () => ({}) as never,
        isolation: "in-process",
        ...bad,
      }),
    ).rejects.toMatchObject({
      name: "ValidationError",
      code: "INVALID_INPUT",
      message: expect.stringContaining(message),
    });
  });
});

describe("checkRedis (what startAgent and openRunQueue check first)", () => {
  it.concurrent.for(REDIS_OUT_OF_REACH)(
    "fails with RedisUnreachableError within its time when Redis is %s",
    { timeout: 10_000 },
    ([way, outOfReach], { expect }) =>
      withOwnRedis(async (server) => {
        await outOfReach(server);
        // A stopped Redis takes the connection and never answers: this waited for ever before.
        await expect(checkRedis(server.url, 500)).rejects.toMatchObject({
          name: "RedisUnreachableError",
          message: expect.stringContaining(way === "gone" ? "ECONNREFUSED" : "no answer within 500 ms"),
        });
      }),
  );
});

describe("agent.close", () => {
  it("refuses a grace period that is not a whole number of ms, and still stops when asked properly", async () => {
    const started = await startAgent({
      queue: "closing",
      redis: redis.url,
      isolation: "in-process",
      log: () => {},
      runInProcess: async () => ({}) as never,
    });
    for (const graceMs of [-5, Number.NaN, 0.5]) {
      await expect(started.close({ graceMs })).rejects.toMatchObject({
        name: "ValidationError",
        message: expect.stringContaining("Invalid graceMs"),
      });
    }
    await expect(started.close({ graceMs: 0 })).resolves.toEqual({ abandoned: 0, redisAnswered: true });
  });
});

describe("machines failing", () => {
  it("completes the run of an agent killed with SIGKILL on another agent, reported once", async () => {
    const log = join(dir, "killed.log");
    writeFileSync(log, "");
    const first = await agent({ queue: "killed", isolation: "in-process" });
    const runs = queue("killed");
    const { runId } = await runs.enqueue({ address: "test://record", params: { log, ms: 1500 } });
    await until(() => lines(log).some((l) => l.startsWith(`start ${runId}`)));
    first.child.kill("SIGKILL");
    expect(await first.exited).toBe("SIGKILL");
    const second = await agent({ queue: "killed", isolation: "in-process" });
    const report = await runs.wait(runId, { timeoutMs: 30_000 });
    expect(report.state).toBe("completed");
    expect(report.runId).toBe(runId);
    const [record] = await runs.list({ states: ["completed"] });
    expect(record?.agent).toBe(second.id);
    expect(lines(log).filter((l) => l.startsWith("end "))).toHaveLength(1);
    expect(await runs.counts()).toMatchObject({ completed: 1, failed: 0, running: 0, waiting: 0 });
  });

  it("lets a running child-process run finish on SIGTERM and exits 0", async () => {
    const log = join(dir, "term.log");
    writeFileSync(log, "");
    const only = await agent({ queue: "term", graceMs: 20_000 });
    const runs = queue("term");
    const { runId } = await runs.enqueue({ address: "test://record", params: { log, ms: 1500 } });
    await until(() => lines(log).some((l) => l.startsWith(`start ${runId}`)));
    only.child.kill("SIGTERM");
    expect(await only.exited).toBe(0);
    const report = await runs.wait(runId, { timeoutMs: 5_000 });
    expect(report.state).toBe("completed");
    expect(lines(log).filter((l) => l.startsWith(`end ${runId}`))).toHaveLength(1);
  });

  it("leaves a run that outlives the grace period to another agent", async () => {
    const log = join(dir, "grace.log");
    writeFileSync(log, "");
    const first = await agent({ queue: "grace", graceMs: 300 });
    const runs = queue("grace");
    const { runId } = await runs.enqueue({ address: "test://record", params: { log, ms: 2500 } });
    await until(() => lines(log).some((l) => l.startsWith(`start ${runId}`)));
    first.child.kill("SIGTERM");
    expect(await first.exited).toBe(0);
    expect(lines(log).filter((l) => l.startsWith("end "))).toHaveLength(0);
    await agent({ queue: "grace" });
    const report = await runs.wait(runId, { timeoutMs: 30_000 });
    expect(report.state).toBe("completed");
    expect(lines(log).filter((l) => l.startsWith("start "))).toHaveLength(2);
    expect(lines(log).filter((l) => l.startsWith("end "))).toHaveLength(1);
  });

  it.concurrent.for(REDIS_OUT_OF_REACH)(
    "stops on SIGTERM when Redis is %s: close() says so, and nothing of the agent keeps its process alive",
    { timeout: 30_000 },
    ([, outOfReach], { expect }) =>
      withOwnRedis(async (server) => {
        // A process that ends on its own once close() resolves: it would hang for ever if close() waited for Redis.
        const only = await startTestAgent({
          queue: "out-of-reach",
          redis: server.url,
          isolation: "in-process",
          graceMs: 200,
          ...fast,
          endOnItsOwn: true,
        });
        let out = "";
        only.child.stdout?.on("data", (d) => {
          out += String(d);
        });
        await outOfReach(server);
        only.child.kill("SIGTERM");
        expect(await only.exited).toBe(0);
        expect(out).toContain('closed {"abandoned":0,"redisAnswered":false}');
      }),
  );

  it("goes on after Redis is away for a moment, losing nothing", async () => {
    await agent({ queue: "restart", isolation: "in-process", concurrency: 4 });
    const runs = queue("restart");
    const before = await Promise.all(
      Array.from({ length: 10 }, (_, i) => runs.enqueue({ address: "test://noop", runId: `before-${i}` })),
    );
    for (const { runId } of before)
      expect((await runs.wait(runId, { timeoutMs: 20_000 })).state).toBe("completed");
    await redis.restart(2000);
    const after = await Promise.all(
      Array.from({ length: 10 }, (_, i) => runs.enqueue({ address: "test://noop", runId: `after-${i}` })),
    );
    for (const { runId } of after)
      expect((await runs.wait(runId, { timeoutMs: 30_000 })).state).toBe("completed");
    expect((await runs.counts()).completed).toBe(20);
  });
});
