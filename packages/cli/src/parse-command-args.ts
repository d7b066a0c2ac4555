import { parseArgs } from "node:util";
import { getSecretDefinition, TributaryError } from "@tributary/auth";

/** The command line was wrong: printed with the command's usage, exit code 2. */
export class UsageError extends TributaryError {
  static override readonly errorName: string = "UsageError";
  constructor(
    message: string,
    /** The usage text of the command, printed after the message. */
    readonly usage: string,
  ) {
    super("USAGE", message);
  }
}

/** The parsed command line of one command. */
export interface CommandArgs {
  /** Whether `--help`/`-h` was given. */
  help: boolean;
  /** Whether `--json` was given (only for commands that accept it). */
  json: boolean;
  /** Whether `--force` was given (only for commands that accept it). */
  force: boolean;
  /** Whether `--strict` was given (only for commands that accept it). */
  strict: boolean;
  /** The value of `--config FILE` (only for commands that accept it). */
  config?: string;
  /** The positional arguments. */
  positionals: string[];
  /** Options that the command does not know, by name only (never with their values). */
  unknown: string[];
  /** Whether an unknown option carried a value (`--value=…`). */
  unknownHadValue: boolean;
}

/** The options a command accepts besides `--help`. */
export type AcceptedOptions = Partial<Record<"json" | "force" | "strict" | "config", boolean>>;

/**
 * Parses a command's arguments with `node:util` `parseArgs`. Unknown options are collected by name, without
 * any value given with them, so that no error message can repeat a secret typed on the command line.
 */
export function parseCommandArgs(
  args: readonly string[],
  accepts: AcceptedOptions,
  usage: string,
): CommandArgs {
  const { tokens } = parseArgs({
    args: [...args],
    options: {
      help: { type: "boolean", short: "h" },
      json: { type: "boolean" },
      force: { type: "boolean" },
      strict: { type: "boolean" },
      ...(accepts.config ? { config: { type: "string" as const } } : {}),
    },
    allowPositionals: true,
    strict: false,
    tokens: true,
  });
  const parsed: CommandArgs = {
    help: false,
    json: false,
    force: false,
    strict: false,
    positionals: [],
    unknown: [],
    unknownHadValue: false,
  };
  for (const token of tokens) {
    if (token.kind === "positional") parsed.positionals.push(token.value);
    if (token.kind !== "option") continue;
    const name = token.name as keyof AcceptedOptions | "help";
    const known = name === "help" || accepts[name] === true;
    if (!known) {
      parsed.unknown.push(token.rawName);
      if (token.value !== undefined) parsed.unknownHadValue = true;
    } else if (name === "config") {
      if (token.value === undefined || token.value === "")
        throw new UsageError("--config needs a FILE", usage);
      parsed.config = token.value;
    } else if (token.value !== undefined) {
      throw new UsageError(`${token.rawName} takes no value`, usage);
    } else parsed[name] = true;
  }
  return parsed;
}

const NAME = /^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/;

/**
 * Checks a secret name given on the command line. The name is not repeated in the message (a value typed in
 * its place must not be echoed), except as a suggestion when it is a registered name in the wrong case.
 */
export function checkSecretName(name: string | undefined, usage: string): string {
  if (name === undefined || name === "") throw new UsageError("missing NAME", usage);
  if (NAME.test(name)) return name;
  const upper = name.toUpperCase().replace(/-/g, "_");
  const hint = getSecretDefinition(upper) ? ` Did you mean ${upper}?` : "";
  throw new UsageError(
    `invalid secret name: use upper case letters, digits and single underscores, such as SLACK_WEBHOOK_URL.${hint}`,
    usage,
  );
}
