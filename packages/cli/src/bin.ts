#!/usr/bin/env node
import { runCli } from "./run-cli.js";

/**
 * `tributary ui` is a long-lived server of small answers: V8's young generation, left to grow to 16 MB semi-spaces,
 * would hold the process over 100 MB for no speed (bench/ui.bench.ts). V8 reads the size only at start, so the
 * command starts itself again with it, in the same process (`process.execve`, Node 22.15 and later).
 */
const UI_HEAP_FLAG = "--max-semi-space-size=1";
const execve = (process as { execve?: (file: string, args: string[], env: NodeJS.ProcessEnv) => never })
  .execve;
if (
  process.argv[2] === "ui" &&
  execve &&
  !process.execArgv.some((a) => a.startsWith("--max-semi-space-size"))
) {
  execve(
    process.execPath,
    [process.execPath, UI_HEAP_FLAG, ...process.execArgv, ...process.argv.slice(1)],
    process.env,
  );
}

runCli(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`error: ${error instanceof Error ? error.name : "unexpected failure"}\n`);
    process.exitCode = 1;
  },
);
