import { mask } from "@tributary/auth";

/** Something the CLI writes text to (`process.stdout`, a test buffer). */
export interface CliWritable {
  /** Writes one chunk of text. */
  write(chunk: string): unknown;
}

/** Where `tributary secrets set` reads a value from: `process.stdin`, a pipe, or a terminal (hidden prompt). */
export type CliReadable = NodeJS.ReadableStream & {
  /** True when the stream is a terminal: the value is then read through a hidden prompt. */
  isTTY?: boolean;
  /** Present on terminals: switched on while the hidden prompt reads, so typed characters are not echoed. */
  setRawMode?: (mode: boolean) => unknown;
  /** Whether the terminal was already in raw mode. */
  isRaw?: boolean;
};

/** The streams and environment one `runCli` call uses. Each defaults to the process's own. */
export interface CliIo {
  /** Where `secrets set` reads the value from. Default `process.stdin`. */
  stdin?: CliReadable;
  /** Where results go. Default `process.stdout`. */
  stdout?: CliWritable;
  /** Where prompts, warnings and errors go. Default `process.stderr`. */
  stderr?: CliWritable;
  /**
   * The environment the command sees (`TRIBUTARY_HOME`, `TRIBUTARY__CONTEXT__SECRETS__*`, fallback variables).
   * Default `process.env`. The resolution order reads the process environment, so a given `env` is installed as
   * `process.env` while the command runs; calls with their own `env` therefore run one at a time.
   */
  env?: Record<string, string | undefined>;
}

/** Exit codes of the `tributary` command. */
export const EXIT_CODES = Object.freeze({
  /** Everything worked (for `doctor`: nothing set is invalid; missing secrets are fine). */
  ok: 0,
  /** The command failed: an invalid value, a store problem, a name not in the store. */
  failure: 1,
  /** The command line was wrong: unknown command or option, missing name, a value given as an argument. */
  usage: 2,
  /** The hidden prompt was cancelled with Ctrl-C. */
  cancelled: 130,
});

/** Writes masked text to stdout and stderr: a last guard so no registered secret value is ever printed. */
export class CliOutput {
  constructor(
    private readonly stdout: CliWritable,
    private readonly stderr: CliWritable,
  ) {}

  /** One or more lines of results on stdout. */
  out(text: string): void {
    this.stdout.write(`${mask(text)}\n`);
  }

  /** One or more lines on stderr (prompts, notes, warnings, errors). */
  err(text: string): void {
    this.stderr.write(`${mask(text)}\n`);
  }

  /** Raw text on stderr without a line break (the prompt). */
  prompt(text: string): void {
    this.stderr.write(mask(text));
  }

  /** A JSON document on stdout, every string in it masked (keys and numbers are left alone). */
  json(value: unknown): void {
    this.stdout.write(`${JSON.stringify(maskStrings(value), null, 2)}\n`);
  }
}

function maskStrings(value: unknown): unknown {
  if (typeof value === "string") return mask(value);
  if (Array.isArray(value)) return value.map(maskStrings);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskStrings(v)]));
  }
  return value;
}
