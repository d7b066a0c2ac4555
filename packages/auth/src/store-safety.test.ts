import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { describe, expect, it, onTestFinished } from "vitest";
import { fakeSlackToken, isolateEnvironment } from "../test/helpers.js";
import { ValidationError } from "./errors.js";
import { resolveSecret } from "./resolve-secret.js";
import { localStore } from "./store.js";
import { thisHostId } from "./store-lock.js";

const env = isolateEnvironment();
const NOBODY = 65534;
const asRoot = process.getuid?.() === 0;

/** The pid of a process that has exited (and been reaped). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
  await new Promise((r) => child.once("exit", r));
  return child.pid as number;
}

function plantLock(path: string, holder: { pid: number; host?: string; ageMs?: number } | "folder") {
  const lock = `${path}.lock`;
  const ageMs = holder === "folder" ? 120_000 : (holder.ageMs ?? 0);
  if (holder === "folder") mkdirSync(lock);
  else {
    const time = Date.now() - ageMs;
    const token = randomBytes(8).toString("hex");
    writeFileSync(lock, JSON.stringify({ pid: holder.pid, host: holder.host ?? hostname(), token, time }));
  }
  const when = new Date(Date.now() - ageMs);
  utimesSync(lock, when, when);
  return lock;
}

describe("the local store trusts only what its user owns", () => {
  it.skipIf(!asRoot)("refuses a store planted by another user in a folder everyone can write", async () => {
    // As on a shared machine: TRIBUTARY_HOME in a 1777 folder, secrets.json written there by uid 65534.
    const home = env.home();
    chmodSync(home, 0o1777);
    const path = join(home, "secrets.json");
    const planted = {
      ACCESS_KEY: `AKIA${randomBytes(8).toString("hex").toUpperCase()}`,
      SECRET_ACCESS_KEY: randomBytes(20).toString("base64"),
    };
    writeFileSync(path, JSON.stringify({ version: 1, secrets: { AWS_CREDENTIALS: planted } }), {
      mode: 0o600,
    });
    chownSync(path, NOBODY, NOBODY);

    const error = await resolveSecret("AWS_CREDENTIALS").catch((e) => e);
    expect(error).toMatchObject({ name: "SecretStoreError", code: "STORE_UNSAFE_PERMISSIONS" });
    expect(error.message).toContain(`chmod go-w ${home}`);
    expect(error.message).not.toContain(planted.ACCESS_KEY);

    chmodSync(home, 0o700);
    const owner = await resolveSecret("AWS_CREDENTIALS").catch((e) => e);
    expect(owner).toMatchObject({ name: "SecretStoreError", code: "STORE_UNSAFE_OWNER" });
    expect(owner.message).toContain(`belongs to another user (uid ${NOBODY})`);
    expect(owner.message).toContain(`chown root ${path}`);
    // Writing is refused too: nothing of the planted file is copied into a new store.
    await expect(localStore().set("SLACK_BOT_TOKEN", fakeSlackToken())).rejects.toMatchObject({
      code: "STORE_UNSAFE_OWNER",
    });
    expect(() => localStore().check()).toThrow(/belongs to another user/);
  });

  it.skipIf(!asRoot)("refuses a folder owned by another user, or writable by group or others", async () => {
    const store = localStore();
    await store.set("SLACK_BOT_TOKEN", fakeSlackToken());
    const home = env.home();
    for (const mode of [0o777, 0o1777, 0o770, 0o720]) {
      chmodSync(home, mode);
      expect(() => store.get("SLACK_BOT_TOKEN"), mode.toString(8)).toThrow(
        new RegExp(`can be written by other users \\(mode ${mode.toString(8)}\\)`),
      );
      await expect(store.remove("SLACK_BOT_TOKEN")).rejects.toMatchObject({
        code: "STORE_UNSAFE_PERMISSIONS",
      });
    }
    chmodSync(home, 0o755);
    chownSync(home, NOBODY, NOBODY);
    expect(() => store.get("SLACK_BOT_TOKEN")).toThrow(`chown root ${home}`);
    // An unsafe folder is reported even before any store file exists in it.
    const empty = join(home, "empty");
    mkdirSync(empty, { mode: 0o777 });
    chmodSync(empty, 0o777);
    expect(() => localStore({ home: empty }).check()).toThrow(/chmod go-w/);
    expect(localStore({ home: empty }).names()).toEqual([]);
    await expect(localStore({ home: empty }).set("SLACK_BOT_TOKEN", "xoxb-x")).rejects.toMatchObject({
      code: "STORE_UNSAFE_PERMISSIONS",
    });
    expect(existsSync(join(empty, "secrets.json"))).toBe(false);
  });

  it("refuses a file that is not valid UTF-8 and never rewrites it", async () => {
    const store = localStore();
    await store.set("SLACK_BOT_TOKEN", fakeSlackToken());
    const bytes = Buffer.concat([
      Buffer.from('{"version":1,"secrets":{"CUSTOM_NOTE":"caf'),
      Buffer.from([0xe9]), // Latin-1 é: not UTF-8
      Buffer.from('"}}\n'),
    ]);
    writeFileSync(store.path, bytes, { mode: 0o600 });
    expect(() => store.get("CUSTOM_NOTE")).toThrow(/is not valid UTF-8 text/);
    await expect(store.set("SLACK_BOT_TOKEN", fakeSlackToken())).rejects.toMatchObject({
      code: "STORE_CORRUPT",
    });
    expect(readFileSync(store.path).equals(bytes)).toBe(true);
  });

  it.each(["__proto__", "constructor", "toString", "hasOwnProperty", "../x", "lower"])(
    "refuses %s as a name on every call",
    async (name) => {
      const store = localStore();
      await store.set("SLACK_BOT_TOKEN", fakeSlackToken());
      await expect(store.set(name, "value")).rejects.toBeInstanceOf(ValidationError);
      expect(() => store.get(name)).toThrow(ValidationError);
      await expect(store.remove(name)).rejects.toBeInstanceOf(ValidationError);
      expect(store.names()).toEqual(["SLACK_BOT_TOKEN"]);
    },
  );

  it("refuses a file holding an entry whose name breaks the rule", async () => {
    const store = localStore();
    await store.set("SLACK_BOT_TOKEN", fakeSlackToken());
    writeFileSync(store.path, '{"version":1,"secrets":{"__proto__":{"polluted":true}}}', { mode: 0o600 });
    expect(() => store.names()).toThrow(/not a valid secret name \("__proto__"\)/);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("refuses a value nested too deeply, leaving no temporary file", async () => {
    let deep: unknown = "leaf";
    for (let i = 0; i < 5000; i++) deep = { a: deep };
    const store = localStore();
    await store.set("SLACK_BOT_TOKEN", fakeSlackToken());
    await expect(store.set("CUSTOM_CONFIG", deep)).rejects.toMatchObject({
      name: "InvalidSecretError",
      message: expect.stringContaining("nests deeper than 32 levels"),
    });
    expect(readdirSync(env.home()).sort()).toEqual(["secrets.json"]);
  });
});

describe("the store's lock", () => {
  it("takes over at once the lock of a writer that died", async () => {
    // No time to wait at all: the write only succeeds if the dead writer's lock is taken over on first sight.
    const store = localStore({ lockTimeoutMs: 0 });
    const lock = plantLock(store.path, { pid: await deadPid() });
    await store.set("SLACK_BOT_TOKEN", fakeSlackToken());
    expect(existsSync(lock)).toBe(false);
  });

  it("takes over a lock left as a folder (older versions' crash) once it is stale", async () => {
    const store = localStore();
    const lock = plantLock(store.path, "folder");
    await store.set("SLACK_BOT_TOKEN", fakeSlackToken());
    expect(existsSync(lock)).toBe(false);
  });

  it("takes over a lock from another machine only after the documented time", async () => {
    const store = localStore({ lockTimeoutMs: 300 });
    plantLock(store.path, { pid: 1, host: "other-host", ageMs: 50_000 });
    const error = await store.set("SLACK_BOT_TOKEN", fakeSlackToken()).catch((e) => e);
    expect(error).toMatchObject({ code: "STORE_LOCKED" });
    expect(error.message).toContain("held by process 1 on other-host");
    plantLock(store.path, { pid: 1, host: "other-host", ageMs: 61_000 });
    await store.set("SLACK_BOT_TOKEN", fakeSlackToken());
  });

  it("takes over at once a lock naming this process's pid with a token it never made (a reused pid)", async () => {
    const store = localStore({ lockTimeoutMs: 500 });
    plantLock(store.path, { pid: process.pid });
    await store.set("SLACK_BOT_TOKEN", fakeSlackToken());
  });

  it.each([
    ["a live holder", (path: string, pid: number) => plantLock(path, { pid })],
    ["a fresh lock that records no holder", (path: string) => mkdirSync(`${path}.lock`)],
    [
      "a dangling symlink in the lock's place",
      (path: string) => symlinkSync(`${path}.nowhere`, `${path}.lock`),
    ],
  ])("waits for %s until its deadline, sleeping, then fails", async (_, plant) => {
    const store = localStore({ lockTimeoutMs: 1500 });
    mkdirSync(env.home(), { recursive: true });
    const holder = spawn(process.execPath, ["-e", "setTimeout(() => {}, 30000)"], { stdio: "ignore" });
    onTestFinished(() => {
      holder.kill("SIGKILL");
    });
    plant(store.path, holder.pid as number);
    const cpu = process.cpuUsage();
    const started = Date.now();
    const error = await store.set("SLACK_BOT_TOKEN", fakeSlackToken()).catch((e) => e);
    const elapsed = Date.now() - started;
    const used = process.cpuUsage(cpu);
    expect(error).toMatchObject({ name: "SecretStoreError", code: "STORE_LOCKED" });
    // It waits out its deadline, and fails well before the default 10 s (a busy machine may add some delay).
    expect(elapsed).toBeGreaterThanOrEqual(1500);
    expect(elapsed).toBeLessThan(6000);
    // Sleeping between tries: a busy loop would burn about as much CPU as wall time.
    expect((used.user + used.system) / 1000).toBeLessThan(elapsed / 2);
  });

  it("removes temporary copies and lock files left by dead writers, keeping a live writer's", async () => {
    const store = localStore();
    await store.set("SLACK_BOT_TOKEN", fakeSlackToken());
    const dead = await deadPid();
    const child = spawn(process.execPath, ["-e", "setTimeout(() => {}, 30000)"], { stdio: "ignore" });
    try {
      const names = {
        dead: `.secrets.json.${thisHostId()}.${dead}.aaaaaaaaaaaa.tmp`,
        older: `.secrets.json.${dead}.k3j4h5.tmp`,
        live: `.secrets.json.${thisHostId()}.${child.pid}.bbbbbbbbbbbb.tmp`,
        // Killed before it wrote a byte: who made it is in its name.
        candidate: `secrets.json.lock.${thisHostId()}.${dead}.${"c".repeat(16)}`,
        renamed: `secrets.json.lock.dead.${thisHostId()}.${dead}.${"f".repeat(16)}`,
      };
      for (const name of Object.values(names)) writeFileSync(join(env.home(), name), "", { mode: 0o600 });
      // A guard is a link of a complete candidate: its holder is read from inside.
      const guard = join(env.home(), `secrets.json.lock.reap-${"d".repeat(16)}`);
      writeFileSync(
        guard,
        JSON.stringify({ pid: dead, host: hostname(), token: "e".repeat(16), time: Date.now() }),
      );
      await store.remove("SLACK_BOT_TOKEN");
      expect(readdirSync(env.home()).sort()).toEqual([names.live, "secrets.json"].sort());
    } finally {
      child.kill("SIGKILL");
    }
  });
});
