import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // The CLI tests run the built `dist/bin.js` in child processes: build it first when src is newer.
    globalSetup: ["./vitest.global-setup.ts"],
    testTimeout: 30_000,
  },
});
