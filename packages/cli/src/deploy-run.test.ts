import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import {
  type AwsKeyPair,
  generateGitHubToken,
  type RecordedRequest,
  randomKeyPair,
  startGitHubStandIn,
  startGoogleStandIn,
  startMoto,
  startS3StandIn,
} from "@tributary/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CliResult, collectOutput } from "../test/helpers.js";

const CLI = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const BIN = join(CLI, "dist", "bin.js");
const PREFIX = "TRIBUTARY__CONTEXT__SECRETS__";

/** Runs `node ...args` in `cwd` with exactly `env` (plus PATH): no credential is inherited. */
function node(args: readonly string[], cwd: string, env: Record<string, string>): Promise<CliResult> {
  const child = spawn(process.execPath, [...args], {
    cwd,
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  return collectOutput(child);
}

const folders: string[] = [];
afterAll(() => {
  for (const f of folders.splice(0)) rmSync(f, { recursive: true, force: true });
});

/** A user's project: a package.json, the installed packages (the CLI's node_modules) and a flow file. */
function project(flowSource: string): { dir: string; file: string; home: string } {
  const dir = mkdtempSync(join(tmpdir(), "tributary-project-"));
  folders.push(dir);
  symlinkSync(join(CLI, "node_modules"), join(dir, "node_modules"), "dir");
  writeFileSync(
    join(dir, "package.json"),
    JSON.stringify({ name: "my-flows", private: true, type: "module" }),
  );
  const file = join(dir, "nightly.ts");
  writeFileSync(file, flowSource);
  const home = join(dir, ".tributary-home");
  return { dir, file, home };
}

/**
 * The user's flow: it writes a marker file when it runs, and its task reads the deployment's manifest back
 * through the storage, with the credential the run was given for the storage and nothing else.
 */
function flowSource(storageImport: string, storage: string): string {
  return `${storageImport}
import { flow, task } from "@tributary/flow";
import { writeFileSync } from "node:fs";

export const storage = ${storage};
const readBack = task({ name: "read-back" }, async () => {
  const bytes = await storage.load("nightly", "manifest.json");
  return bytes.length;
});

export const nightly = flow({ name: "nightly", storage }, async ({ params }: { params: { marker: string } }) => {
  writeFileSync(params.marker, "ran");
  return { manifestBytes: await readBack() };
});
`;
}

interface Target {
  name: string;
  source: string;
  /** The env of the child processes: the storage credential as a TRIBUTARY__CONTEXT__SECRETS__ variable, endpoints. */
  env: Record<string, string>;
  /** The same with a credential the service refuses. */
  wrongEnv: Record<string, string>;
  /** The variable holding the credential. */
  variable: string;
  /** Deploys; returns the address. */
  deploy(p: { dir: string; file: string; home: string }): Promise<string>;
  /** Runs in a fresh child process. */
  run(
    address: string,
    p: { dir: string; home: string },
    env: Record<string, string>,
    params: object,
  ): Promise<CliResult>;
  /** The storage's requests for the deployment, with the credential each carried. */
  pulls(): { path: string; credential: string | undefined }[];
  /** What `credential` must be for each pull. */
  expected: string | undefined;
  /** A secret value that must never be printed. */
  secret: string;
  /** Forgets the requests seen so far. */
  resetLog(): void;
  close(): Promise<void>;
}

const cliRun = (
  address: string,
  p: { dir: string; home: string },
  env: Record<string, string>,
  params: object,
) =>
  node([BIN, "run", address, "--params", JSON.stringify(params), "--json"], p.dir, {
    TRIBUTARY_HOME: p.home,
    ...env,
  });

const cliDeploy = async (p: { dir: string; file: string; home: string }, env: Record<string, string>) => {
  const result = await node([BIN, "deploy", p.file, "--json"], p.dir, { TRIBUTARY_HOME: p.home, ...env });
  expect(result.code, result.stderr).toBe(0);
  return (JSON.parse(result.stdout) as { address: string }).address;
};

const awsEnv = (home: string) => ({
  AWS_CONFIG_FILE: join(home, "no-aws-config"),
  AWS_SHARED_CREDENTIALS_FILE: join(home, "no-aws-credentials"),
  AWS_EC2_METADATA_DISABLED: "true",
});

const awsSecret = (key: AwsKeyPair) =>
  JSON.stringify({ ACCESS_KEY: key.accessKeyId, SECRET_ACCESS_KEY: key.secretAccessKey });

const s3Source = flowSource(
  'import { s3Storage } from "@tributary/aws";',
  's3Storage({ bucket: "flows", prefix: "prod/", secrets: ["AWS_CREDENTIALS"] })',
);

async function s3StandInTarget(): Promise<Target> {
  const s3 = await startS3StandIn({ buckets: ["flows"] });
  const key = s3.keyPairs[0] as AwsKeyPair;
  const base = { AWS_ENDPOINT_URL_S3: s3.url, ...awsEnv(tmpdir()) };
  const env = { ...base, [`${PREFIX}AWS_CREDENTIALS`]: awsSecret(key) };
  return {
    name: "S3 (stand-in)",
    source: s3Source,
    env,
    wrongEnv: {
      ...base,
      [`${PREFIX}AWS_CREDENTIALS`]: awsSecret({ ...key, secretAccessKey: randomKeyPair().secretAccessKey }),
    },
    variable: `${PREFIX}AWS_CREDENTIALS`,
    deploy: (p) => cliDeploy(p, env),
    run: cliRun,
    pulls: () =>
      s3.requests
        .filter((r) => r.method === "GET" && r.path.includes("prod/nightly/"))
        .map((r) => ({
          path: r.path,
          credential: /Credential=([^/]+)\//.exec(String(r.headers.authorization))?.[1],
        })),
    expected: key.accessKeyId,
    secret: key.secretAccessKey,
    resetLog: () => s3.reset(),
    close: () => s3.close(),
  };
}

async function motoTarget(): Promise<Target> {
  const moto = await startMoto();
  const admin = new S3Client({
    endpoint: moto.url,
    forcePathStyle: true,
    region: "us-east-1",
    credentials: moto.keyPair,
  });
  await admin.send(new CreateBucketCommand({ Bucket: "flows" }));
  const base = { AWS_ENDPOINT_URL_S3: moto.url, ...awsEnv(tmpdir()) };
  const env = { ...base, [`${PREFIX}AWS_CREDENTIALS`]: awsSecret(moto.keyPair) };
  return {
    name: "S3 (moto, IAM auth)",
    source: s3Source,
    env,
    wrongEnv: {
      ...base,
      [`${PREFIX}AWS_CREDENTIALS`]: awsSecret({
        ...moto.keyPair,
        secretAccessKey: randomKeyPair().secretAccessKey,
      }),
    },
    variable: `${PREFIX}AWS_CREDENTIALS`,
    deploy: (p) => cliDeploy(p, env),
    run: cliRun,
    // moto keeps no request log: it recomputes every SigV4 signature, so a pull that worked was signed with the key.
    pulls: () => [],
    expected: undefined,
    secret: moto.keyPair.secretAccessKey,
    resetLog: () => {},
    close: () => moto.close(),
  };
}

async function gcsTarget(): Promise<Target> {
  const google = await startGoogleStandIn();
  google.createBucket("flows");
  const key = await google.createServiceAccount();
  const other = await startGoogleStandIn();
  const stranger = await other.createServiceAccount();
  await other.close();
  const base = { STORAGE_EMULATOR_HOST: google.url };
  const env = { ...base, [`${PREFIX}GCP_CREDENTIALS`]: JSON.stringify(key) };
  return {
    name: "Cloud Storage (stand-in)",
    source: flowSource(
      'import { gcsStorage } from "@tributary/gcp";',
      'gcsStorage({ bucket: "flows", prefix: "prod/", secrets: ["GCP_CREDENTIALS"] })',
    ),
    env,
    // A key the token endpoint does not know, with this stand-in's token endpoint.
    wrongEnv: {
      ...base,
      [`${PREFIX}GCP_CREDENTIALS`]: JSON.stringify({ ...stranger, token_uri: key.token_uri }),
    },
    variable: `${PREFIX}GCP_CREDENTIALS`,
    deploy: (p) => cliDeploy(p, env),
    run: cliRun,
    pulls: () =>
      google.requests
        .filter((r: RecordedRequest) => r.method === "GET" && r.path.includes("/b/flows/o/"))
        .map((r) => ({
          path: r.path,
          credential: /^Bearer (.+)$/.exec(String(r.headers.authorization))?.[1] ? "bearer" : undefined,
        })),
    expected: "bearer",
    secret: key.private_key.split("\n")[1] as string,
    resetLog: () => google.reset(),
    close: () => google.close(),
  };
}

async function githubTarget(): Promise<Target> {
  const token = generateGitHubToken();
  const github = await startGitHubStandIn({
    tokens: [{ token, repos: ["acme/flows"] }],
    repos: [{ fullName: "acme/flows", private: true, files: { "README.md": "flows\n" } }],
  });
  // GITHUB_API_URL points the storage at the stand-in, as at a GitHub Enterprise server: the address is unchanged.
  const env = { GITHUB_API_URL: github.url, [`${PREFIX}GITHUB_ACCESS_TOKEN`]: token };
  return {
    name: "GitHub (stand-in)",
    source: flowSource(
      'import { githubStorage } from "@tributary/github";',
      'githubStorage({ repo: "acme/flows", path: "prod/", ref: "main" })',
    ),
    env,
    wrongEnv: { GITHUB_API_URL: github.url, [`${PREFIX}GITHUB_ACCESS_TOKEN`]: generateGitHubToken() },
    variable: `${PREFIX}GITHUB_ACCESS_TOKEN`,
    deploy: (p) => cliDeploy(p, env),
    run: cliRun,
    pulls: () =>
      github.requests
        .filter((r) => r.method === "GET" && r.path.includes("/contents/prod/nightly/"))
        .map((r) => ({
          path: r.path,
          credential: /^token (.+)$/.exec(String(r.headers.authorization))?.[1],
        })),
    expected: token,
    secret: token,
    resetLog: () => github.reset(),
    close: () => github.close(),
  };
}

const targets: [string, () => Promise<Target>][] = [
  ["S3 (stand-in)", s3StandInTarget],
  ["S3 (moto, IAM auth)", motoTarget],
  ["Cloud Storage (stand-in)", gcsTarget],
  ["GitHub (stand-in)", githubTarget],
];

describe.each(targets)("deploy and run through %s", (_, start) => {
  let target: Target;
  let p: { dir: string; file: string; home: string };
  let address: string;
  beforeAll(async () => {
    target = await start();
    p = project(target.source);
    address = await target.deploy(p);
    target.resetLog();
  });
  afterAll(() => target?.close());

  it("runs in a fresh child process whose only credential is a TRIBUTARY__CONTEXT__SECRETS__ variable", async () => {
    expect(address).toMatch(
      /^(s3|gs):\/\/flows\/prod\/nightly$|^github:\/\/acme\/flows\/prod\/nightly@main$/,
    );
    const marker = join(p.dir, "marker-ok");
    const result = await target.run(address, p, target.env, { marker });
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report).toMatchObject({
      flow: "nightly",
      state: "completed",
      result: { manifestBytes: expect.any(Number) },
    });
    expect(report.result.manifestBytes).toBeGreaterThan(100);
    expect(report.tasks.map((t: { name: string }) => t.name)).toEqual(["read-back"]);
    expect(existsSync(marker)).toBe(true);
    // The pull (manifest, bundle) and the task's read all carried the storage's credential.
    const pulls = target.pulls();
    if (target.expected !== undefined) {
      expect(pulls.map((r) => r.path.replace(/.*nightly(\/|%2F)/, ""))).toEqual([
        "manifest.json",
        "flow.mjs",
        "manifest.json",
      ]);
      expect(pulls.every((r) => r.credential === target.expected)).toBe(true);
    }
    expect(result.stdout + result.stderr).not.toContain(target.secret);
  });

  it("runs from a program that imports nothing but @tributary/flow: the kind is found by the address's scheme", async () => {
    const script = join(p.dir, "from-code.mjs");
    writeFileSync(
      script,
      `import { readDeploymentManifest, runDeployment } from "@tributary/flow";
const [address, marker] = process.argv.slice(2);
const manifest = await readDeploymentManifest(address);
const report = await runDeployment(address, { params: { marker } });
console.log(JSON.stringify({ storageSecrets: manifest.secrets.storage, report }));
`,
    );
    const marker = join(p.dir, "marker-from-code");
    const result = await node([script, address, marker], p.dir, { TRIBUTARY_HOME: p.home, ...target.env });
    expect(result.code, result.stderr).toBe(0);
    const { storageSecrets, report } = JSON.parse(result.stdout);
    expect(storageSecrets).toEqual([target.variable.slice(PREFIX.length)]);
    expect(report).toMatchObject({ flow: "nightly", state: "completed" });
    expect(existsSync(marker)).toBe(true);
    expect(result.stdout + result.stderr).not.toContain(target.secret);
  });

  it("refuses a wrong storage credential with CredentialRejectedError naming the variable; nothing runs", async () => {
    const marker = join(p.dir, "marker-wrong");
    const result = await target.run(address, p, target.wrongEnv, { marker });
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout);
    expect(report.state).toBe("failed");
    expect(report.error.name).toBe("CredentialRejectedError");
    expect(report.error.message).toContain(target.variable);
    expect(existsSync(marker)).toBe(false);
  });
});

describe("what deploy and run refuse", () => {
  it("refuses a bundle changed by one byte in S3: nothing is imported or run", async () => {
    const target = await s3StandInTarget();
    try {
      const p = project(target.source);
      const address = await target.deploy(p);
      const secret = JSON.parse(target.env[`${PREFIX}AWS_CREDENTIALS`] as string);
      const s3 = new S3Client({
        endpoint: target.env.AWS_ENDPOINT_URL_S3 as string,
        forcePathStyle: true,
        region: "us-east-1",
        credentials: { accessKeyId: secret.ACCESS_KEY, secretAccessKey: secret.SECRET_ACCESS_KEY },
      });
      const stored = await s3.send(new GetObjectCommand({ Bucket: "flows", Key: "prod/nightly/flow.mjs" }));
      const bundle = Buffer.from((await stored.Body?.transformToByteArray()) ?? []);
      const at = bundle.indexOf("writeFileSync(");
      bundle.writeUInt8((bundle[at] as number) ^ 1, at);
      await s3.send(new PutObjectCommand({ Bucket: "flows", Key: "prod/nightly/flow.mjs", Body: bundle }));
      const marker = join(p.dir, "marker-tampered");
      const result = await target.run(address, p, target.env, { marker });
      expect(result.code).toBe(1);
      const report = JSON.parse(result.stdout);
      expect(report).toMatchObject({
        flow: "nightly",
        state: "failed",
        error: { name: "DeploymentError", code: "BUNDLE_MISMATCH" },
      });
      expect(report.error.message).toContain(address);
      expect(existsSync(marker)).toBe(false);
    } finally {
      await target.close();
    }
  });

  it("refuses to deploy a flow file holding a token that is also in the env, without printing it", async () => {
    const token = generateGitHubToken();
    const storage = join(tmpdir(), `tributary-flows-${process.pid}-${Date.now()}`);
    folders.push(storage);
    const p = project(`import { fileStorage, flow } from "@tributary/flow";
const headers = { authorization: "token ${token}" };
export const nightly = flow({ name: "nightly", storage: fileStorage({ path: ${JSON.stringify(storage)} }) }, async () => headers);
`);
    const result = await node([BIN, "deploy", p.file], p.dir, {
      TRIBUTARY_HOME: p.home,
      [`${PREFIX}GITHUB_ACCESS_TOKEN`]: token,
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /contains the value of secret GITHUB_ACCESS_TOKEN \(from env \(TRIBUTARY__CONTEXT__SECRETS__GITHUB_ACCESS_TOKEN\)\) at nightly\.ts:2/,
    );
    expect(result.stdout + result.stderr).not.toContain(token);
    expect(existsSync(storage) ? readdirSync(storage) : []).toEqual([]);
  });

  const refused: [string, string, string[], RegExp][] = [
    [
      "a flow file that does not compile, with esbuild's file and line",
      'import { flow } from "@tributary/flow";\nexport const nightly = flow({ name: "nightly" }, async () => {\n  return 1 +;\n});\n',
      [],
      /nightly\.ts does not compile:\n\s+nightly\.ts:3:\d+: /,
    ],
    [
      "a flow without storage and no --storage",
      'import { flow } from "@tributary/flow";\nexport const nightly = flow({ name: "nightly" }, async () => 1);\n',
      [],
      /flow "nightly" declares no storage: .* or pass --storage ADDRESS/,
    ],
    [
      "a module that throws when loaded",
      'import { flow } from "@tributary/flow";\nthrow new Error("config missing");\nexport const nightly = flow({ name: "nightly" }, async () => 1);\n',
      [],
      /nightly\.ts could not be loaded to find its flow: Error: config missing/,
    ],
    [
      "a --storage address with a credential in it",
      'import { flow } from "@tributary/flow";\nexport const nightly = flow({ name: "nightly" }, async () => 1);\n',
      ["--storage", "s3://AKIAEXAMPLE:hunter2-secret@flows/prod/"],
      /Invalid storage: the address holds user info/,
    ],
    [
      "an unknown storage scheme",
      'import { flow } from "@tributary/flow";\nexport const nightly = flow({ name: "nightly" }, async () => 1);\n',
      ["--storage", "ftp://flows/prod/"],
      /unknown storage kind "ftp:\/\/"; known: file:\/\/, s3:\/\/, gs:\/\/, github:\/\//,
    ],
  ];
  it.each(refused)("refuses %s before writing anything", async (_, source, extra, message) => {
    const p = project(source);
    const result = await node([BIN, "deploy", p.file, ...extra], p.dir, { TRIBUTARY_HOME: p.home });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toContain("hunter2-secret");
  });

  it("deploys to a folder and runs from it; --params reaches the flow and exit codes follow the run", async () => {
    const storage = mkdtempSync(join(tmpdir(), "tributary-folder-"));
    folders.push(storage);
    const p = project(`import { fileStorage, flow } from "@tributary/flow";
export const nightly = flow({ name: "nightly", secrets: ["MY_WEBHOOK"], storage: fileStorage({ path: ${JSON.stringify(storage)} }) },
  async ({ params }: { params: { fail?: boolean; day: string } }) => {
    if (params.fail) throw new Error("asked to fail on " + params.day);
    return params.day;
  });
`);
    const deployed = await node([BIN, "deploy", p.file], p.dir, { TRIBUTARY_HOME: p.home });
    expect(deployed.code).toBe(0);
    const address = `file://${storage}/nightly`;
    expect(deployed.stdout).toContain(`Deployed flow nightly to ${address}`);
    expect(deployed.stdout).toContain("a run needs: MY_WEBHOOK (flow)");
    const env = { TRIBUTARY_HOME: p.home, [`${PREFIX}MY_WEBHOOK`]: "https://hooks.example.com/abc" };
    const ok = await node(
      [BIN, "run", address, "--params", '{"day":"2026-11-25"}', "--run-id", "run-1"],
      p.dir,
      env,
    );
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain("Flow run nightly (run-1): completed");
    expect(ok.stdout).toContain('Result: "2026-11-25"');
    const failed = await node(
      [BIN, "run", address, "--params", '{"day":"x","fail":true}', "--json"],
      p.dir,
      env,
    );
    expect(failed.code).toBe(1);
    expect(JSON.parse(failed.stdout)).toMatchObject({
      state: "failed",
      error: { message: "asked to fail on x" },
    });
    const missing = await node([BIN, "run", address, "--json"], p.dir, { TRIBUTARY_HOME: p.home });
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.stdout).error.name).toBe("MissingCredentialsError");
    const badParams = await node([BIN, "run", address, "--params", "{nope"], p.dir, env);
    expect(badParams.code).toBe(2);
    expect(badParams.stderr).toContain("--params must be JSON");
  });
});

describe("the cloud SDKs load only when an address needs them", () => {
  it("tributary --help and a file:// run load no AWS, Google or GitHub SDK", async () => {
    const storage = mkdtempSync(join(tmpdir(), "tributary-lazy-"));
    folders.push(storage);
    const p = project(`import { fileStorage, flow } from "@tributary/flow";
export const nightly = flow({ name: "nightly", storage: fileStorage({ path: ${JSON.stringify(storage)} }) }, async () => 1);
`);
    const deployed = await node([BIN, "deploy", p.file], p.dir, { TRIBUTARY_HOME: p.home });
    expect(deployed.code, deployed.stderr).toBe(0);
    const probe = join(p.dir, "probe.mjs");
    writeFileSync(
      probe,
      `import { createRequire } from "node:module";
import { runCli } from ${JSON.stringify(join(CLI, "dist", "index.js"))};
const quiet = { stdout: { write() {} }, stderr: { write() {} } };
const loaded = () => Object.keys(createRequire(import.meta.url).cache).filter((k) => /@aws-sdk|googleapis|google-auth-library|@octokit/.test(k)).length;
const help = await runCli(["--help"], quiet);
const afterHelp = loaded();
const run = await runCli(["run", ${JSON.stringify(`file://${storage}/nightly`)}], quiet);
process.stdout.write(JSON.stringify({ help, afterHelp, run, afterRun: loaded() }));
`,
    );
    const result = await node([probe], p.dir, { TRIBUTARY_HOME: p.home });
    expect(JSON.parse(result.stdout)).toEqual({ help: 0, afterHelp: 0, run: 0, afterRun: 0 });
  });
});
