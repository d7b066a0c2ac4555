import { PassThrough } from "node:stream";
import { registerSecretValue, Secret } from "@tributary/auth";
import { afterEach, describe, expect, it } from "vitest";
import { memorySink } from "../test/helpers.js";
import { configureLogging, createLogger, resetLogging } from "./logger.js";

afterEach(() => resetLogging());

describe("createLogger", () => {
  it("writes text lines with the level, message and fields", () => {
    const { sink, lines } = memorySink();
    const log = createLogger({ sink, bindings: { flow: "nightly" } });
    log.info("uploaded report", { bucket: "reports", bytes: 12, note: "two words" });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /^\d{4}-\d\d-\d\dT[\d:.]+Z INFO {2}uploaded report flow=nightly bucket=reports bytes=12 note="two words"$/,
    );
  });

  it("writes one JSON object per line in json format", () => {
    const { sink, lines } = memorySink();
    createLogger({ sink, format: "json", bindings: { task: "extract" } }).warn("slow", { ms: 1500 });
    const entry = JSON.parse(lines[0] as string);
    expect(entry).toMatchObject({ level: "warn", msg: "slow", task: "extract", ms: 1500 });
    expect(typeof entry.time).toBe("string");
  });

  it.each([
    ["debug", ["debug", "info", "warn", "error"]],
    ["info", ["info", "warn", "error"]],
    ["warn", ["warn", "error"]],
    ["error", ["error"]],
    ["silent", []],
  ] as const)("at level %s writes %j", (level, expected) => {
    const { sink, records } = memorySink();
    const log = createLogger({ sink, level });
    log.debug("d");
    log.info("i");
    log.warn("w");
    log.error("e");
    expect(records.map((r) => r.level)).toEqual(expected);
  });

  it("masks registered secrets in messages and fields, and sensitive keys whole", () => {
    const value = `tok-${Math.random().toString(36).slice(2)}-value`;
    registerSecretValue(value);
    const { sink, lines, records } = memorySink();
    const log = createLogger({ sink, format: "json" });
    log.error(`request failed with ${value}`, {
      url: `https://example.com/?key=${encodeURIComponent(value)}`,
      nested: { deep: [value] },
      password: "short",
      wrapped: new Secret("MY_TOKEN", value),
      error: new Error(`bad ${value}`),
    });
    expect(lines.join("\n")).not.toContain(value);
    expect(JSON.stringify(records)).not.toContain(value);
    const entry = JSON.parse(lines[0] as string);
    expect(entry.msg).toBe("request failed with [redacted]");
    expect(entry.password).toBe("[redacted]");
    expect(entry.wrapped).toBe("[redacted:MY_TOKEN]");
    expect(entry.error).toEqual({ name: "Error", message: "bad [redacted]" });
  });

  it("writes to a stream sink with a line break", () => {
    const stream = new PassThrough();
    const chunks: string[] = [];
    stream.on("data", (c) => chunks.push(String(c)));
    createLogger({ sink: stream }).info("hello");
    expect(chunks.join("")).toMatch(/INFO {2}hello\n$/);
  });

  it("never throws when the sink does", () => {
    const log = createLogger({
      sink: () => {
        throw new Error("disk full");
      },
    });
    expect(() => log.error("still fine")).not.toThrow();
  });

  it("never throws on what it cannot mask, and writes [redacted] in its place", () => {
    const { sink, lines } = memorySink();
    const log = createLogger({ sink, format: "json" });
    const hostile = {
      toString() {
        throw new Error("no");
      },
    };
    const throwingGetter = Object.defineProperty({}, "x", {
      enumerable: true,
      get() {
        throw new Error("no");
      },
    });
    expect(() => log.info(hostile as unknown as string, { field: throwingGetter })).not.toThrow();
    expect(JSON.parse(lines[0] as string)).toMatchObject({ msg: "[redacted]", field: { x: "[redacted]" } });
  });

  it("masks secrets used as field keys and inside Buffers", () => {
    const secret = `key-${Math.random().toString(36).slice(2)}-opaque-value`;
    registerSecretValue(secret);
    const { sink, lines } = memorySink();
    createLogger({ sink }).info("fields", { [secret]: 1, body: Buffer.from(`payload ${secret}`) });
    expect(lines[0]).not.toContain(secret);
    expect(lines[0]).toContain('[redacted]=1 body="payload [redacted]"');
  });

  it("refuses an unknown level", () => {
    expect(() => createLogger({ level: "verbose" as never })).toThrow(/Unknown log level verbose/);
  });
});

describe("configureLogging", () => {
  it("sets what loggers without their own options use, read at each call", () => {
    const { sink, records } = memorySink();
    const log = createLogger();
    configureLogging({ sink, level: "debug", format: "json" });
    log.debug("now visible");
    configureLogging({ level: "error" });
    log.warn("hidden again");
    expect(records.map((r) => r.message)).toEqual(["now visible"]);
  });
});
