import { defineConfig, mergeConfig } from "vitest/config";
import shared from "../vitest.shared.ts";

// The tests of the repository's own scripts (scripts/*.test.ts), run by `pnpm test` after the packages' tests.
export default mergeConfig(shared, defineConfig({ test: { include: ["scripts/**/*.test.ts"] } }));
