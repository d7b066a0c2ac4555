import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { MissingCredentialsError, ValidationError } from "@tributary/auth";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseDeploymentAddress } from "./deployment-address.js";
import {
  BUNDLE_FILE,
  createManifest,
  DeploymentError,
  type DeploymentManifest,
  MANIFEST_FILE,
  sha256Hex,
} from "./deployment-manifest.js";
import { fileStorage, fileStorageKind } from "./file-storage.js";
import { exportedFlows, importBundle } from "./import-bundle.js";
import { configureLogging, resetLogging } from "./logger.js";
import { runDeployment } from "./run-deployment.js";
import type { FlowStorage, StorageKind } from "./storage.js";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const quiet = { logger: { sink: () => {} } };

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "tributary-deploy-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** A flow module as `tributary deploy` bundles it: it imports @tributary/flow, which stays external. */
function flowModule(name: string, marker: string): string {
  return `import { flow, task } from "@tributary/flow";
import { writeFileSync } from "node:fs";
const double = task({ name: "double" }, async (n) => n * 2);
export const main = flow({ name: ${JSON.stringify(name)} }, async ({ params }) => {
  writeFileSync(${JSON.stringify(marker)}, "ran");
  return { doubled: await double(params.n) };
});
`;
}

async function deploy(
  storage: FlowStorage,
  name: string,
  code: string,
  change: (m: DeploymentManifest) => DeploymentManifest = (m) => m,
): Promise<string> {
  const bundle = Buffer.from(code);
  const manifest = change(
    createManifest({ flow: name, flowSecrets: [], storageSecrets: [], bundle, tributary: {} }),
  );
  await storage.save(name, [
    { name: BUNDLE_FILE, bytes: bundle },
    { name: MANIFEST_FILE, bytes: Buffer.from(JSON.stringify(manifest)) },
  ]);
  return storage.address(name);
}

/** The file kind, counting the files each run loads. */
function countingKind(loads: string[], secrets: readonly string[] = []): StorageKind {
  return {
    scheme: "file",
    secrets,
    fromLocation(location) {
      const inner = fileStorageKind.fromLocation(location);
      return {
        ...inner,
        secrets,
        load: (name, file, options) => {
          loads.push(file);
          return inner.load(name, file, options);
        },
      };
    },
  };
}

describe("runDeployment with file storage", () => {
  it("pulls, checks and runs the flow; a second run of the same bundle reads only the manifest", async () => {
    const marker = join(dir, "marker");
    const address = await deploy(
      fileStorage({ path: join(dir, "flows") }),
      "double",
      flowModule("double", marker),
    );
    expect(address).toBe(`file://${dir}/flows/double`);
    const loads: string[] = [];
    const kinds = [countingKind(loads)];
    const first = await runDeployment(address, {
      params: { n: 21 },
      kinds,
      root: REPO,
      runId: "r1",
      ...quiet,
    });
    expect(first).toMatchObject({ flow: "double", runId: "r1", state: "completed", result: { doubled: 42 } });
    expect(first.tasks.map((t) => t.name)).toEqual(["double"]);
    expect(readFileSync(marker, "utf8")).toBe("ran");
    expect(loads).toEqual([MANIFEST_FILE, BUNDLE_FILE]);
    const second = await runDeployment(address, { params: { n: 2 }, kinds, root: REPO, ...quiet });
    expect(second).toMatchObject({ state: "completed", result: { doubled: 4 } });
    expect(loads).toEqual([MANIFEST_FILE, BUNDLE_FILE, MANIFEST_FILE]);
    // The private folder the bundle was imported from is gone.
    const cache = join(REPO, "node_modules", ".cache", "tributary");
    expect(existsSync(cache) ? readdirSync(cache) : []).toEqual([]);
  });

  const rewrite = (folder: string, change: (m: DeploymentManifest) => DeploymentManifest) => {
    const path = join(folder, MANIFEST_FILE);
    writeFileSync(path, JSON.stringify(change(JSON.parse(readFileSync(path, "utf8")))));
  };
  const refusals: [string, (folder: string) => void, string][] = [
    [
      "a bundle changed by one byte in storage",
      (folder) => {
        const bytes = readFileSync(join(folder, BUNDLE_FILE));
        const at = bytes.indexOf("writeFileSync(");
        bytes.writeUInt8((bytes[at] as number) ^ 1, at);
        writeFileSync(join(folder, BUNDLE_FILE), bytes);
      },
      "BUNDLE_MISMATCH",
    ],
    [
      "a manifest that does not parse",
      (folder) => writeFileSync(join(folder, MANIFEST_FILE), "{not json"),
      "MANIFEST_INVALID",
    ],
    [
      "a deployment built against an incompatible version",
      (folder) => rewrite(folder, (m) => ({ ...m, tributary: { "@tributary/flow": "7.0.0" } })),
      "INCOMPATIBLE_VERSION",
    ],
    [
      "a module that exports no flow of that name",
      (folder) => {
        const code = Buffer.from(
          readFileSync(join(folder, BUNDLE_FILE), "utf8").replace('name: "refused"', 'name: "other"'),
        );
        writeFileSync(join(folder, BUNDLE_FILE), code);
        rewrite(folder, (m) => ({
          ...m,
          bundle: { ...m.bundle, sha256: sha256Hex(code), size: code.length },
        }));
      },
      "FLOW_NOT_FOUND",
    ],
    [
      "a module importing a package that is not installed where it runs",
      (folder) => {
        const code = Buffer.from(
          `import "tributary-test-not-installed";\n${readFileSync(join(folder, BUNDLE_FILE), "utf8")}`,
        );
        writeFileSync(join(folder, BUNDLE_FILE), code);
        rewrite(folder, (m) => ({
          ...m,
          bundle: { ...m.bundle, sha256: sha256Hex(code), size: code.length },
        }));
      },
      "DEPENDENCY_MISSING",
    ],
  ];

  it.each(refusals)("refuses %s, naming the address, and runs nothing", async (_, tamper, code) => {
    const marker = join(dir, "marker");
    const address = await deploy(
      fileStorage({ path: join(dir, "flows") }),
      "refused",
      flowModule("refused", marker),
    );
    tamper(join(dir, "flows", "refused"));
    const error = await runDeployment(address, { root: REPO, ...quiet }).catch((e: unknown) => e);
    expect(DeploymentError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code, address });
    expect((error as Error).message.startsWith(`${address}: `)).toBe(true);
    expect(existsSync(marker)).toBe(false);
  });

  it("pulls a bundle once for concurrent first runs", async () => {
    const address = await deploy(
      fileStorage({ path: join(dir, "flows") }),
      "twice",
      flowModule("twice", join(dir, "m")),
    );
    const loads: string[] = [];
    const kinds = [countingKind(loads)];
    const reports = await Promise.all(
      [1, 2, 3].map((n) => runDeployment(address, { params: { n }, kinds, root: REPO, ...quiet })),
    );
    expect(reports.map((r) => r.result)).toEqual([{ doubled: 2 }, { doubled: 4 }, { doubled: 6 }]);
    expect(loads.filter((f) => f === BUNDLE_FILE)).toEqual([BUNDLE_FILE]);
  });

  it.each([
    ["deployed again (a new file renamed into place)", "redeploy"],
    ["rewritten in place with the same size", "in place"],
  ] as const)(
    "runs the new flow at the next run when its manifest was %s, also once the old one was kept",
    async (_, how) => {
      const storage = fileStorage({ path: join(dir, "flows") });
      const version = (v: number) => `import { flow } from "@tributary/flow";
export const main = flow({ name: "changing" }, async () => ({ version: ${v} }));
`;
      const address = await deploy(storage, "changing", version(1));
      // Past the second in which a change may go unseen: from now on the manifest's bytes are kept between runs.
      await new Promise((r) => setTimeout(r, 1100));
      for (let i = 0; i < 2; i++) {
        expect((await runDeployment(address, { root: REPO, ...quiet })).result).toEqual({ version: 1 });
      }
      if (how === "redeploy") await deploy(storage, "changing", version(2));
      else {
        const folder = join(dir, "flows", "changing");
        const bundle = Buffer.from(version(2));
        writeFileSync(join(folder, BUNDLE_FILE), bundle);
        const before = readFileSync(join(folder, MANIFEST_FILE), "utf8");
        const after = JSON.stringify({
          ...JSON.parse(before),
          bundle: { file: BUNDLE_FILE, sha256: sha256Hex(bundle), size: bundle.length },
        });
        // Same length: only the sha256 changes.
        expect(after.length).toBe(before.length);
        writeFileSync(join(folder, MANIFEST_FILE), after);
      }
      expect((await runDeployment(address, { root: REPO, ...quiet })).result).toEqual({ version: 2 });
    },
  );

  it("stops at once for an aborted signal, and cancels a running flow when aborted", async () => {
    const storage = fileStorage({ path: join(dir, "flows") });
    const bundle = `import { flow, task } from "@tributary/flow";
const wait = task({ name: "wait" }, (ms) => new Promise((resolve) => setTimeout(resolve, ms)));
export const main = flow({ name: "slow" }, async () => { await wait(10000); });
`;
    const address = await deploy(storage, "slow", bundle);
    const loads: string[] = [];
    const aborted = AbortSignal.abort(new Error("stopped by the caller"));
    await expect(
      runDeployment(address, { kinds: [countingKind(loads)], root: REPO, signal: aborted, ...quiet }),
    ).rejects.toThrow("stopped by the caller");
    expect(loads).toEqual([]);
    const controller = new AbortController();
    const running = runDeployment(address, { root: REPO, signal: controller.signal, ...quiet });
    setTimeout(() => controller.abort(new Error("shutting down")), 200);
    const report = await running;
    expect(report.state).toBe("cancelled");
    expect(report.error?.message).toContain("shutting down");
  });

  it("fails before fetching anything when a name the storage declares is found nowhere", async () => {
    const address = await deploy(
      fileStorage({ path: join(dir, "flows") }),
      "needs",
      flowModule("needs", join(dir, "m")),
    );
    const loads: string[] = [];
    const error = await runDeployment(address, {
      kinds: [countingKind(loads, ["MY_STORAGE_TOKEN"])],
      root: REPO,
      ...quiet,
    }).catch((e: unknown) => e);
    expect(MissingCredentialsError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(
      /MY_STORAGE_TOKEN[\s\S]*TRIBUTARY__CONTEXT__SECRETS__MY_STORAGE_TOKEN/,
    );
    expect(loads).toEqual([]);
    const report = await runDeployment(address, {
      kinds: [countingKind(loads, ["MY_STORAGE_TOKEN"])],
      secrets: { MY_STORAGE_TOKEN: "storage-token-value" },
      params: { n: 1 },
      root: REPO,
      ...quiet,
    });
    expect(report.state).toBe("completed");
  });
});

describe("runDeployment logging", () => {
  afterEach(() => resetLogging());

  it("logs where the storage's credential came from, through the process logger, before the run's lines", async () => {
    const address = await deploy(
      fileStorage({ path: join(dir, "flows") }),
      "logged",
      flowModule("logged", join(dir, "m")),
    );
    const process: string[] = [];
    configureLogging({ level: "info", sink: (line) => process.push(line) });
    const run: string[] = [];
    const report = await runDeployment(address, {
      kinds: [countingKind([], ["MY_STORAGE_TOKEN"])],
      secrets: { MY_STORAGE_TOKEN: "storage-token-value" },
      params: { n: 1 },
      root: REPO,
      logger: { level: "info", sink: (line) => run.push(line) },
    });
    expect(report.state).toBe("completed");
    expect(process.filter((l) => l.includes("MY_STORAGE_TOKEN from run"))).toHaveLength(1);
    expect(run.some((l) => l.includes("Flow run logged started"))).toBe(true);
    expect([...process, ...run].join("\n")).not.toContain("storage-token-value");
  });
});

describe("importBundle", () => {
  it("imports from a private folder (0700, file 0600) under the root's node_modules, removed afterwards", async () => {
    const code = `import { statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { dirname } from "node:path";
import { flow } from "@tributary/flow";
const file = fileURLToPath(import.meta.url);
export const where = { folder: dirname(file), folderMode: statSync(dirname(file)).mode & 0o777, fileMode: statSync(file).mode & 0o777 };
export const f = flow({ name: "f" }, async () => 1);
`;
    const module = await importBundle(Buffer.from(code), { root: join(REPO, "packages", "flow", "src") });
    const where = module.where as { folder: string; folderMode: number; fileMode: number };
    expect(where.folderMode.toString(8)).toBe("700");
    expect(where.fileMode.toString(8)).toBe("600");
    expect(
      where.folder.startsWith(join(REPO, "packages", "flow", "node_modules", ".cache", "tributary")),
    ).toBe(true);
    expect(existsSync(where.folder)).toBe(false);
    expect(exportedFlows(module).map((f) => f.name)).toEqual(["f"]);
  });
});

describe("parseDeploymentAddress", () => {
  const bad: [string, string, RegExp][] = [
    ["an unknown scheme", "ftp://host/flows/nightly", /unknown storage kind "ftp:\/\/"; known: file:\/\//],
    ["no scheme", "/srv/flows/nightly", /starts with a scheme/],
    ["user info", "file://user:s3cr3t-token@host/flows/nightly", /user info/],
    ["a signed query", "file:///srv/flows/nightly?X-Amz-Signature=abcdef0123", /query or fragment/],
    ["a relative path", "file://srv/flows/nightly", /absolute path/],
    ["no deployment name", "file:///", /cannot name a deployment/],
    ["a name that is no path segment", "file:///srv/flows/..", /cannot name a deployment/],
  ];
  it.each(bad)(
    "refuses %s with a ValidationError that does not repeat a credential",
    (_, address, message) => {
      let error: unknown;
      try {
        parseDeploymentAddress(address, [fileStorageKind]);
      } catch (e) {
        error = e;
      }
      expect(ValidationError.isInstance(error)).toBe(true);
      expect((error as Error).message).toMatch(message);
      expect((error as Error).message).not.toMatch(/s3cr3t|abcdef0123/);
    },
  );

  it("gives the storage and the name", () => {
    const parsed = parseDeploymentAddress("file:///srv/flows/nightly", [fileStorageKind]);
    expect(parsed.name).toBe("nightly");
    expect(parsed.storage.describe()).toBe("file:///srv/flows/");
    expect(parsed.storage.address("nightly")).toBe("file:///srv/flows/nightly");
  });
});
