/** Shared measuring helpers for the benchmarks. */
import { execFileSync } from "node:child_process";

/** Median of a list of numbers. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

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

/** Median cold import time (ms) of a package, each in a fresh Node process. */
export function coldImportMs(specifier: string, runs = 7, cwd?: string): number {
  const script = `const t = performance.now(); await import(${JSON.stringify(specifier)}); console.log(performance.now() - t);`;
  const times = Array.from({ length: runs }, () =>
    Number(
      execFileSync(process.execPath, ["--input-type=module", "-e", script], { cwd, encoding: "utf8" }).trim(),
    ),
  );
  return median(times);
}

/** Formats a number with a unit. */
export const fmt = (value: number, unit: string, digits = 2) => `${value.toFixed(digits)} ${unit}`;
