import { execFileSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(fileURLToPath(import.meta.url));

function mtime(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

/** Rebuilds `dist` when a source file is newer than the built bin (turbo's `test` task only builds dependencies). */
export default function setup(): void {
  const sources = readdirSync(join(root, "src"))
    .filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"))
    .map((f) => join(root, "src", f));
  const newest = Math.max(...[...sources, join(root, "package.json")].map(mtime));
  const built = Math.min(mtime(join(root, "dist", "bin.js")), mtime(join(root, "dist", "index.js")));
  if (built < newest) execFileSync("pnpm", ["run", "build"], { cwd: root, stdio: "inherit" });
}
