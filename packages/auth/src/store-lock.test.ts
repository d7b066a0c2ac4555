import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isolateEnvironment } from "../test/helpers.js";
import { claim, inspect, takeOver } from "./store-lock.js";

// The takeover step, driven by hand into the interleavings that broke unlink-then-create.
const env = isolateEnvironment();

async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
  await new Promise((r) => child.once("exit", r));
  return child.pid as number;
}

function writeHolder(path: string, pid: number) {
  const token = randomBytes(8).toString("hex");
  writeFileSync(path, JSON.stringify({ pid, host: hostname(), token, time: Date.now() }));
  return token;
}

describe("taking over a stale lock", () => {
  it("a late taker never removes the lock that replaced the stale one", async () => {
    mkdirSync(env.home(), { recursive: true });
    const lock = join(env.home(), "secrets.json.lock");
    writeHolder(lock, await deadPid());
    const stale = await inspect(lock);
    if (!stale) throw new Error("no lock");
    const first = await claim(lock);
    const late = await claim(lock);
    // The first taker removes the stale lock, and a live writer takes the lock...
    expect(await takeOver(lock, stale, first)).toBe(true);
    const live = writeHolder(lock, process.ppid);
    // ...then the late taker acts on what it saw before: it must leave the live lock alone.
    expect(await takeOver(lock, stale, late)).toBe(false);
    expect(JSON.parse(readFileSync(lock, "utf8")).token).toBe(live);
  });

  it("waits while another taker holds the guard of the same stale lock, and reaps a dead taker's guard", async () => {
    mkdirSync(env.home(), { recursive: true });
    const lock = join(env.home(), "secrets.json.lock");
    const token = writeHolder(lock, await deadPid());
    const stale = await inspect(lock);
    if (!stale) throw new Error("no lock");
    const guard = `${lock}.reap-${token}`;
    const mine = await claim(lock);

    writeHolder(guard, process.ppid); // a live taker is at work
    expect(await takeOver(lock, stale, mine)).toBe(false);
    expect(existsSync(lock)).toBe(true);

    writeHolder(guard, await deadPid()); // that taker died holding the guard
    expect(await takeOver(lock, stale, mine)).toBe(false);
    expect(existsSync(guard)).toBe(false);
    expect(await takeOver(lock, stale, mine)).toBe(true);
    expect(existsSync(lock)).toBe(false);
  });
});
