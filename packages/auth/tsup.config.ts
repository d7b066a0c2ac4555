import { defineConfig } from "tsup";
import { sharedOptions } from "../../tsup.config";

export default defineConfig({
  ...sharedOptions,
  entry: ["src/index.ts"],
  format: ["esm", "cjs"],
  dts: true,
  clean: true,
  sourcemap: true,
  target: "node20",
  // valibot is bundled so that only the checks the default names use are loaded: it keeps the cold import small.
  noExternal: ["valibot"],
  treeshake: true,
});
