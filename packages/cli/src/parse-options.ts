import { parseArgs } from "node:util";
import { UsageError } from "./parse-command-args.js";

/** One option a command accepts: a flag, or an option with a value (repeatable when `multiple`). */
export interface OptionSpec {
  type: "boolean" | "string";
  short?: string;
  multiple?: boolean;
}

/** What `parseOptions` returns: the positionals, and the options given, by name. */
export interface ParsedOptions {
  positionals: string[];
  flags: Set<string>;
  values: Map<string, string[]>;
}

/**
 * Parses a command line against the options a command accepts (`--help`/`-h` always). Errors name the option,
 * never a value given with it, so that no message repeats a secret typed on the command line.
 */
export function parseOptions(
  args: readonly string[],
  spec: Readonly<Record<string, OptionSpec>>,
  usage: string,
): ParsedOptions {
  const options: Record<string, { type: "boolean" | "string"; short?: string; multiple?: boolean }> = {
    help: { type: "boolean", short: "h" },
    ...spec,
  };
  const { tokens } = parseArgs({ args: [...args], options, allowPositionals: true, strict: false, tokens: true });
  const parsed: ParsedOptions = { positionals: [], flags: new Set(), values: new Map() };
  for (const token of tokens) {
    if (token.kind === "positional") parsed.positionals.push(token.value);
    if (token.kind !== "option") continue;
    const known = options[token.name];
    if (!known) throw new UsageError(`unknown option ${token.rawName.split("=")[0]}`, usage);
    if (known.type === "boolean") {
      if (token.value !== undefined) throw new UsageError(`${token.rawName} takes no value`, usage);
      parsed.flags.add(token.name);
      continue;
    }
    if (token.value === undefined) throw new UsageError(`${token.rawName} needs a value`, usage);
    const list = parsed.values.get(token.name) ?? [];
    if (list.length > 0 && !known.multiple) throw new UsageError(`${token.rawName} is given twice`, usage);
    list.push(token.value);
    parsed.values.set(token.name, list);
  }
  return parsed;
}

/** The one value of a string option, or `undefined`. */
export function optionValue(parsed: ParsedOptions, name: string): string | undefined {
  return parsed.values.get(name)?.[0];
}

/** A whole-number option within bounds, or `fallback` when not given. */
export function integerOption(
  parsed: ParsedOptions,
  name: string,
  bounds: { min: number; max: number },
  fallback: number,
  usage: string,
): number {
  const raw = optionValue(parsed, name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < bounds.min || n > bounds.max) {
    throw new UsageError(`--${name} must be a whole number from ${bounds.min} to ${bounds.max}`, usage);
  }
  return n;
}
