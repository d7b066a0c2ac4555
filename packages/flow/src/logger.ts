import { mask, maskValue, processSingleton } from "@tributary/auth";

/** The levels a logger writes, from the most to the least verbose; `"silent"` writes nothing. */
export type LogLevel = "debug" | "info" | "warn" | "error" | "silent";

/** How a line is written: `"text"` for people, `"json"` for one JSON object per line. */
export type LogFormat = "text" | "json";

/** One log entry, already masked: every message and field has been through the secret masker. */
export interface LogRecord {
  /** When it was logged, ISO 8601. */
  time: string;
  /** The level it was logged at. */
  level: Exclude<LogLevel, "silent">;
  /** The message, masked. */
  message: string;
  /** The logger's own fields (flow, task, runId, attempt) followed by the call's fields, all masked. */
  fields: Record<string, unknown>;
}

/**
 * Where lines go: a stream-like object (`process.stderr`, a file stream) that receives each formatted line with
 * its line break, or a function that receives the line (without line break) and the masked record.
 */
export type LogSink =
  | {
      /** Receives one formatted line, ending with `\n`. */
      write(line: string): unknown;
    }
  | ((line: string, record: LogRecord) => void);

/** A logger whose every message and field is masked before it is written. */
export interface Logger {
  /** Logs detail useful while debugging. */
  debug(message: string, fields?: Record<string, unknown>): void;
  /** Logs normal progress, such as which source a credential came from. */
  info(message: string, fields?: Record<string, unknown>): void;
  /** Logs something unexpected that did not stop the work, such as a retry. */
  warn(message: string, fields?: Record<string, unknown>): void;
  /** Logs a failure. */
  error(message: string, fields?: Record<string, unknown>): void;
}

/** The options of `createLogger` and `configureLogging`. */
export interface LoggerOptions {
  /** The least severe level written (default `"info"` for `createLogger`). */
  level?: LogLevel;
  /** `"text"` (default) or `"json"` lines. */
  format?: LogFormat;
  /** Where lines go (default `process.stderr`). */
  sink?: LogSink;
  /** Fields added to every entry, such as `{ flow: "nightly" }`. */
  bindings?: Record<string, unknown>;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };
const LEVELS = new Set<string>(Object.keys(RANK));

function formatValue(value: unknown): string {
  if (typeof value === "string") return /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  if (value === undefined) return "undefined";
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

const INDENT = "    ";

/** An error field as a report shows it (`{ name, code?, message }`), printed on its own indented lines. */
function errorBlock(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const { name, code, message } = value as { name?: unknown; code?: unknown; message?: unknown };
  if (typeof name !== "string" || typeof message !== "string") return undefined;
  const head = `${name}${typeof code === "string" ? ` [${code}]` : ""}: `;
  return `\n${INDENT}${(head + message).replace(/\r?\n/g, `\n${INDENT}`)}`;
}

/**
 * One entry for people: the first line holds time, level, message and the short fields; the message's further
 * lines and an `error` field's message follow, indented, instead of a JSON string full of `\n`.
 */
function formatText(record: LogRecord): string {
  const [first, ...rest] = record.message.split(/\r?\n/);
  let line = `${record.time} ${record.level.toUpperCase().padEnd(5)} ${first}`;
  let block = rest.length > 0 ? `\n${INDENT}${rest.join(`\n${INDENT}`)}` : "";
  for (const [key, value] of Object.entries(record.fields)) {
    const error = key === "error" ? errorBlock(value) : undefined;
    if (error) block += error;
    else line += ` ${key}=${formatValue(value)}`;
  }
  return line + block;
}

function formatJson(record: LogRecord): string {
  try {
    return JSON.stringify({ time: record.time, level: record.level, msg: record.message, ...record.fields });
  } catch {
    return JSON.stringify({
      time: record.time,
      level: record.level,
      msg: record.message,
      fields: "[unserializable]",
    });
  }
}

/** What `maskValue` made of a fields object: the object, or `{ fields: … }` when it could only redact it whole. */
function asFields(masked: unknown): Record<string, unknown> {
  return masked !== null && typeof masked === "object" && !Array.isArray(masked)
    ? (masked as Record<string, unknown>)
    : { fields: masked };
}

function write(sink: LogSink, line: string, record: LogRecord): void {
  try {
    if (typeof sink === "function") sink(line, record);
    else sink.write(`${line}\n`);
  } catch {
    // A broken sink must never fail the task that logged.
  }
}

/** @internal A logger's options, resolved against the process defaults again only after `configureLogging`. */
class Settings {
  private version = -1;
  private resolved: Resolved | undefined;
  constructor(
    private readonly own: LoggerOptions,
    private readonly fallbackLevel: LogLevel,
  ) {}
  get(): Resolved {
    if (this.version !== defaults.version || !this.resolved) {
      this.resolved = processDefaults(this.fallbackLevel, this.own);
      this.version = defaults.version;
    }
    return this.resolved;
  }
}

/** @internal A logger with resolved options; `child` adds bindings without re-reading options. */
export class MaskingLogger implements Logger {
  constructor(
    private readonly settings: Settings,
    private readonly bindings: Record<string, unknown>,
  ) {}

  /** A logger writing to the same place with more fields bound. */
  child(bindings: Record<string, unknown>): MaskingLogger {
    return new MaskingLogger(this.settings, { ...this.bindings, ...bindings });
  }

  /** Whether a line at `level` would be written: skip building costly fields when not. */
  enabled(level: Exclude<LogLevel, "silent">): boolean {
    return RANK[level] >= RANK[this.settings.get().level];
  }

  private log(level: Exclude<LogLevel, "silent">, message: string, fields?: Record<string, unknown>): void {
    const options = this.settings.get();
    if (RANK[level] < RANK[options.level]) return;
    const masked = fields === undefined ? {} : asFields(maskValue(fields));
    const record: LogRecord = {
      time: new Date().toISOString(),
      level,
      message: mask(message),
      fields: { ...asFields(maskValue(this.bindings)), ...masked },
    };
    write(options.sink, options.format === "json" ? formatJson(record) : formatText(record), record);
  }

  debug(message: string, fields?: Record<string, unknown>): void {
    this.log("debug", message, fields);
  }
  info(message: string, fields?: Record<string, unknown>): void {
    this.log("info", message, fields);
  }
  warn(message: string, fields?: Record<string, unknown>): void {
    this.log("warn", message, fields);
  }
  error(message: string, fields?: Record<string, unknown>): void {
    this.log("error", message, fields);
  }
}

function envLevel(): LogLevel | undefined {
  const value = process.env.TRIBUTARY_LOG_LEVEL?.toLowerCase();
  return value && LEVELS.has(value) ? (value as LogLevel) : undefined;
}

type Defaults = { level?: LogLevel; format: LogFormat; sink?: LogSink; version: number };
/** Shared by every loaded copy of the package, like auth's process state. */
const defaults = processSingleton<Defaults>("flow.logging", () => ({ format: "text", version: 0 }));

type Resolved = Required<Omit<LoggerOptions, "bindings">>;

/**
 * @internal The options in effect: `own` over the process defaults; the level falls back to `fallbackLevel` when
 * none was configured (the environment is read only when neither sets it).
 */
export function processDefaults(fallbackLevel: LogLevel, own: LoggerOptions = {}): Resolved {
  return {
    level: own.level ?? defaults.level ?? envLevel() ?? fallbackLevel,
    format: own.format ?? defaults.format,
    sink: own.sink ?? defaults.sink ?? process.stderr,
  };
}

function checkLevel(level: LogLevel | undefined): void {
  if (level !== undefined && !LEVELS.has(level)) {
    throw new TypeError(`Unknown log level ${String(level)}: use debug, info, warn, error or silent.`);
  }
}

/**
 * Sets the process default logging, used by tasks called outside any flow and by flows that set no logger of
 * their own. Out of the box: level `warn` (or `TRIBUTARY_LOG_LEVEL`) outside flows and `info` inside flow runs,
 * text lines, to `process.stderr`. Only the options given change.
 * @example
 * configureLogging({ level: "info", format: "json", sink: (line) => myLogger.info(line) });
 */
export function configureLogging(options: Omit<LoggerOptions, "bindings">): void {
  checkLevel(options.level);
  if (options.level !== undefined) defaults.level = options.level;
  if (options.format !== undefined) defaults.format = options.format;
  if (options.sink !== undefined) defaults.sink = options.sink;
  defaults.version++;
}

/** @internal Forgets what `configureLogging` set (for tests). */
export function resetLogging(): void {
  defaults.level = undefined;
  defaults.format = "text";
  defaults.sink = undefined;
  defaults.version++;
}

/**
 * Creates a logger that masks every registered secret value in messages and fields (and replaces fields with
 * sensitive names such as `token` or `password` whole) before writing text or JSON lines to its sink. Options not
 * given follow `configureLogging`, read at each call.
 * @example
 * const log = createLogger({ level: "debug", format: "json", sink: (line) => lines.push(line) });
 * log.info("uploaded", { bucket: "reports", bytes: 1024 });
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  return createMaskingLogger(options, "info");
}

/** @internal `createLogger` with a chosen fallback level and the `child` method. */
export function createMaskingLogger(options: LoggerOptions, fallbackLevel: LogLevel): MaskingLogger {
  checkLevel(options.level);
  return new MaskingLogger(new Settings(options, fallbackLevel), options.bindings ?? {});
}
