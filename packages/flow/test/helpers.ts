import { cpSync, existsSync, mkdtempSync, readFileSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, sep } from "node:path";
import { afterAll, beforeAll } from "vitest";
import type { LogRecord, LogSink } from "../src/logger.js";

/** Points TRIBUTARY_HOME at a fresh temp folder for the file's tests, so none touches the real home. */
export function useTempHome(): void {
  let home = "";
  const before = process.env.TRIBUTARY_HOME;
  beforeAll(() => {
    home = mkdtempSync(join(tmpdir(), "tributary-flow-"));
    process.env.TRIBUTARY_HOME = home;
  });
  afterAll(() => {
    if (before === undefined) delete process.env.TRIBUTARY_HOME;
    else process.env.TRIBUTARY_HOME = before;
    rmSync(home, { recursive: true, force: true });
  });
}

/** A sink that keeps every line and record. */
export function memorySink(): { sink: LogSink; lines: string[]; records: LogRecord[] } {
  const lines: string[] = [];
  const records: LogRecord[] = [];
  return {
    lines,
    records,
    sink: (line, record) => {
      lines.push(line);
      records.push(record);
    },
  };
}

interface PackageJson {
  name: string;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

/** The folder of the package `name` as Node finds it from `from`: the first `node_modules/<name>` up the tree. */
function installedFolder(name: string, from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, "node_modules", name);
    if (existsSync(join(candidate, "package.json"))) return realpathSync(candidate);
    if (dirname(dir) === dir) throw new Error(`${name} is not installed above ${from}`);
  }
}

/**
 * Copies the package in `folder` and everything it needs (its dependencies and non-optional peers, and theirs) into
 * `into/node_modules`, flat as npm lays them out: a project where exactly these packages are installed, and nothing
 * of the workspace can be found by walking up from them (copies, not links). Returns the packages' names.
 */
export function installCopies(folder: string, into: string, done = new Set<string>()): Set<string> {
  const manifest = JSON.parse(readFileSync(join(folder, "package.json"), "utf8")) as PackageJson;
  if (done.has(manifest.name)) return done;
  done.add(manifest.name);
  cpSync(folder, join(into, "node_modules", manifest.name), {
    recursive: true,
    filter: (path) => !relative(folder, path).split(sep).includes("node_modules"),
  });
  const optional = manifest.peerDependenciesMeta ?? {};
  const needs = [
    ...Object.keys(manifest.dependencies ?? {}),
    ...Object.keys(manifest.peerDependencies ?? {}).filter((name) => !optional[name]?.optional),
  ];
  for (const name of needs) installCopies(installedFolder(name, folder), into, done);
  return done;
}
