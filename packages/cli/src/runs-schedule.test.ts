import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createOidcIssuer, type RedisServer, startRedis, startS3StandIn } from "@tributary/testing";
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

// End to end: run records and schedules as users see them, through `tributary runs` and `tributary schedule`, on a
// real redis-server, with an agent running a file:// deployment in its child processes.
let redis: RedisServer;
let address: string;
const token = `history-token-${randomBytes(12).toString("hex")}`;
const agents: ChildProcess[] = [];
const home = tempHome();

const FLOW = `import { resolveSecret } from "@tributary/auth";
import { flow, task } from "@tributary/flow";
const fetchRows = task({ name: "fetch rows" }, async () => 3);
const load = task({ name: "load" }, async (value) => {
  throw new Error("warehouse refused " + value);
});
export const main = flow({ name: "nightly", secrets: ["AGENT_TOKEN"] }, async ({ params, log }) => {
  const { value } = await resolveSecret("AGENT_TOKEN");
  log.info("token in hand: " + value);
  const rows = await fetchRows();
  if (params?.fail) await load(value);
  return { rows };
});
`;

beforeAll(async () => {
  redis = await startRedis();
  address = await saveDeployment(tempHome(), "nightly", FLOW, ["AGENT_TOKEN"]);
  const child = spawn(
    process.execPath,
    [
      BIN,
      "agent",
      "start",
      "--redis",
      redis.url,
      "--queue",
      "nightly",
      "-e",
      "AGENT_TOKEN",
      "--concurrency",
      "2",
    ],
    {
      env: cliEnv(tempHome(), { TRIBUTARY__CONTEXT__SECRETS__AGENT_TOKEN: token }),
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  agents.push(child);
  await agentReady(child);
}, 60_000);

afterAll(async () => {
  for (const child of agents) if (child.exitCode === null) child.kill("SIGKILL");
  await redis?.close();
  removeTempHomes();
});

const cli = (...args: string[]) => runBin([...args, "--redis", redis.url], { home });

describe("tributary runs ls / runs show", () => {
  it("lists runs newest first and shows a run's timeline, credential table and masked logs", async () => {
    expect((await cli("run", address, "--queue", "nightly", "--run-id", "ok-1", "--wait")).code).toBe(0);
    const failed = await cli(
      "run",
      address,
      "--queue",
      "nightly",
      "--run-id",
      "bad-1",
      "--params",
      '{"fail":true}',
      "--wait",
    );
    expect(failed.code).toBe(1);

    const ls = await cli("runs", "ls", "--queue", "nightly", "--json");
    expect(ls.code).toBe(0);
    const { runs } = JSON.parse(ls.stdout);
    expect(runs.map((r: { runId: string }) => r.runId)).toEqual(["bad-1", "ok-1"]);
    expect(runs[0]).toMatchObject({ flow: "nightly", state: "failed", address });
    expect(runs[0].agent).toBeTruthy();
    const text = await cli("runs", "ls", "--queue", "nightly", "--state", "failed", "--since", "1h");
    expect(text.stdout).toMatch(/RUN\s+FLOW\s+STATE\s+STARTED\s+DURATION\s+AGENT\s+SCHEDULE/);
    expect(text.stdout).toMatch(/bad-1\s+nightly\s+FAILED/);
    expect(text.stdout).not.toContain("ok-1");

    const show = await cli("runs", "show", "bad-1", "--queue", "nightly", "--logs");
    expect(show.code).toBe(0);
    expect(show.stdout).toContain("run bad-1 on queue nightly: failed");
    expect(show.stdout).toMatch(/ended in\s+task load/);
    expect(show.stdout).toMatch(/error\s+Error: warehouse refused \[redacted\]/);
    expect(show.stdout).toMatch(/1\s+fetch rows\s+completed/);
    expect(show.stdout).toMatch(/2\s+load\s+failed\s+1/);
    expect(show.stdout).toMatch(/AGENT_TOKEN\s+agent\s+-e AGENT_TOKEN/);
    expect(show.stdout).toContain("token in hand: [redacted]");
    const json = JSON.parse(
      (await cli("runs", "show", "bad-1", "--queue", "nightly", "--json", "--logs")).stdout,
    );
    expect(json.credentials).toEqual([{ name: "AGENT_TOKEN", source: "agent", detail: "-e AGENT_TOKEN" }]);
    expect(json.tasks.map((t: { name: string }) => t.name)).toEqual(["fetch rows", "load"]);
    for (const out of [ls.stdout, text.stdout, show.stdout, JSON.stringify(json)])
      expect(out).not.toContain(token);

    const missing = await cli("runs", "show", "never", "--queue", "nightly");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("no run never on queue nightly");
  }, 60_000);
});

describe("tributary schedule", () => {
  it("adds a schedule whose runs are named after their slot, lists, pauses and removes it", async () => {
    const add = await cli(
      "schedule",
      "add",
      address,
      "--queue",
      "nightly",
      "--every",
      "1s",
      "--name",
      "tick",
      "--no-overlap",
    );
    expect(add.code, add.stderr).toBe(0);
    expect(add.stdout).toMatch(/^schedule tick on queue nightly: every 1 s; next \S+, \S+, \S+$/m);
    let ran: { runId: string; state: string; schedule: string }[] = [];
    for (let i = 0; i < 200 && ran.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      ran = JSON.parse(
        (
          await cli(
            "runs",
            "ls",
            "--queue",
            "nightly",
            "--schedule",
            "tick",
            "--state",
            "completed",
            "--json",
          )
        ).stdout,
      ).runs;
    }
    expect(ran[0]?.runId).toMatch(/^tick@\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const show = await cli("runs", "show", ran[0]?.runId as string, "--queue", "nightly");
    expect(show.stdout).toMatch(/schedule\s+tick, slot \d{4}-/);

    const ls = await cli("schedule", "ls", "--queue", "nightly");
    expect(ls.stdout).toMatch(/tick\s+file:\S+\s+every 1 s, no overlap\s+\S+ \S+ \S+\s+no\s+/);
    expect((await cli("schedule", "pause", "tick", "--queue", "nightly")).stdout).toContain(
      "schedule tick on queue nightly paused",
    );
    expect((await cli("schedule", "ls", "--queue", "nightly")).stdout).toMatch(/tick .*paused/);
    expect((await cli("schedule", "resume", "tick", "--queue", "nightly")).stdout).toContain("resumed; next");
    expect((await cli("schedule", "rm", "tick", "--queue", "nightly")).code).toBe(0);
    expect((await cli("schedule", "ls", "--queue", "nightly")).stdout).toContain(
      "no schedules on queue nightly",
    );
    const again = await cli("schedule", "rm", "tick", "--queue", "nightly");
    expect(again.code).toBe(1);
  }, 60_000);

  it.each([
    ["an unparsable cron", ["--cron", "0 25 * * *"], /cron: "0 25 \* \* \*" is not a cron expression/],
    [
      "an unknown zone",
      ["--cron", "0 2 * * *", "--tz", "Mars/Olympus"],
      /tz: "Mars\/Olympus" is not a time zone/,
    ],
    ["no timing", [], /give one of --cron EXPR/],
    ["both timings", ["--cron", "0 2 * * *", "--every", "1m"], /give one of --cron EXPR/],
    ["a zone without cron", ["--every", "1m", "--tz", "UTC"], /--tz goes with --cron/],
  ])("refuses %s before Redis is touched", async (_, args, message) => {
    // Nothing listens on this port: had Redis been touched, the error would say so.
    const out = await runBin(
      ["schedule", "add", address, "--queue", "nightly", ...args, "--redis", "redis://127.0.0.1:1"],
      { home },
    );
    expect(out.code).toBeGreaterThan(0);
    expect(out.stderr).toMatch(message);
  });

  it("refuses params holding a secret of this machine, printing no part of it", async () => {
    const out = await runBin(
      [
        "schedule",
        "add",
        address,
        "--queue",
        "nightly",
        "--every",
        "1m",
        "--params",
        JSON.stringify({ auth: token }),
        "--redis",
        redis.url,
      ],
      { home, env: { TRIBUTARY__CONTEXT__SECRETS__AGENT_TOKEN: token } },
    );
    expect(out.code).toBe(1);
    expect(out.stderr).toContain("params.auth holds a secret value");
    expect(out.stdout + out.stderr).not.toContain(token);
    expect((await cli("schedule", "ls", "--queue", "nightly")).stdout).toContain("no schedules");
  });
});

describe("a run's credential table with least privilege", () => {
  it("shows the scope an S3 task's -e credential was narrowed to, and where it came from", async () => {
    const oidc = createOidcIssuer();
    const s3 = await startS3StandIn({
      buckets: ["exports"],
      sts: { webIdentity: { publicKey: oidc.publicKey, audience: "sts.amazonaws.com" } },
    });
    try {
      const scoped = await saveDeployment(
        tempHome(),
        "scoped",
        `import { flow } from "@tributary/flow";
import { s3Exists } from "@tributary/aws";
export const main = flow({ name: "scoped", leastPrivilege: true }, async ({ params }) =>
  s3Exists({ bucket: "exports", key: "2026/a.csv", endpoint: params.endpoint, stsEndpoint: params.endpoint, forcePathStyle: true }),
);
`,
        ["AWS_CREDENTIALS"],
      );
      const credentials = JSON.stringify({
        ROLE_ARN: "arn:aws:iam::123456789012:role/etl-runner",
        WEB_IDENTITY_TOKEN: oidc.token({ subject: "etl", audience: "sts.amazonaws.com" }),
      });
      const child = spawn(
        process.execPath,
        [BIN, "agent", "start", "--redis", redis.url, "--queue", "scoped", "-e", "AWS_CREDENTIALS"],
        {
          env: cliEnv(tempHome(), { TRIBUTARY__CONTEXT__SECRETS__AWS_CREDENTIALS: credentials }),
          stdio: ["ignore", "pipe", "pipe"],
        },
      );
      agents.push(child);
      await agentReady(child);
      const run = await cli(
        "run",
        scoped,
        "--queue",
        "scoped",
        "--run-id",
        "scoped-1",
        "--params",
        JSON.stringify({ endpoint: s3.url }),
        "--wait",
      );
      expect(run.code, run.stdout + run.stderr).toBe(0);
      const record = JSON.parse(
        (await cli("runs", "show", "scoped-1", "--queue", "scoped", "--json")).stdout,
      );
      // With the provenance that names the kind of credential, its row has a principal too.
      expect(record.credentials).toContainEqual(
        expect.objectContaining({
          name: "AWS_CREDENTIALS",
          source: "agent",
          detail: "-e AWS_CREDENTIALS",
          scope: "s3:GetObject on exports/2026/a.csv",
        }),
      );
      expect(record.credentials).toContainEqual(
        expect.objectContaining({
          scope: "s3:GetObject on exports/2026/a.csv",
          principal: "web identity, role arn:aws:iam::123456789012:role/etl-runner",
        }),
      );
      expect(JSON.stringify(record)).not.toContain(JSON.parse(credentials).WEB_IDENTITY_TOKEN);
    } finally {
      await s3.close();
    }
  }, 60_000);
});
