import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
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

export { installCopies } from "./install-copies.js";
