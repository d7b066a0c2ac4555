// The release, rehearsed against a real npm registry: proves that the day we publish, installing by name works.
// 1. Starts Verdaccio on a free localhost port with throwaway storage holding an offline cache of our third-party
//    dependencies (made from the lockfile's installed copies: see scripts/local-registry.ts for why not an uplink).
// 2. In a throwaway copy of the repository: `changeset version` (the pending changesets applied), then
//    `changeset publish`, the release's own command, authenticated by a token in a `.npmrc` written for the run.
// 3. Checks each published package as the registry serves it (scripts/release-checks.ts): no `workspace:`, the
//    @tributary/* dependencies on the version published together, README.md and LICENSE in the tarball, `files`
//    holding what the entry points reach and nothing else, repository, license, engines, publishConfig.provenance.
// 4. In fresh folders outside the workspace: `npm install` and `pnpm add` of our packages BY NAME from that registry;
//    imports and requires, `npx tributary --help` and `doctor`, type-checked consumers, the README example against
//    the stand-ins (installed by name too): the consumer checks `pnpm check:install` runs on tarballs.
// 5. Measures the install size of @tributary/aws (with its dependencies) against @aws-sdk/client-s3 alone.
// Verdaccio is stopped and its storage removed whatever happens (and `.ci/run` traps the same, through
// TRIBUTARY_REHEARSAL_DIR, in case this process itself is killed).
//
// The one difference from the release: the release job runs in GitHub Actions, where `changeset publish` attests
// provenance through the job's OIDC token; here there is no OIDC provider and no provenance is made (pnpm only
// attests when asked with `--provenance`; see docs/releasing.md). Needs `pnpm build` first.
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import {
  checkConsumer,
  createSteps,
  optionalClients,
  root,
  run,
  workspacePackages,
} from "./consumer-checks.ts";
import {
  dependencyClosure,
  type LocalRegistry,
  removeRegistryDir,
  seedStorage,
  startLocalRegistry,
} from "./local-registry.ts";
import { checkPublishedPackage, installedPackage, type PublishedManifest } from "./release-checks.ts";

const started = performance.now();
const seconds = () => ((performance.now() - started) / 1000).toFixed(0);
const dir = process.env.TRIBUTARY_REHEARSAL_DIR ?? mkdtempSync(join(tmpdir(), "tributary-rehearsal-"));
mkdirSync(join(dir, "storage"), { recursive: true });
let registry: LocalRegistry | undefined;
/** The version the fixed group is published at, once `changeset version` has run. */
let version = "";
let cleaned = false;
const cleanUp = () => {
  if (cleaned) return;
  cleaned = true;
  registry?.stop();
  if (!process.argv.includes("--keep")) removeRegistryDir(dir);
};
process.on("exit", cleanUp);
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const)
  process.on(signal, () => {
    cleanUp();
    process.exit(130);
  });

const packages = workspacePackages();
/** What a user installs: every integration, the flow core and the command (auth comes as their peer). */
const USER_PACKAGES = [
  "@tributary/flow",
  "@tributary/aws",
  "@tributary/gcp",
  "@tributary/slack",
  "@tributary/github",
  "@tributary/cli",
];
/** The optional AWS service clients: the consumers below use every feature, so they install them as the docs say. */
const OPTIONAL_CLIENTS = optionalClients(packages);
const { failures, step } = createSteps();
/** A step the later ones build on: when it fails, the rehearsal stops there (with the registry stopped). */
const required = (what: string, run: () => void) => {
  step(what, run);
  if (failures.includes(what)) finish();
};

// The offline cache: every third-party package that installing our packages needs, at its lockfile version, and
// @types/node for the type-checked consumers.
const closure = dependencyClosure(
  [
    ...packages.map(({ dir, manifest }) => ({
      from: dir,
      names: [
        ...Object.keys(manifest.dependencies ?? {}),
        ...Object.keys(manifest.peerDependencies ?? {}).filter(
          (name) => manifest.peerDependenciesMeta?.[name]?.optional !== true,
        ),
      ],
    })),
    { from: root, names: ["@types/node"] },
    ...packages.map((pkg) => ({ from: pkg.dir, names: optionalClients([pkg]) })),
  ],
  "@tributary/",
);
await seedStorage(join(dir, "storage"), closure);
console.log(
  `registry: ${closure.size} third-party packages cached from the lockfile's installs (${seconds()} s)`,
);
registry = await startLocalRegistry(dir, join(root, "node_modules", "verdaccio", "bin", "verdaccio"));
console.log(`registry: Verdaccio at ${registry.url} (${seconds()} s)`);

/** The environment every npm and pnpm command of the rehearsal runs with: the registry and the run's token only. */
const registryEnv: NodeJS.ProcessEnv = {
  NPM_CONFIG_USERCONFIG: registry.npmrc,
  npm_config_userconfig: registry.npmrc,
  npm_config_registry: registry.url,
  NPM_CONFIG_REGISTRY: registry.url,
  npm_config_cache: join(dir, "npm-cache"),
  npm_config_audit: "false",
  npm_config_fund: "false",
  npm_config_update_notifier: "false",
};

// The throwaway copy: what a release job's checkout holds (the built packages included), with its own git history
// for the tags `changeset publish` makes, installed as the job installs it (offline here: from the store the
// workspace's own install filled; pnpm publish reads the installed workspace links to replace `workspace:` ranges).
const copy = join(dir, "repo");
required("a throwaway copy of the repository, with git", () => {
  mkdirSync(copy);
  for (const file of [
    "package.json",
    "pnpm-workspace.yaml",
    "pnpm-lock.yaml",
    "LICENSE",
    "README.md",
    ".changeset",
  ])
    cpSync(join(root, file), join(copy, file), { recursive: true });
  for (const { dir: pkg } of packages)
    cpSync(pkg, join(copy, relative(root, pkg)), {
      recursive: true,
      filter: (source) => !/\/node_modules$|\/\.turbo$/.test(source),
    });
  writeFileSync(join(copy, ".gitignore"), "node_modules\n");
  const git = [
    "-c",
    "user.name=Rehearsal",
    "-c",
    "user.email=rehearsal@localhost",
    "-c",
    "commit.gpgsign=false",
  ];
  run("git", ["init", "-q", "-b", "main"], { cwd: copy });
  run("git", ["add", "-A"], { cwd: copy });
  run("git", [...git, "commit", "-q", "-m", "rehearsal"], { cwd: copy });
});

const changeset = join(copy, "node_modules", ".bin", "changeset");
required("pnpm install --offline --frozen-lockfile in the copy", () => {
  run("pnpm", ["install", "--offline", "--frozen-lockfile"], { cwd: copy });
});

required("changeset version (the pending changesets applied)", () => {
  run(changeset, ["version"], { cwd: copy, env: registryEnv });
});
const versions = new Map(
  packages.map(({ dir: pkg }) => {
    const manifest = JSON.parse(readFileSync(join(copy, relative(root, pkg), "package.json"), "utf8"));
    return [manifest.name as string, manifest.version as string];
  }),
);
version = versions.get("@tributary/flow") ?? "";
console.log(`release: ${packages.length} packages at ${[...new Set(versions.values())].join(", ")}`);

required("changeset publish (every package, to the local registry, with the run's token)", () => {
  run(changeset, ["publish"], { cwd: copy, env: registryEnv });
});

// What the registry serves, checked package by package.
const project = join(dir, "npm-consumer");
mkdirSync(project);
writeFileSync(
  join(project, "package.json"),
  JSON.stringify({ name: "consumer", private: true, type: "module" }),
);
required(
  `npm install ${[...USER_PACKAGES, ...OPTIONAL_CLIENTS].join(" ")} @tributary/testing, by name`,
  () => {
    run("npm", ["install", ...USER_PACKAGES, ...OPTIONAL_CLIENTS, "@tributary/testing", "@types/node@20"], {
      cwd: project,
      env: registryEnv,
    });
  },
);

step("published manifests and tarballs", () => {
  const problems: string[] = [];
  for (const name of versions.keys()) {
    const installed = join(project, "node_modules", name);
    if (!existsSync(installed)) {
      problems.push(`${name}: not installed by the npm install above`);
      continue;
    }
    const packument = JSON.parse(
      run("npm", ["view", `${name}@${versions.get(name)}`, "--json"], { cwd: project, env: registryEnv }),
    ) as PublishedManifest | PublishedManifest[];
    const manifest = Array.isArray(packument) ? packument[0]! : packument;
    problems.push(
      ...checkPublishedPackage(installedPackage(installed, manifest, listFiles(installed)), version),
    );
  }
  if (problems.length > 0) throw new Error(problems.join("\n"));
});

step("npx tributary --help and npx tributary doctor", () => {
  const env = { ...registryEnv, TRIBUTARY_HOME: join(dir, "home") };
  const help = run("npx", ["--no-install", "tributary", "--help"], { cwd: project, env });
  if (!/doctor/.test(help)) throw new Error(`--help printed:\n${help}`);
  run("npx", ["--no-install", "tributary", "doctor"], { cwd: project, env });
});

checkConsumer(project, [...versions.keys()], join(dir, "home"), step);

// The same names with pnpm: its own resolver and layout (no hoisting), the peer dependencies resolved by it.
const pnpmProject = join(dir, "pnpm-consumer");
mkdirSync(pnpmProject);
writeFileSync(
  join(pnpmProject, "package.json"),
  JSON.stringify({ name: "consumer", private: true, type: "module" }),
);
// esbuild (the command's bundler) and msgpackr-extract (through bullmq) have install scripts, which pnpm runs only when
// the project allows them (and refuses to install otherwise): what docs/install.md tells pnpm users to add.
writeFileSync(
  join(pnpmProject, "pnpm-workspace.yaml"),
  "allowBuilds:\n  esbuild: true\n  msgpackr-extract: true\n",
);
required(`pnpm add ${[...USER_PACKAGES, ...OPTIONAL_CLIENTS].join(" ")}, by name`, () => {
  run("pnpm", ["add", "--store-dir", join(dir, "pnpm-store"), ...USER_PACKAGES, ...OPTIONAL_CLIENTS], {
    cwd: pnpmProject,
    env: registryEnv,
  });
});
for (const name of USER_PACKAGES) {
  step(`pnpm consumer: import("${name}") and require("${name}")`, () => {
    for (const [type, code] of [
      ["module", `const m = await import(${JSON.stringify(name)});`],
      ["commonjs", `const m = require(${JSON.stringify(name)});`],
    ] as const)
      run(
        process.execPath,
        [
          `--input-type=${type}`,
          "-e",
          `${code} if (Object.keys(m).length === 0) throw new Error("no exports");`,
        ],
        { cwd: pnpmProject },
      );
  });
}
step("tributary --help from the pnpm consumer's node_modules/.bin", () => {
  const help = run(join(pnpmProject, "node_modules", ".bin", "tributary"), ["--help"], { cwd: pnpmProject });
  if (!/doctor/.test(help)) throw new Error(`--help printed:\n${help}`);
});

// The install size a user pays for @tributary/aws, against the AWS SDK's S3 client alone (goal: at most 1.3 times).
step("install size: @tributary/aws with its dependencies against @aws-sdk/client-s3 alone", () => {
  const size = (what: string) => {
    const folder = mkdtempSync(join(dir, "size-"));
    writeFileSync(join(folder, "package.json"), JSON.stringify({ name: "size", private: true }));
    run("npm", ["install", what], { cwd: folder, env: registryEnv });
    return Number(run("du", ["-sk", "node_modules"], { cwd: folder }).split("\t")[0]) / 1024;
  };
  const ours = size("@tributary/aws");
  const sdk = size("@aws-sdk/client-s3");
  const ratio = ours / sdk;
  console.log(
    `     @tributary/aws: ${ours.toFixed(1)} MB; @aws-sdk/client-s3 alone: ${sdk.toFixed(1)} MB; ${ratio.toFixed(2)}×`,
  );
  if (ratio > 1.3) {
    throw new Error(
      `@tributary/aws installs ${ratio.toFixed(2)} times what @aws-sdk/client-s3 does (at most 1.3): a service client ` +
        "that only some tasks need belongs in its optional peer dependencies (docs/aws.md), loaded by loadSdk",
    );
  }
});

finish();

/** Stops the registry, removes its storage, prints the time and the failures, and exits. */
function finish(): never {
  cleanUp();
  console.log(`\nrelease rehearsal: ${seconds()} s`);
  if (failures.length > 0) {
    console.error(`${failures.length} release check(s) failed: ${failures.join("; ")}`);
    process.exit(1);
  }
  console.log(`every package published together at ${version} installs by name and works`);
  process.exit(0);
}

/** Every file under `folder` (relative, `/`-separated), leaving out nested node_modules. */
function listFiles(folder: string, prefix = ""): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(folder, prefix), { withFileTypes: true })) {
    const path = `${prefix}${entry.name}`;
    if (entry.isDirectory()) {
      if (entry.name !== "node_modules") out.push(...listFiles(folder, `${path}/`));
    } else out.push(path);
  }
  return out;
}
