import type { ParsedOptions } from "./command-options.js";
import { UsageError } from "./parse-command-args.js";

/** The text given for a `string` option, or `undefined`. */
export function stringOption(parsed: ParsedOptions, name: string): string | undefined {
  const value = parsed.values[name];
  return typeof value === "string" ? value : undefined;
}

/** Every text given for a `list` option. */
export function listOption(parsed: ParsedOptions, name: string): string[] {
  const value = parsed.values[name];
  return Array.isArray(value) ? value : [];
}

/** A whole-number option within bounds, or `fallback` when not given. */
export function integerOption(
  parsed: ParsedOptions,
  name: string,
  bounds: { min: number; max: number },
  fallback: number,
  usage: string,
): number {
  const raw = stringOption(parsed, name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < bounds.min || n > bounds.max) {
    throw new UsageError(`--${name} must be a whole number from ${bounds.min} to ${bounds.max}`, usage);
  }
  return n;
}
