import { defineConfig, mergeConfig } from "vitest/config";
import shared from "../../vitest.shared.ts";

export default mergeConfig(
  shared,
  defineConfig({
    // The CLI tests run the built `dist/bin.js` in child processes: build it first when src is newer.
    test: { globalSetup: ["./vitest.global-setup.ts"] },
  }),
);
