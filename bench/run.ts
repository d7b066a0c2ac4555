// Runs every bench/*.bench.ts (or those whose name contains an argument) and prints their figures.
import { readdirSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
const filters = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith(".bench.ts"))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();

let failed = false;
for (const file of files) {
  const started = performance.now();
  try {
    const module = (await import(pathToFileURL(`${here}${file}`).href)) as {
      default: () => Promise<Record<string, unknown>>;
    };
    const figures = await module.default();
    console.log(`\n## ${file} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
    for (const [name, value] of Object.entries(figures)) console.log(`  ${name.padEnd(48)} ${value}`);
  } catch (error) {
    failed = true;
    console.error(`\n## ${file} failed: ${(error as Error).stack}`);
  }
}
process.exitCode = failed ? 1 : 0;
