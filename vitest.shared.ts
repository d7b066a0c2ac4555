import { defineConfig } from "vitest/config";

/** The settings every package's tests share; each package's vitest.config.ts starts from these. */
export default defineConfig({
  test: {
    // Real SDKs over real sockets, stand-ins and moto on shared CI machines: allow for load, never for a hang.
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
