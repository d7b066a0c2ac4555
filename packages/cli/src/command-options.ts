import { parseArgs } from "node:util";
import { UsageError } from "./parse-command-args.js";

/**
 * The options a command takes: each a flag (`boolean`), an option with a value (`string`), or one that may be
 * given many times (`list`, such as `-e NAME -e NAME2`; a one-letter key is its short form).
 */
export type OptionSpec = Readonly<Record<string, "boolean" | "string" | "list">>;

/** What `parseOptions` returns. */
export interface ParsedOptions {
  /** Whether `--help`/`-h` was given. */
  help: boolean;
  /** Values by option name: `true` for flags, the text for the others, every text given for a `list`. */
  values: Record<string, string | true | string[]>;
  /** The positional arguments. */
  positionals: string[];
}

/**
 * Parses a command's arguments against `spec`. Unknown options, an option given twice, a flag given a value and an
 * option missing its value are `UsageError`s that name the option, never a value typed with it.
 */
export function parseOptions(args: readonly string[], spec: OptionSpec, usage: string): ParsedOptions {
  const { tokens } = parseArgs({
    args: [...args],
    options: { help: { type: "boolean", short: "h" } },
    allowPositionals: true,
    strict: false,
    tokens: true,
  });
  const parsed: ParsedOptions = { help: false, values: {}, positionals: [] };
  const list = tokens ?? [];
  for (let i = 0; i < list.length; i++) {
    const token = list[i];
    if (!token) continue;
    if (token.kind === "positional") parsed.positionals.push(token.value);
    if (token.kind !== "option") continue;
    if (token.name === "help") {
      parsed.help = true;
      continue;
    }
    const type = spec[token.name];
    if (type === undefined) throw new UsageError(`unknown option ${token.rawName.split("=")[0]}`, usage);
    if (token.name in parsed.values && type !== "list") {
      throw new UsageError(`${token.rawName} is given twice`, usage);
    }
    if (type === "boolean") {
      if (token.value !== undefined) throw new UsageError(`${token.rawName} takes no value`, usage);
      parsed.values[token.name] = true;
      continue;
    }
    let value = token.value;
    if (value === undefined) {
      // `--params '{"a":1}'`: parseArgs (not strict) leaves the value as the next positional token.
      const next = list[i + 1];
      if (next?.kind === "positional") {
        value = next.value;
        i++;
      }
    }
    if (value === undefined || value === "") throw new UsageError(`${token.rawName} needs a value`, usage);
    if (type === "list") {
      const values = parsed.values[token.name];
      parsed.values[token.name] = Array.isArray(values) ? [...values, value] : [value];
    } else parsed.values[token.name] = value;
  }
  return parsed;
}
