// The checks of what a user gets, shared by `pnpm check:install` (packages installed from their tarballs) and
// `pnpm release:rehearse` (installed by name from a registry): each step is timed and reported, a failing step is
// named and the others still run.
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

export const root: string = fileURLToPath(new URL("..", import.meta.url));

/** A published @tributary/* package of the workspace: its folder and manifest. */
export interface WorkspacePackage {
  dir: string;
  manifest: {
    name: string;
    version: string;
    private?: boolean;
    dependencies?: Record<string, string>;
    peerDependencies?: Record<string, string>;
    peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  };
}

/** Every @tributary/* package under packages/ that is published (not private). */
export function workspacePackages(): WorkspacePackage[] {
  return readdirSync(join(root, "packages"))
    .map((dir) => join(root, "packages", dir))
    .map((dir) => ({
      dir,
      manifest: JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as WorkspacePackage["manifest"],
    }))
    .filter(({ manifest }) => manifest.name.startsWith("@tributary/") && !manifest.private);
}

/**
 * The optional peer dependencies a project that uses every feature installs beside our packages, as the docs tell it
 * to: the AWS service clients other than S3's (docs/aws.md). Not `typescript`, the optional peer of
 * @tributary/testing's `checkConventions`.
 */
export function optionalClients(packages: readonly WorkspacePackage[]): string[] {
  return packages.flatMap(({ manifest }) =>
    Object.keys(manifest.peerDependencies ?? {}).filter(
      (name) => manifest.peerDependenciesMeta?.[name]?.optional === true && name.startsWith("@aws-sdk/"),
    ),
  );
}

/** Runs named steps, printing each with its time; a failure is recorded and printed, and the next step runs. */
export function createSteps() {
  const failures: string[] = [];
  const step = (what: string, run: () => void) => {
    const started = performance.now();
    try {
      run();
      console.log(`ok   ${what} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
    } catch (error) {
      const e = error as { stdout?: Buffer | string; stderr?: Buffer | string; message: string };
      const output = `${e.stdout ?? ""}${e.stderr ?? ""}`.trim() || e.message;
      failures.push(what);
      console.log(`FAIL ${what}\n${output.replace(/^/gm, "     ")}`);
    }
  };
  return { failures, step };
}

/** Runs a command (10 minutes at most) and returns its stdout; throws with its output when it fails. */
export function run(
  command: string,
  args: readonly string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv },
): string {
  return execFileSync(command, args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: "pipe",
    encoding: "utf8",
    timeout: 600_000,
  });
}

/**
 * In `project`, where `names` are installed (with @tributary/testing and @types/node): imports each from ESM and
 * requires it from CommonJS (also with require(esm) off), type-checks consumers (node16 ESM and CommonJS, bundler)
 * with skipLibCheck off, runs the README example against the installed stand-ins, and runs an s3:// deployment from
 * a program that imports only @tributary/flow. `home` is a scratch TRIBUTARY_HOME.
 */
export function checkConsumer(
  project: string,
  names: readonly string[],
  home: string,
  step: (what: string, run: () => void) => void,
): void {
  for (const name of names) {
    step(`ESM: import("${name}")`, () => {
      run(
        process.execPath,
        [
          "--input-type=module",
          "-e",
          `const m = await import(${JSON.stringify(name)}); if (Object.keys(m).length === 0) throw new Error("no exports");`,
        ],
        { cwd: project },
      );
    });
    for (const requireEsm of [true, false]) {
      step(
        `CJS: require("${name}")${requireEsm ? "" : " with require(esm) off (Node 20 before 20.19)"}`,
        () => {
          run(
            process.execPath,
            [
              ...(requireEsm ? [] : ["--no-experimental-require-module"]),
              "--input-type=commonjs",
              "-e",
              `const m = require(${JSON.stringify(name)}); if (Object.keys(m).length === 0) throw new Error("no exports");`,
            ],
            { cwd: project },
          );
        },
      );
    }
  }

  // One consumer that touches every package's types, checked three ways.
  const imports = names
    .map((name, i) => `import * as p${i} from "${name}";\nexport const use${i} = Object.keys(p${i});`)
    .join("\n");
  const typed = `${imports}
import { s3Download, ServiceError } from "@tributary/aws";
import { gcsCopy } from "@tributary/gcp";
export async function example(): Promise<string> {
  const { body } = await s3Download({ bucket: "b", key: "k" });
  await gcsCopy({ from: { bucket: "b", key: "k" }, to: { key: "k2" } }).catch((e: unknown) => {
    if (ServiceError.isInstance(e)) return e.reason;
    throw e;
  });
  return body.toString("utf8");
}
`;
  const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
  const consumers: {
    name: string;
    dir: string;
    type: "module" | "commonjs";
    options: Record<string, unknown>;
  }[] = [
    {
      name: "node16, ESM",
      dir: "esm-node16",
      type: "module",
      options: { module: "node16", moduleResolution: "node16" },
    },
    {
      name: "node16, CommonJS",
      dir: "cjs-node16",
      type: "commonjs",
      options: { module: "node16", moduleResolution: "node16" },
    },
    {
      name: "bundler",
      dir: "bundler",
      type: "module",
      options: { module: "esnext", moduleResolution: "bundler" },
    },
  ];
  for (const consumer of consumers) {
    const dir = join(project, consumer.dir);
    mkdirSync(dir);
    writeFileSync(join(dir, "package.json"), JSON.stringify({ type: consumer.type }));
    writeFileSync(join(dir, "index.ts"), typed);
    writeFileSync(
      join(dir, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          ...consumer.options,
          target: "es2022",
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          types: ["node"],
        },
        files: ["index.ts"],
      }),
    );
    step(`tsc consumer (${consumer.name}, skipLibCheck off)`, () => {
      let output = "";
      try {
        run(process.execPath, [tsc, "-p", join(dir, "tsconfig.json")], { cwd: dir });
      } catch (error) {
        output = String((error as { stdout?: string }).stdout ?? "");
      }
      // Errors in our declarations or in the consumer fail; errors inside other packages' own declarations (such as
      // google-auth-library's, under node16) are theirs, listed but not counted.
      const lines = output.split("\n").filter((l) => /error TS\d+/.test(l));
      const theirs = lines.filter((l) => /node_modules\//.test(l) && !/node_modules\/@tributary\//.test(l));
      const ours = lines.filter((l) => !theirs.includes(l));
      for (const line of theirs) console.log(`     (a third-party declaration error, not counted) ${line}`);
      if (ours.length > 0) throw new Error(ours.join("\n"));
    });
  }

  // The README's example, as written, against the installed stand-ins: its S3 client finds the stand-in through
  // AWS_ENDPOINT_URL_S3, its webhook through NIGHTLY_WEBHOOK; nothing in the example is changed.
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const example = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  step("the README example runs against the stand-ins", () => {
    if (!example) throw new Error("README.md has no ts example");
    const js = ts.transpileModule(example, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    }).outputText;
    writeFileSync(join(project, "readme-example.mjs"), js);
    writeFileSync(
      join(project, "run-readme.mjs"),
      `import { startS3StandIn, startSlackStandIn } from "@tributary/testing";
import { s3Upload } from "@tributary/aws";
const s3 = await startS3StandIn();
const slack = await startSlackStandIn({ webhooks: ["T000/B000/readme"] });
try {
  s3.createBucket("exports");
  const key = s3.keyPairs[0];
  process.env.AWS_ENDPOINT_URL_S3 = s3.url;
  process.env.AWS_REGION = "us-east-1";
  process.env.TRIBUTARY__CONTEXT__SECRETS__AWS_CREDENTIALS = JSON.stringify({ ACCESS_KEY: key.accessKeyId, SECRET_ACCESS_KEY: key.secretAccessKey });
  process.env.NIGHTLY_WEBHOOK = slack.webhookUrl("T000/B000/readme");
  await s3Upload({ bucket: "exports", key: "2026-11-26.csv", body: "id,total\\n1,42\\n2,7\\n" });
  await import("./readme-example.mjs");
  const texts = slack.received.webhooks.map((w) => w.payload.text);
  if (!texts.includes("Nightly export 2026-11-26: 2 rows")) throw new Error("the webhook got " + JSON.stringify(texts));
} finally {
  await s3.close();
  await slack.close();
}
`,
    );
    const out = run(process.execPath, ["run-readme.mjs"], {
      cwd: project,
      env: { TRIBUTARY_HOME: home },
    });
    if (!out.includes("completed")) throw new Error(`the example printed:\n${out}`);
  });

  // runDeployment from a program that imports only @tributary/flow: the s3:// kind comes from the installed
  // @tributary/aws, found by the address's scheme, from the ESM and the CommonJS build.
  step("runDeployment(s3://…) from a program importing only @tributary/flow (ESM and CJS)", () => {
    const body = `const report = await runDeployment(process.argv[2]);
console.log(report.state, report.result);`;
    writeFileSync(
      join(project, "from-code.mjs"),
      `import { runDeployment } from "@tributary/flow";\n${body}\n`,
    );
    writeFileSync(
      join(project, "from-code.cjs"),
      `const { runDeployment } = require("@tributary/flow");\n(async () => {\n${body}\n})();\n`,
    );
    writeFileSync(
      join(project, "deploy-and-run.mjs"),
      `import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { s3Storage } from "@tributary/aws";
import { BUNDLE_FILE, MANIFEST_FILE, createManifest } from "@tributary/flow";
import { startS3StandIn } from "@tributary/testing";
const s3 = await startS3StandIn({ buckets: ["flows"] });
try {
  const key = s3.keyPairs[0];
  process.env.AWS_ENDPOINT_URL_S3 = s3.url;
  process.env.AWS_REGION = "us-east-1";
  process.env.TRIBUTARY__CONTEXT__SECRETS__AWS_CREDENTIALS = JSON.stringify({ ACCESS_KEY: key.accessKeyId, SECRET_ACCESS_KEY: key.secretAccessKey });
  const bundle = Buffer.from('import { flow } from "@tributary/flow";\\nexport const nightly = flow({ name: "nightly" }, async () => 42);\\n');
  const manifest = createManifest({ flow: "nightly", flowSecrets: [], storageSecrets: ["AWS_CREDENTIALS"], bundle, tributary: {} });
  await s3Storage({ bucket: "flows", prefix: "prod/" }).save("nightly", [
    { name: BUNDLE_FILE, bytes: bundle },
    { name: MANIFEST_FILE, bytes: Buffer.from(JSON.stringify(manifest)) },
  ]);
  for (const script of ["from-code.mjs", "from-code.cjs"]) {
    const { stdout } = await promisify(execFile)(process.execPath, [script, "s3://flows/prod/nightly"]);
    if (stdout.trim() !== "completed 42") throw new Error(script + " printed " + stdout);
  }
} finally {
  await s3.close();
}
`,
    );
    run(process.execPath, ["deploy-and-run.mjs"], {
      cwd: project,
      env: { TRIBUTARY_HOME: home },
    });
  });
}
