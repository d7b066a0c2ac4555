#!/usr/bin/env node
import { setFlagsFromString } from "node:v8";

/**
 * V8 settings for `tributary ui`, a long-lived server of small answers, where V8's defaults cost memory for no speed
 * anyone would notice (bench/ui.bench.ts: the runs page takes 7 to 13 ms of server time with them, 3 to 6 without;
 * the server stays under 95 MB on Node 20, 22 and 24, where V8's defaults reach 104 to 160 MB):
 * - the young generation keeps its starting size (V8 doubles it, up to 16 MB semi-spaces and 32 on Node 24, after
 *   each burst of allocation that survives, and keeps it);
 * - no optimizing compilers (Maglev, TurboFan): their background work and code pages were 15 to 20 MB;
 * - the old generation grows and is collected as when memory is short.
 * All of them are read while the program runs, so setting them before anything else is loaded works on every
 * supported Node, in this process.
 */
const UI_V8_FLAGS = ["--semi-space-growth-factor=1", "--no-opt", "--no-maglev", "--optimize-for-size"];
if (process.argv[2] === "ui") for (const flag of UI_V8_FLAGS) setFlagsFromString(flag);

/**
 * Node's own flag for async context frames: how Node 24 carries `AsyncLocalStorage` by default, and Node 22 only
 * with it. Without it, Node 22 hooks every promise of a process once any run scope is open, BullMQ's and ioredis's
 * included: an in-process agent spent 8 to 10 µs more CPU per run (bench/agent.bench.ts). Unlike V8's flags it is
 * read only at start, so `tributary agent start` on Node 22 replaces itself (same process id, same output) with a
 * start that has it, unless the flag is given either way already (`NODE_OPTIONS=--no-experimental-async-context-frame`
 * keeps Node 22's default).
 */
const CONTEXT_FRAMES = "experimental-async-context-frame";
// Node ≥ 22.15 (the types in use are Node 20's, which has no `execve`).
const { execve } = process as { execve?: (file: string, args: string[], env: NodeJS.ProcessEnv) => never };
if (
  process.argv[2] === "agent" &&
  process.argv[3] === "start" &&
  Number(process.versions.node.split(".")[0]) < 24 &&
  typeof execve === "function" &&
  process.allowedNodeEnvironmentFlags.has(`--${CONTEXT_FRAMES}`) &&
  ![...process.execArgv, process.env.NODE_OPTIONS ?? ""].some((arg) => arg.includes(CONTEXT_FRAMES))
) {
  try {
    execve.call(
      process,
      process.execPath,
      [process.execPath, `--${CONTEXT_FRAMES}`, ...process.execArgv, ...process.argv.slice(1)],
      process.env,
    );
  } catch {
    // Not replaced (the system refused): the agent starts as it is, with Node 22's default.
  }
}

// A failure to load the command itself (a broken install) is left to Node, which prints it whole; a failure of the
// command prints only its name, as anything it carries could hold a value.
void import("./run-cli.js").then(({ runCli }) =>
  runCli(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`error: ${error instanceof Error ? error.name : "unexpected failure"}\n`);
      process.exitCode = 1;
    },
  ),
);
