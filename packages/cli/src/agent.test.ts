import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type RedisServer, startRedis } from "@tributary/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  agentReady,
  BIN,
  cliEnv,
  removeTempHomes,
  runBin,
  saveDeployment,
  tempHome,
} from "../test/helpers.js";

const CLI_DIST = join(BIN, "..", "index.js");

// End to end: `tributary agent start` and `tributary run --queue` as users type them, on a real redis-server,
// running a deployment from file:// storage in the agent's child processes.
let redis: RedisServer;
let address: string;
const token = `agent-token-${randomBytes(12).toString("hex")}`;
const agents: ChildProcess[] = [];

const FLOW = `import { resolveSecret } from "@tributary/auth";
import { flow } from "@tributary/flow";
export const main = flow({ name: "queued", secrets: ["AGENT_TOKEN"] }, async ({ params, runId, log }) => {
  const { value } = await resolveSecret("AGENT_TOKEN");
  log.info("token in hand: " + value);
  return { runId, doubled: params.n * 2, token: value, env: Object.keys(process.env).sort(), execArgv: process.execArgv };
});
`;

// Writes "start|end <its pid> <its agent's pid>" to params.log around a wait of params.ms.
const SLOW_FLOW = `import { appendFileSync } from "node:fs";
import { flow } from "@tributary/flow";
export const main = flow({ name: "slow" }, async ({ params }) => {
  appendFileSync(params.log, "start " + process.pid + " " + process.ppid + "\\n");
  await new Promise((resolve) => setTimeout(resolve, params.ms));
  appendFileSync(params.log, "end " + process.pid + " " + process.ppid + "\\n");
  return { ok: true };
});
`;

beforeAll(async () => {
  redis = await startRedis();
  address = await saveDeployment(tempHome(), "queued", FLOW, ["AGENT_TOKEN"]);
});

afterAll(async () => {
  for (const child of agents) if (child.exitCode === null) child.kill("SIGKILL");
  await redis?.close();
  removeTempHomes();
});

/**
 * Starts `tributary agent start ...` (on the file's Redis unless told another) and resolves once it takes runs;
 * `stderr()` is what it printed so far.
 */
async function startAgentBin(args: string[], env: Record<string, string>, redisUrl = redis.url) {
  const child = spawn(process.execPath, [BIN, "agent", "start", "--redis", redisUrl, ...args], {
    env: cliEnv(tempHome(), env),
    stdio: ["ignore", "pipe", "pipe"],
  });
  agents.push(child);
  const { stderr, exited } = await agentReady(child);
  const id = /agent (\S+) takes runs from queue/.exec(stderr())?.[1] ?? "";
  return { child, exited, id, stderr };
}

/** The lines of a file written by SLOW_FLOW. */
const lines = (file: string) => readFileSync(file, "utf8").split("\n").filter(Boolean);

/** Resolves once `check()` holds, polling every 50 ms (the test's own timeout bounds it). */
async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 50));
}

describe("tributary agent start / run --queue", () => {
  it("runs a deployment queued from the CLI on an agent with -e, masked, with the queued run id", async () => {
    const agent = await startAgentBin(["--queue", "cli", "-e", "AGENT_TOKEN", "--concurrency", "2"], {
      TRIBUTARY__CONTEXT__SECRETS__AGENT_TOKEN: token,
      AGENT_ONLY: "not for runs",
    });
    const home = tempHome();
    const waited = await runBin(
      [
        "run",
        address,
        "--queue",
        "cli",
        "--params",
        '{"n":21}',
        "--run-id",
        "cli-1",
        "--wait",
        "--json",
        "--redis",
        redis.url,
      ],
      { home },
    );
    expect(waited.stderr).toContain("run cli-1 queued on cli");
    expect(waited.code).toBe(0);
    const report = JSON.parse(waited.stdout);
    expect(report).toMatchObject({ flow: "queued", runId: "cli-1", state: "completed" });
    expect(report.result).toMatchObject({ runId: "cli-1", doubled: 42, token: "[redacted]" });
    expect(report.result.env).toContain("TRIBUTARY__CONTEXT__SECRETS__AGENT_TOKEN");
    expect(report.result.env).not.toContain("AGENT_ONLY");

    const queued = await runBin(
      ["run", address, "--queue", "cli", "--params", '{"n":1}', "--redis", redis.url],
      {
        home,
      },
    );
    expect(queued.code).toBe(0);
    const runId = queued.stdout.trim();
    expect(runId).toMatch(/^[0-9a-f-]{36}$/);

    const ls = await runBin(["agent", "ls", "--redis", redis.url, "--json"], { home });
    expect(JSON.parse(ls.stdout).agents).toEqual([
      expect.objectContaining({
        queue: "cli",
        secrets: ["AGENT_TOKEN"],
        concurrency: 2,
        isolation: "child-process",
      }),
    ]);

    let runs = { stdout: "" };
    for (let i = 0; i < 100 && !runs.stdout.includes("2 completed"); i++) {
      runs = await runBin(["runs", "ls", "--queue", "cli", "--redis", redis.url], { home });
    }
    expect(runs.stdout).toContain("queue cli: 0 waiting, 0 delayed, 0 running, 2 completed, 0 failed");
    expect(runs.stdout).toContain(runId);

    // The same deployment through an in-process agent: the value is passed as -e NAME=VALUE.
    const inProcess = await startAgentBin(
      ["--queue", "fast", "--isolation", "in-process", "-e", `AGENT_TOKEN=${token}`],
      {},
    );
    const fast = await runBin(
      ["run", address, "--queue", "fast", "--params", '{"n":5}', "--wait", "--json", "--redis", redis.url],
      { home },
    );
    expect(fast.code).toBe(0);
    expect(JSON.parse(fast.stdout).result).toMatchObject({ doubled: 10, token: "[redacted]" });
    // On Node 22 (from 22.15) the agent runs with async context frames, as Node 24 does by default.
    const framesOnNode22 =
      Number(process.versions.node.split(".")[0]) < 24 &&
      typeof (process as { execve?: unknown }).execve === "function";
    expect(JSON.parse(fast.stdout).result.execArgv.includes("--experimental-async-context-frame")).toBe(
      framesOnNode22,
    );
    inProcess.child.kill("SIGTERM");
    expect(await inProcess.exited).toBe(0);
    expect(inProcess.stderr()).not.toContain(token);

    agent.child.kill("SIGTERM");
    expect(await agent.exited).toBe(0);
    // The run's log line went through the agent, masked.
    expect(agent.stderr()).toContain("token in hand: [redacted]");
    expect(agent.stderr()).not.toContain(token);
  }, 60_000);

  it("takes the run of an agent killed with SIGKILL again on another agent within --stall-timeout", async () => {
    const stallSeconds = 3;
    const home = tempHome();
    const log = join(home, "slow.log");
    writeFileSync(log, "");
    const slow = await saveDeployment(home, "slow", SLOW_FLOW);
    const options = ["--queue", "stall", "--stall-timeout", String(stallSeconds)];
    const first = await startAgentBin(options, {});
    // Each attempt outlasts its lock (40% of the stall timeout): the agent that takes the run over keeps it by
    // renewing the lock, and runs it once.
    const params = JSON.stringify({ log, ms: stallSeconds * 1000 });
    const waited = runBin(
      [
        "run",
        slow,
        "--queue",
        "stall",
        "--params",
        params,
        "--run-id",
        "stalled-1",
        "--wait",
        "--json",
      ].concat(["--redis", redis.url]),
      { home },
    );
    await until(() => lines(log).length > 0);
    const second = await startAgentBin(options, {});
    const [, runPid, agentPid] = (lines(log)[0] as string).split(" ");
    expect(Number(agentPid)).toBe(first.child.pid);

    // The first agent's machine dies: the agent and its run's process go at once, saying nothing.
    const killedAt = Date.now();
    first.child.kill("SIGKILL");
    process.kill(-Number(runPid), "SIGKILL");

    const result = await waited;
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ runId: "stalled-1", state: "completed" });
    // Started on the first agent, started again on the second, ended there once.
    expect(lines(log).map((line) => `${line.split(" ")[0]} ${line.split(" ")[2]}`)).toEqual([
      `start ${first.child.pid}`,
      `start ${second.child.pid}`,
      `end ${second.child.pid}`,
    ]);
    const ls = await runBin(["runs", "ls", "--queue", "stall", "--json", "--redis", redis.url], { home });
    const [record] = JSON.parse(ls.stdout).runs;
    expect(record).toMatchObject({ runId: "stalled-1", state: "completed", agent: second.id });
    // Taken again within the stall timeout, with a few seconds to spare for a busy machine (with the default of
    // 30 s, a dead agent's lock alone lasts 9 s or more).
    expect(Date.parse(record.startedAt) - killedAt).toBeLessThan((stallSeconds + 5) * 1000);
    second.child.kill("SIGTERM");
    expect(await second.exited).toBe(0);
  }, 60_000);

  it("leaves its running run to other agents at once on a second SIGTERM, and kills the run's processes", async () => {
    const home = tempHome();
    const log = join(home, "twice.log");
    writeFileSync(log, "");
    const slow = await saveDeployment(home, "slow", SLOW_FLOW);
    const agent = await startAgentBin(["--queue", "twice", "--grace", "120"], {});
    const params = JSON.stringify({ log, ms: 60_000 });
    const queued = await runBin(
      ["run", slow, "--queue", "twice", "--params", params, "--run-id", "twice-1", "--redis", redis.url],
      { home },
    );
    expect(queued.code).toBe(0);
    await until(() => lines(log).length > 0);
    const runPid = Number((lines(log)[0] as string).split(" ")[1]);
    agent.child.kill("SIGTERM");
    await until(() => agent.stderr().includes("waiting up to 120 s for 1 running"));
    agent.child.kill("SIGTERM");
    expect(await agent.exited).toBe(0);
    expect(agent.stderr()).toContain("SIGTERM again: leaving 1 running run(s) for other agents now");
    expect(agent.stderr()).toContain("stopped; 1 run(s) left for other agents");
    const alive = () => {
      try {
        process.kill(runPid, 0);
        return true;
      } catch {
        return false;
      }
    };
    await until(() => !alive());
    expect(lines(log)).toHaveLength(1);
  }, 60_000);

  it("leaves an in-process run that outlives the grace period and exits without waiting for it to end", async () => {
    const home = tempHome();
    const log = join(home, "in-process.log");
    writeFileSync(log, "");
    const slow = await saveDeployment(home, "slow", SLOW_FLOW);
    const agent = await startAgentBin(
      ["--queue", "in-process-grace", "--isolation", "in-process", "--grace", "1"],
      {},
    );
    const params = JSON.stringify({ log, ms: 60_000 });
    const queued = await runBin(
      ["run", slow, "--queue", "in-process-grace", "--params", params, "--redis", redis.url],
      { home },
    );
    expect(queued.code).toBe(0);
    await until(() => lines(log).length > 0);
    agent.child.kill("SIGTERM");
    // Well before the run's minute is up (the test's timeout): the run goes no further here.
    expect(await agent.exited).toBe(0);
    expect(agent.stderr()).toContain("stopped; 1 run(s) left for other agents");
    expect(lines(log)).toHaveLength(1);
  }, 30_000);

  it("stops (exit 1) when Redis is gone, leaving its running run and killing its process, instead of waiting for Redis until SIGKILL", async () => {
    const gone = await startRedis();
    const home = tempHome();
    const log = join(home, "gone.log");
    writeFileSync(log, "");
    const slow = await saveDeployment(home, "slow", SLOW_FLOW);
    const agent = await startAgentBin(["--queue", "gone", "--grace", "1"], {}, gone.url);
    const params = JSON.stringify({ log, ms: 60_000 });
    const queued = await runBin(["run", slow, "--queue", "gone", "--params", params, "--redis", gone.url], {
      home,
    });
    expect(queued.code).toBe(0);
    await until(() => lines(log).length > 0);
    const runPid = Number((lines(log)[0] as string).split(" ")[1]);
    await gone.close();
    agent.child.kill("SIGTERM");
    // The process ends on its own: nothing of the agent waits on Redis past its grace period and 5 s.
    expect(await agent.exited).toBe(1);
    expect(agent.stderr()).toContain(
      "1 run(s) did not finish within the grace period; leaving them for other agents",
    );
    expect(agent.stderr()).toContain("Redis did not answer while the agent stopped; it stopped without it");
    await until(() => {
      try {
        process.kill(runPid, 0);
        return false;
      } catch {
        return true;
      }
    });
    expect(lines(log)).toHaveLength(1);
  }, 40_000);

  it.each([
    [["run", "file:///x/y", "--wait"], "--wait goes with --queue"],
    [
      ["agent", "start", "--queue", "q", "--stall-timeout", "0"],
      "--stall-timeout must be a whole number from 1",
    ],
    [["agent", "start", "--queue", "q", "--stall-timeout=-5"], "--stall-timeout must be a whole number"],
    [["agent", "start", "--queue", "q", "--stall-timeout", "2.5"], "--stall-timeout must be a whole number"],
    [["agent", "start", "--queue", "q", "--stall-timeout", "soon"], "--stall-timeout must be a whole number"],
    [["agent", "start"], "missing --queue"],
    [
      ["agent", "start", "--queue", "q", "--isolation", "threads"],
      "--isolation must be child-process or in-process",
    ],
    [["agent", "start", "--queue", "q", "-e", "lower_case=x"], "invalid secret name"],
    [["runs", "ls"], "missing --queue"],
    [["agent", "stop"], 'unknown agent command "stop"'],
  ])("refuses %j", async (args, message) => {
    const r = await runBin(args, { home: tempHome() });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
  });

  it("does not start an agent whose -e NAME is set nowhere on its machine, and says where it looked", async () => {
    const r = await runBin(["agent", "start", "--queue", "q", "--redis", redis.url, "-e", "NOWHERE_TOKEN"], {
      home: tempHome(),
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("NOWHERE_TOKEN");
    expect(r.stderr).toContain("TRIBUTARY__CONTEXT__SECRETS__NOWHERE_TOKEN");
  });

  it("puts the manifest's secret names on the job: an agent not given one fails the run at once, naming the -e", async () => {
    const bare = await startAgentBin(["--queue", "bare"], {});
    const r = await runBin(["run", address, "--queue", "bare", "--wait", "--json", "--redis", redis.url], {
      home: tempHome(),
    });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({
      state: "failed",
      error: { message: expect.stringContaining("start agents on queue bare with -e AGENT_TOKEN") },
    });
    // The manifest was read here, so no note about it.
    expect(r.stderr).not.toContain("cannot be read here");

    // An address this machine cannot read is queued with the storage's names only, and says so.
    const elsewhere = "file:///nonexistent-on-this-machine/flows/queued";
    const noted = await runBin(["run", elsewhere, "--queue", "bare", "--json", "--redis", redis.url], {
      home: tempHome(),
    });
    expect(noted.code).toBe(0);
    expect(noted.stderr).toContain("note: the manifest cannot be read here (ServiceError:");
    bare.child.kill("SIGTERM");
    expect(await bare.exited).toBe(0);
  }, 60_000);

  it("refuses to queue params that hold a secret this machine has, and prints no part of it", async () => {
    const r = await runBin(
      ["run", address, "--queue", "cli", "--params", JSON.stringify({ key: token }), "--redis", redis.url],
      { home: tempHome(), env: { TRIBUTARY__CONTEXT__SECRETS__AGENT_TOKEN: token } },
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("params.key holds a secret value");
    expect(r.stderr + r.stdout).not.toContain(token);
  });

  it("never prints the password of the Redis URL", async () => {
    const password = `pw-${randomBytes(8).toString("hex")}`;
    for (const args of [
      ["agent", "ls"],
      ["runs", "ls", "--queue", "q"],
      ["agent", "start", "--queue", "q"],
    ]) {
      // Nothing listens on port 1.
      const r = await runBin([...args, "--redis", `redis://:${password}@127.0.0.1:1`], { home: tempHome() });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("Could not reach Redis at redis://[redacted]@127.0.0.1:1");
      expect(r.stderr + r.stdout).not.toContain(password);
    }
  });

  it("loads the queue client (bullmq, ioredis) only for the queue commands, so each child run starts fast", () => {
    const probe = join(tempHome(), "probe.mjs");
    writeFileSync(
      probe,
      `import { createRequire } from "node:module";
import { runCli } from ${JSON.stringify(CLI_DIST)};
const quiet = { stdout: { write() {} }, stderr: { write() {} } };
const loaded = () => Object.keys(createRequire(import.meta.url).cache).some((k) => /ioredis|bullmq/.test(k));
const run = await runCli(["run", ${JSON.stringify(address)}, "--params", '{"n":1}'], quiet);
const afterRun = loaded();
await runCli(["agent", "ls", "--redis", ${JSON.stringify(redis.url)}], quiet);
process.stdout.write(JSON.stringify({ run, afterRun, afterAgentLs: loaded() }));
`,
    );
    const out = execFileSync(process.execPath, [probe], {
      env: { ...cliEnv(tempHome()), TRIBUTARY__CONTEXT__SECRETS__AGENT_TOKEN: token },
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    });
    expect(JSON.parse(out)).toEqual({ run: 0, afterRun: false, afterAgentLs: true });
  });
});
