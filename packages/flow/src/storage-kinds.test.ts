import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { installCopies } from "../test/helpers.js";
import { fileStorageKind } from "./file-storage.js";
import { storageKindsFor } from "./storage-kinds.js";

const FLOW = resolve(dirname(fileURLToPath(import.meta.url)), "..");

describe("storageKindsFor", () => {
  it("gives file:// addresses this package's kind, as the same list every time", async () => {
    const first = await storageKindsFor("file:///srv/flows/nightly");
    expect(first).toEqual([fileStorageKind]);
    // The same array: runDeployment caches parsed addresses per list of kinds.
    expect(await storageKindsFor("FILE:///srv/flows/other")).toBe(first);
  });
});

/**
 * What a program sees that installed only @tributary/flow (and what it needs), run from the built package, as
 * ESM and as CommonJS: the address, then the error's name, code and message, or "ok".
 */
const PROGRAM = `
const addresses = [
  "s3://flows/prod/nightly",
  "gs://flows/prod/nightly",
  "github://acme/flows/prod/nightly@main",
  "s3://someone:hunter2-pass@flows/prod/nightly",
  "ftp://flows/prod/nightly",
];
const seen = [];
for (const address of addresses) {
  for (const call of [runDeployment, readDeploymentManifest]) {
    try {
      await call(address);
      seen.push({ address, call: call.name, ok: true });
    } catch (e) {
      seen.push({ address, call: call.name, name: e.name, code: e.code, message: e.message });
    }
  }
}
console.log(JSON.stringify(seen));
`;

describe("an address whose kind's package is not installed", () => {
  const project = mkdtempSync(join(tmpdir(), "tributary-flow-only-"));
  afterAll(() => rmSync(project, { recursive: true, force: true }));
  const installed = installCopies(FLOW, project);
  writeFileSync(
    join(project, "run.mjs"),
    `import { readDeploymentManifest, runDeployment } from "@tributary/flow";\n${PROGRAM}`,
  );
  writeFileSync(
    join(project, "run.cjs"),
    `const { readDeploymentManifest, runDeployment } = require("@tributary/flow");\n(async () => {${PROGRAM}})();`,
  );

  it("is a project where @tributary/flow and @tributary/auth are installed, and no integration", () => {
    expect([...installed].filter((name) => name.startsWith("@tributary/")).sort()).toEqual([
      "@tributary/auth",
      "@tributary/flow",
      "@tributary/integration-kit",
    ]);
  });

  const missing: [string, string, string][] = [
    ["s3://flows/prod/nightly", "@tributary/aws", "s3StorageKind"],
    ["gs://flows/prod/nightly", "@tributary/gcp", "gcsStorageKind"],
    ["github://acme/flows/prod/nightly@main", "@tributary/github", "githubStorageKind"],
  ];
  it.each(["run.mjs", "run.cjs"])(
    "%s: runDeployment and readDeploymentManifest name the package to install and the kind to pass",
    (script) => {
      const child = spawnSync(process.execPath, [script], {
        cwd: project,
        env: { PATH: process.env.PATH ?? "", TRIBUTARY_HOME: join(project, "home") },
        encoding: "utf8",
      });
      expect(child.status, child.stderr).toBe(0);
      const seen = JSON.parse(child.stdout) as {
        address: string;
        call: string;
        name?: string;
        code?: string;
        message?: string;
        ok?: true;
      }[];
      for (const [address, pkg, kind] of missing) {
        const errors = seen.filter((s) => s.address === address);
        expect(errors.map((s) => s.call)).toEqual(["runDeployment", "readDeploymentManifest"]);
        for (const error of errors) {
          expect(error).toMatchObject({ name: "DeploymentError", code: "DEPENDENCY_MISSING" });
          expect(error.message).toContain(`${address}: `);
          expect(error.message).toContain(`npm install ${pkg}`);
          expect(error.message).toContain(`import { ${kind} } from "${pkg}"`);
          expect(error.message).toContain(`kinds: [${kind}]`);
        }
      }
      // The address is checked before the missing package is reported: a credential in it is refused, unrepeated.
      const withCredential = seen.filter((s) => s.address.includes("hunter2"));
      for (const error of withCredential) {
        expect(error).toMatchObject({ name: "ValidationError" });
        expect(error.message).toMatch(/user info/);
        expect(error.message).not.toContain("hunter2");
      }
      for (const error of seen.filter((s) => s.address.startsWith("ftp:"))) {
        expect(error.message).toMatch(
          /unknown storage kind "ftp:\/\/"; known: file:\/\/, s3:\/\/, gs:\/\/, github:\/\//,
        );
      }
      expect(seen.some((s) => s.ok)).toBe(false);
    },
  );
});
