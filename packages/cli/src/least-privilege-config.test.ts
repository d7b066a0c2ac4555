import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
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

// The config file's `leastPrivilege` as the default of the runs the CLI starts: `tributary run` in this process,
// and an agent's runs, in its child processes or its own. Each flow reports what its task sees.
const probeFlow = (flowOption: string) => `import { flow, task, taskContext } from "@tributary/flow";
const seen = task({ name: "seen" }, async () => taskContext()?.leastPrivilege ?? null);
export const main = flow({ name: "probe"${flowOption} }, () => seen());
`;

const CLI_NODE_MODULES = join(dirname(BIN), "..", "node_modules");
const home = tempHome();
/** A project folder: the installed packages, and the flows' file:// storage. */
const project = tempHome();
symlinkSync(CLI_NODE_MODULES, join(project, "node_modules"), "dir");
const addresses: Record<"plain" | "flowSaysNo", string> = { plain: "", flowSaysNo: "" };

async function deploy(name: keyof typeof addresses, source: string): Promise<void> {
  addresses[name] = await saveDeployment(join(project, "flows", name), "probe", source);
}

beforeAll(async () => {
  await deploy("plain", probeFlow(""));
  await deploy("flowSaysNo", probeFlow(", leastPrivilege: false"));
});
afterAll(() => removeTempHomes());

/** A folder inside the project holding `files`; runs start there, so its tributary.config.* is the one found. */
function folder(files: Record<string, string>): string {
  const dir = join(project, `cwd-${Math.random().toString(36).slice(2)}`);
  mkdirSync(dir);
  symlinkSync(CLI_NODE_MODULES, join(dir, "node_modules"), "dir");
  for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text);
  return dir;
}

describe("tributary run: leastPrivilege from the config file", () => {
  type Row = {
    what: string;
    files?: Record<string, string>;
    args?: string[];
    flow?: keyof typeof addresses;
    expected: boolean | null;
  };
  it.each<Row>([
    { what: "no config file: not set", expected: null },
    {
      what: "tributary.config.json says true",
      files: { "tributary.config.json": '{"leastPrivilege":true}' },
      expected: true,
    },
    {
      what: "tributary.config.mjs says true",
      files: { "tributary.config.mjs": "export default { leastPrivilege: true };" },
      expected: true,
    },
    {
      what: "the flow's own false wins over the config's true",
      files: { "tributary.config.json": '{"leastPrivilege":true}' },
      flow: "flowSaysNo",
      expected: false,
    },
    {
      what: "--config FILE is read instead of the folder's file",
      files: { "tributary.config.json": '{"leastPrivilege":false}', "prod.json": '{"leastPrivilege":true}' },
      args: ["--config", "prod.json"],
      expected: true,
    },
    {
      what: "--least-privilege false wins over the config file",
      files: { "tributary.config.json": '{"leastPrivilege":true}' },
      args: ["--least-privilege", "false"],
      expected: false,
    },
    {
      what: "a config that names only backends leaves it unset",
      files: { "tributary.config.json": '{"backends":[]}' },
      expected: null,
    },
  ])("$what", async ({ files = {}, args = [], flow = "plain", expected }) => {
    const r = await runBin(["run", addresses[flow], "--json", ...args], { home, cwd: folder(files) });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).result).toBe(expected);
  });

  it.each([
    [
      "a misspelt key",
      { "tributary.config.json": '{"leastPrivelege":true}' },
      [],
      1,
      'unknown key "leastPrivelege"',
    ],
    [
      "a value that is not a boolean",
      { "tributary.config.json": '{"leastPrivilege":"yes"}' },
      [],
      1,
      "must be true or false",
    ],
    ["--least-privilege yes", {}, ["--least-privilege", "yes"], 2, "--least-privilege takes true or false"],
    [
      "--config with --queue",
      {},
      ["--config", "x.json", "--queue", "q"],
      2,
      "a queued run takes its agent's",
    ],
    [
      "--least-privilege with --config",
      { "c.json": "{}" },
      ["--least-privilege", "true", "--config", "c.json"],
      2,
      "give --least-privilege or --config, not both",
    ],
  ])("refuses %s before running anything", async (_, files, args, code, says) => {
    const r = await runBin(["run", addresses.plain, ...args], { home, cwd: folder(files) });
    expect(r.code).toBe(code);
    expect(r.stderr).toContain(says);
    expect(r.stdout).not.toContain("Flow run probe");
  });
});

describe("tributary agent start: the agent's config is the default of its runs", () => {
  let redis: RedisServer;
  const agents: ChildProcess[] = [];
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    for (const child of agents) if (child.exitCode === null) child.kill("SIGKILL");
    await redis?.close();
  });

  async function startAgent(queue: string, cwd: string, extra: string[]): Promise<string> {
    const child = spawn(
      process.execPath,
      [BIN, "agent", "start", "--redis", redis.url, "--queue", queue, ...extra],
      {
        cwd,
        env: cliEnv(tempHome()),
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    agents.push(child);
    return (await agentReady(child)).stderr();
  }

  it.each<{
    what: string;
    isolation: string;
    files: Record<string, string>;
    args: string[];
    expected: boolean;
  }>([
    {
      what: "child runs take the folder's tributary.config.json",
      isolation: "child-process",
      files: { "tributary.config.json": '{"leastPrivilege":true}' },
      args: [],
      expected: true,
    },
    {
      what: "in-process runs take --config FILE",
      isolation: "in-process",
      files: { "agent.json": '{"leastPrivilege":true}' },
      args: ["--config", "agent.json"],
      expected: true,
    },
    {
      what: "a child run reads no config of its own: the agent's --config FILE, unset, is not the folder's true",
      isolation: "child-process",
      files: { "tributary.config.json": '{"leastPrivilege":true}', "agent.json": "{}" },
      args: ["--config", "agent.json"],
      expected: false,
    },
  ])("$what", async ({ isolation, files, args, expected }) => {
    const queue = `lp-${Math.random().toString(36).slice(2)}`;
    const cwd = folder(files);
    const said = await startAgent(queue, cwd, ["--isolation", isolation, ...args]);
    expect(said.includes("leastPrivilege: true for runs")).toBe(expected);
    const r = await runBin(
      ["run", addresses.plain, "--queue", queue, "--wait", "--json", "--redis", redis.url],
      {
        home,
        cwd,
      },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).result).toBe(expected);
  });
});
