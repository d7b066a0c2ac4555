import { basename, join } from "node:path";
import { defineConfig } from "vitest/config";

// `.ci/run` sets this to a folder: each package's run also writes a JSON report there, so the end of the CI log can
// name every failed test with its message, however much output the other packages printed after it.
const reports = process.env.TRIBUTARY_TEST_REPORTS;
// vitest runs in the package's folder: `auth-node20.json`.
const reportName = `${basename(process.cwd())}-node${process.versions.node.split(".")[0]}.json`;

/** The settings every package's tests share; each package's vitest.config.ts starts from these. */
export default defineConfig({
  test: {
    // Real SDKs over real sockets, stand-ins and moto on shared CI machines: allow for load, never for a hang.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    ...(reports ? { reporters: ["default", ["json", { outputFile: join(reports, reportName) }]] } : {}),
  },
});
