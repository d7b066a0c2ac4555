/** Shared measuring helpers for the benchmarks. */
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { open } from "node:fs/promises";
import { coldImport, median } from "../scripts/import-cost.ts";

export { median };

/** Median time per call, in µs, of `fn` run in batches of `batch` after a warm-up. */
export async function microsPerCall(fn: () => unknown, { batch = 2000, rounds = 15 } = {}): Promise<number> {
  for (let i = 0; i < batch; i++) await fn();
  const samples: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) await fn();
    samples.push(Number(process.hrtime.bigint() - start) / 1000 / batch);
  }
  return median(samples);
}

/** Median cold import time (wall clock, ms) of a package, each in a fresh Node process (as `pnpm check:imports` measures). */
export function coldImportMs(specifier: string, runs = 7, cwd?: string): number {
  return median(Array.from({ length: runs }, () => coldImport(specifier, cwd).wallMs));
}

/** Formats a number with a unit. */
export const fmt = (value: number, unit: string, digits = 2) => `${value.toFixed(digits)} ${unit}`;

/**
 * Starts a stand-in in its own Node process (so its memory is not counted as the benchmark's) and reads the first
 * line it prints: a JSON object such as `{ "url": … }`.
 */
export async function spawnStandIn<T extends object>(
  args: readonly string[],
  options: { cwd?: string } = {},
): Promise<{ child: ChildProcess } & T> {
  const child = spawn(process.execPath, args, { stdio: ["pipe", "pipe", "inherit"], cwd: options.cwd });
  const line = await new Promise<string>((resolve, reject) => {
    let buffer = "";
    child.stdout?.on("data", (d) => {
      buffer += String(d);
      const nl = buffer.indexOf("\n");
      if (nl >= 0) resolve(buffer.slice(0, nl));
    });
    child.once("exit", (code) => reject(new Error(`the stand-in process exited with ${code}`)));
  });
  return { child, ...(JSON.parse(line) as T) };
}

/** Writes `bytes` random bytes to `path`, a MiB at a time. */
export async function writeRandomFile(path: string, bytes: number): Promise<void> {
  const block = randomBytes(1024 * 1024);
  const handle = await open(path, "w");
  try {
    for (let written = 0; written < bytes; ) {
      const n = Math.min(block.length, bytes - written);
      await handle.write(block, 0, n);
      written += n;
    }
  } finally {
    await handle.close();
  }
}
