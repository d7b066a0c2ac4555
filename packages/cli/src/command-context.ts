import type { CliOutput, CliReadable } from "./cli-io.js";

/** What every command gets from `runCli`. */
export interface CommandContext {
  /** Masked output. */
  output: CliOutput;
  /** The input stream, looked up only by the commands that read it. */
  stdin: () => CliReadable;
}
