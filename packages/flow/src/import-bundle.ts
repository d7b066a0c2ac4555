import { statSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Flow } from "./flow.js";

/** The nearest folder from `start` upwards that has a `node_modules` folder, or `undefined`. */
export function findPackageRoot(start: string): string | undefined {
  for (let dir = resolve(start); ; dir = dirname(dir)) {
    try {
      if (statSync(join(dir, "node_modules")).isDirectory()) return dir;
    } catch {
      // keep looking upwards
    }
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * Imports an ES module bundle whose bare imports (`@tributary/*`, the flow's dependencies) resolve as they would
 * for code in `root`. The bundle is written to a private temporary folder (0700) under `root`'s
 * `node_modules/.cache/tributary` (Node resolves packages from the importing file's folders upwards, so this is
 * where its imports find what is installed) and the folder is removed once the module is loaded.
 * @example
 * const mod = await importBundle(bytes, { root: process.cwd() });
 */
export async function importBundle(
  code: Uint8Array,
  options: { root?: string | undefined } = {},
): Promise<Record<string, unknown>> {
  const packageRoot = findPackageRoot(options.root ?? process.cwd());
  const parent = packageRoot ? join(packageRoot, "node_modules", ".cache", "tributary") : tmpdir();
  await mkdir(parent, { recursive: true, mode: 0o700 });
  const dir = await mkdtemp(join(parent, "run-"));
  try {
    const file = join(dir, "flow.mjs");
    await writeFile(file, code, { mode: 0o600, flag: "wx" });
    return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** True for a flow made by `flow()` (from any copy of this package). */
export function isFlow(value: unknown): value is Flow {
  const v = value as Partial<Flow> | null;
  return (
    typeof v === "object" &&
    v !== null &&
    typeof v.name === "string" &&
    typeof v.run === "function" &&
    typeof v.body === "function" &&
    typeof v.options === "object"
  );
}

/** The flows a module exports, by export name, in export order. */
export function exportedFlows(module: Record<string, unknown>): Flow[] {
  const flows: Flow[] = [];
  for (const value of Object.values(module)) {
    if (isFlow(value) && !flows.includes(value)) flows.push(value);
  }
  return flows;
}
