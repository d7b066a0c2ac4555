import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    // Real SDKs over real sockets (and moto) on shared CI machines: allow for load, never for a hang.
    testTimeout: 20_000,
    hookTimeout: 60_000,
  },
});
