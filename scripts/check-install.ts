// What a user gets: packs every @tributary/* package with `pnpm pack` (which writes real versions in place of
// `workspace:` ranges), installs the tarballs with npm in a scratch project outside the workspace (no links), and
// there runs the consumer checks of scripts/consumer-checks.ts: imports and requires from ESM and CommonJS (also with
// Node's require(esm) off, as on Node 20 before 20.19), type-checked consumers (node16 ESM and CommonJS, bundler), the
// README example against the installed stand-ins, and an s3:// deployment run from a program importing only
// @tributary/flow. Needs `pnpm build` first. `pnpm release:rehearse` runs the same checks on packages installed by name
// from a registry. Slow (an npm install): CI runs it once, as `pnpm check:install`; it is not part of `pnpm test`.
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { checkConsumer, createSteps, optionalClients, run, workspacePackages } from "./consumer-checks.ts";

const keep = process.argv.includes("--keep");
const packages = workspacePackages();
const names = packages.map((p) => p.manifest.name);
const scratch = mkdtempSync(join(tmpdir(), "tributary-install-"));
const { failures, step } = createSteps();

try {
  const tarballs = join(scratch, "tarballs");
  mkdirSync(tarballs);
  step(`pnpm pack ${packages.length} packages`, () => {
    for (const { dir } of packages) run("pnpm", ["pack", "--pack-destination", tarballs], { cwd: dir });
  });

  const project = join(scratch, "consumer");
  mkdirSync(project);
  writeFileSync(
    join(project, "package.json"),
    `${JSON.stringify({ name: "consumer", private: true, type: "module" }, null, 2)}\n`,
  );
  // With the optional AWS service clients, as docs/aws.md tells a project that uses their tasks.
  step("npm install the tarballs (and @types/node, the optional AWS clients) outside the workspace", () => {
    const files = readdirSync(tarballs).map((f) => join(tarballs, f));
    run(
      "npm",
      [
        "install",
        "--no-audit",
        "--no-fund",
        "--prefer-offline",
        ...files,
        ...optionalClients(packages),
        "@types/node@20",
      ],
      { cwd: project },
    );
  });

  checkConsumer(project, names, join(scratch, "home"), step);
} finally {
  if (keep) console.log(`kept ${scratch}`);
  else rmSync(scratch, { recursive: true, force: true });
}

if (failures.length > 0) {
  console.error(`\n${failures.length} install check(s) failed: ${failures.join("; ")}`);
  process.exitCode = 1;
} else {
  console.log("\nevery package works when installed from its tarball");
}
