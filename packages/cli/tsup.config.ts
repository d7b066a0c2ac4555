import { rmSync } from "node:fs";
import { defineConfig } from "tsup";
import { sharedOptions } from "../../tsup.config";

export default defineConfig({
  ...sharedOptions,
  entry: ["src/index.ts", "src/bin.ts"],
  format: ["esm", "cjs"],
  // Types for the library only: the command (`bin`) is run, never imported.
  dts: { entry: "src/index.ts" },
  clean: true,
  sourcemap: true,
  target: "node20",
  // `bin` points at dist/bin.js (ESM); a CommonJS copy of the command would be published with nothing pointing at it.
  onSuccess: async () => {
    for (const file of ["dist/bin.cjs", "dist/bin.cjs.map"]) rmSync(file, { force: true });
  },
});
