// Shared by every package's `tsup` build: tsup looks for its config up from the package's folder (auth has its
// own, which uses `withoutSourcesContent` too).
import { defineConfig } from "tsup";

/**
 * Source maps keep their mappings (stack traces point at src/*.ts) without a copy of every source file: a process
 * with source maps enabled (tsx, --enable-source-maps) holds each loaded map in memory, sources and all.
 */
export function withoutSourcesContent(options: { sourcesContent?: boolean }): void {
  options.sourcesContent = false;
}

export default defineConfig({ esbuildOptions: withoutSourcesContent });
