import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, copyFileSync, existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import packageJson from "../package.json" with { type: "json" };
import { BIN, type CliResult, cliEnv, removeTempHomes, runBin, tempHome } from "../test/helpers.js";

/** A Slack-shaped token built at run time, so that no token-shaped string sits in the source. */
const fakeSlackToken = (label: string) => `xoxb-${label}-${randomBytes(8).toString("hex")}`;

const BOT_TOKEN = fakeSlackToken("cli-round-trip");
const BAD_WEBHOOK = "http://hooks.example.com/services/T000/B000/notHttpsSecret";
const GH_TOKEN = "ghp_envSourceSecret123456";
const AWS = {
  ACCESS_KEY: `TEST${randomBytes(8).toString("hex").toUpperCase()}`,
  SECRET_ACCESS_KEY: randomBytes(30).toString("base64"),
};

afterAll(removeTempHomes);

/** util-linux `script` runs a command on a real pseudo-terminal. */
const hasScript = spawnSync("script", ["--version"]).status === 0;

const storePath = (home: string) => join(home, "secrets.json");
const stored = (home: string) =>
  (JSON.parse(readFileSync(storePath(home), "utf8")) as { secrets: Record<string, unknown> }).secrets;
const printed = (r: CliResult) => r.stdout + r.stderr;
/** The row of `name` in the list/doctor table, with its columns joined by single spaces. */
const row = (r: CliResult, name: string) =>
  r.stdout
    .split("\n")
    .find((l) => l.startsWith(`${name} `))
    ?.replace(/ {2,}/g, " ");

describe("tributary (child process)", () => {
  it("round trip: set from stdin, list, doctor, rm", async () => {
    const home = tempHome();
    const path = storePath(home);

    const set = await runBin(["secrets", "set", "SLACK_BOT_TOKEN"], { home, input: `${BOT_TOKEN}\n` });
    expect(set).toMatchObject({ code: 0, stdout: `Stored SLACK_BOT_TOKEN in ${path}\n`, stderr: "" });
    expect(stored(home)).toEqual({ SLACK_BOT_TOKEN: BOT_TOKEN });
    expect(statSync(path).mode & 0o777).toBe(0o600);

    const list = await runBin(["secrets", "list"], { home });
    expect(list.code).toBe(0);
    expect(row(list, "SLACK_BOT_TOKEN")).toBe(`SLACK_BOT_TOKEN ok store (${path})`);
    expect(row(list, "SLACK_WEBHOOK_URL")).toBe("SLACK_WEBHOOK_URL missing not set");

    const doctor = await runBin(["doctor"], { home });
    expect(doctor.code).toBe(0);
    expect(doctor.stdout).toContain(`Local store: ${path}\n  ok: 1 secret, mode 600`);
    expect(row(doctor, "SLACK_BOT_TOKEN")).toBe(`SLACK_BOT_TOKEN ok store (${path})`);

    const json = await runBin(["doctor", "--json"], { home });
    const report = JSON.parse(json.stdout);
    expect(report).toMatchObject({
      ok: true,
      exitCode: 0,
      store: { path, status: "ok", mode: "600", count: 1 },
    });
    expect(report.secrets.find((s: { name: string }) => s.name === "SLACK_BOT_TOKEN")).toMatchObject({
      status: "ok",
      source: { kind: "store", detail: path },
    });

    const rm = await runBin(["secrets", "rm", "SLACK_BOT_TOKEN"], { home });
    expect(rm).toMatchObject({ code: 0, stdout: `Removed SLACK_BOT_TOKEN from ${path}\n` });
    expect(stored(home)).toEqual({});
    const after = await runBin(["secrets", "list"], { home });
    expect(row(after, "SLACK_BOT_TOKEN")).toBe("SLACK_BOT_TOKEN missing not set");

    const again = await runBin(["secrets", "rm", "SLACK_BOT_TOKEN"], { home });
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("SLACK_BOT_TOKEN is not in the local store");

    for (const r of [set, list, doctor, json, rm, after, again]) expect(printed(r)).not.toContain(BOT_TOKEN);
  });

  it("creates a TRIBUTARY_HOME that does not exist yet, private to the user", async () => {
    const home = join(tempHome(), "nested", "home");
    const r = await runBin(["secrets", "set", "SLACK_BOT_TOKEN"], { home, input: BOT_TOKEN });
    expect(r).toMatchObject({ code: 0, stdout: `Stored SLACK_BOT_TOKEN in ${storePath(home)}\n` });
    expect(statSync(home).mode & 0o777).toBe(0o700);
    expect(stored(home)).toEqual({ SLACK_BOT_TOKEN: BOT_TOKEN });
  });

  it.each([
    [
      "an http webhook URL",
      "SLACK_WEBHOOK_URL",
      BAD_WEBHOOK,
      "- (value): SLACK_WEBHOOK_URL must be an https URL",
    ],
    [
      "a bot token without xoxb-",
      "SLACK_BOT_TOKEN",
      "notASlackTokenSecret",
      "must be a Slack token starting with",
    ],
    [
      "JSON-shaped credentials that are not JSON",
      "AWS_CREDENTIALS",
      "ACCESS_KEY=AKIAnotJsonSecret",
      "not valid JSON",
    ],
    [
      "JSON credentials missing a field",
      "AWS_CREDENTIALS",
      JSON.stringify({ ACCESS_KEY: "AKIAmissingFieldSecret" }),
      "- SECRET_ACCESS_KEY: is required",
    ],
  ])("refuses %s and stores nothing", async (_, name, value, message) => {
    const home = tempHome();
    const r = await runBin(["secrets", "set", name], { home, input: value });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain(`error: ${name} was not stored: the value is malformed:`);
    expect(r.stderr).toContain(message);
    expect(r.stderr).not.toContain(value);
    expect(existsSync(storePath(home))).toBe(false);
  });

  it.skipIf(!hasScript)("reads from a real terminal at a hidden prompt, without echo", async () => {
    const home = tempHome();
    const command = [process.execPath, BIN, "secrets", "set", "SLACK_BOT_TOKEN"].map((a) =>
      JSON.stringify(a),
    );
    const child = spawn("script", ["-qec", command.join(" "), "/dev/null"], { env: cliEnv(home) });
    let output = "";
    let typed = false;
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      output += chunk;
      // Type only once the prompt is shown: raw mode is on from then on, so the terminal echoes nothing.
      if (!typed && output.includes("Enter to finish")) {
        typed = true;
        child.stdin.write(`${BOT_TOKEN}\r`);
      }
    });
    const code = await new Promise((resolve) => child.on("close", resolve));
    child.stdin.destroy();
    expect(code).toBe(0);
    expect(output).toContain("Value for SLACK_BOT_TOKEN (input hidden, Enter to finish):");
    expect(output).toContain(`Stored SLACK_BOT_TOKEN in ${storePath(home)}`);
    expect(output).not.toContain(BOT_TOKEN);
    expect(stored(home)).toEqual({ SLACK_BOT_TOKEN: BOT_TOKEN });
  });

  it("refuses a value given on the command line, without repeating it", async () => {
    const home = tempHome();
    for (const args of [
      ["secrets", "set", "SLACK_BOT_TOKEN", BOT_TOKEN],
      ["secrets", "set", "SLACK_BOT_TOKEN", `--value=${BOT_TOKEN}`],
    ]) {
      const r = await runBin(args, { home, input: "" });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("refuses a value on the command line");
      expect(r.stderr).toContain("shell history");
      expect(printed(r)).not.toContain(BOT_TOKEN);
    }
    expect(existsSync(storePath(home))).toBe(false);
  });

  it("a store readable by others: doctor says chmod 600 <path> and exits 1; set refuses it", async () => {
    const home = tempHome();
    const path = storePath(home);
    await runBin(["secrets", "set", "SLACK_BOT_TOKEN"], { home, input: BOT_TOKEN });
    chmodSync(path, 0o644);

    const doctor = await runBin(["doctor"], { home });
    expect(doctor.code).toBe(1);
    expect(doctor.stdout).toContain(`PROBLEM STORE_UNSAFE_PERMISSIONS:`);
    expect(doctor.stdout).toContain(`Run: chmod 600 ${path}`);
    expect(doctor.stdout).toContain("Problems found");

    const json = JSON.parse((await runBin(["doctor", "--json"], { home })).stdout);
    expect(json).toMatchObject({
      ok: false,
      exitCode: 1,
      store: { status: "problem", mode: "644", error: { code: "STORE_UNSAFE_PERMISSIONS" } },
    });

    const set = await runBin(["secrets", "set", "SLACK_BOT_TOKEN"], { home, input: fakeSlackToken("other") });
    expect(set.code).toBe(1);
    expect(set.stderr).toContain(`chmod 600 ${path}`);
    expect(printed(doctor) + printed(set)).not.toContain(BOT_TOKEN);

    chmodSync(path, 0o600);
    expect((await runBin(["doctor"], { home })).code).toBe(0);
  });

  it("a corrupt store: a clear error naming the file, and the file is left unchanged", async () => {
    const home = tempHome();
    const path = storePath(home);
    const corrupt = `{"version":1,"secrets":{"SLACK_BOT_TOKEN":"${BOT_TOKEN}"`;
    writeFileSync(path, corrupt, { mode: 0o600 });

    const results = {
      doctor: await runBin(["doctor"], { home }),
      list: await runBin(["secrets", "list"], { home }),
      set: await runBin(["secrets", "set", "SLACK_BOT_TOKEN"], {
        home,
        input: fakeSlackToken("replacement"),
      }),
      rm: await runBin(["secrets", "rm", "SLACK_BOT_TOKEN"], { home }),
    };
    for (const r of Object.values(results)) {
      expect(r.code).toBe(1);
      expect(printed(r)).toContain(`The secret store ${path} is not a valid Tributary store file`);
      expect(printed(r)).not.toContain(BOT_TOKEN);
    }
    expect(results.doctor.stdout).toContain("PROBLEM STORE_CORRUPT");
    expect(readFileSync(path, "utf8")).toBe(corrupt);
  });

  const validAws = JSON.stringify(AWS);
  it.each<{
    setup: string;
    env: Record<string, string>;
    store?: Record<string, string>;
    code: number;
    says: string;
  }>([
    {
      setup: "nothing set",
      env: {},
      store: undefined,
      code: 0,
      says: "Nothing set is invalid. Missing secrets fail the flows that need them.",
    },
    {
      setup: "a valid stored token",
      env: {},
      store: { SLACK_BOT_TOKEN: BOT_TOKEN },
      code: 0,
      says: `SLACK_BOT_TOKEN ok store`,
    },
    {
      setup: "an invalid env value",
      env: { TRIBUTARY__CONTEXT__SECRETS__AWS_CREDENTIALS: '{"ACCESS_KEY":"AKIAonly"}' },
      store: undefined,
      code: 1,
      says: "SECRET_ACCESS_KEY: is required",
    },
    {
      setup: "an invalid stored value",
      env: {},
      store: { SLACK_WEBHOOK_URL: BAD_WEBHOOK },
      code: 1,
      says: "SLACK_WEBHOOK_URL must be an https URL",
    },
    {
      setup: "an invalid value in a fallback variable",
      env: { GITHUB_TOKEN: "short" },
      store: undefined,
      code: 1,
      says: "default-chain (env GITHUB_TOKEN)",
    },
    {
      setup: "valid env credentials",
      env: { TRIBUTARY__CONTEXT__SECRETS__AWS_CREDENTIALS: validAws },
      store: undefined,
      code: 0,
      says: "AWS_CREDENTIALS ok env (TRIBUTARY__CONTEXT__SECRETS__AWS_CREDENTIALS)",
    },
  ])("doctor exits $code with $setup", async ({ env, store, code, says }) => {
    const home = tempHome();
    if (store)
      writeFileSync(storePath(home), JSON.stringify({ version: 1, secrets: store }), { mode: 0o600 });
    const r = await runBin(["doctor"], { home, env });
    expect(r.code).toBe(code);
    expect(r.stdout.replace(/ {2,}/g, " ")).toContain(says);
    expect(JSON.parse((await runBin(["doctor", "--json"], { home, env })).stdout).exitCode).toBe(code);
    expect(printed(r)).not.toContain(AWS.SECRET_ACCESS_KEY);
  });

  it("shows the env source in list and doctor, and the stored value it shadows", async () => {
    const home = tempHome();
    const path = storePath(home);
    await runBin(["secrets", "set", "GITHUB_ACCESS_TOKEN"], { home, input: "ghp_storedButShadowed123" });
    const env = {
      TRIBUTARY__CONTEXT__SECRETS__GITHUB_ACCESS_TOKEN: GH_TOKEN,
      TRIBUTARY__CONTEXT__SECRETS__AWS_CREDENTIALS__ACCESS_KEY: AWS.ACCESS_KEY,
      TRIBUTARY__CONTEXT__SECRETS__AWS_CREDENTIALS__SECRET_ACCESS_KEY: AWS.SECRET_ACCESS_KEY,
      GITHUB_TOKEN: "ghp_fallbackAlsoShadowed1",
    };
    const list = await runBin(["secrets", "list"], { home, env });
    expect(row(list, "GITHUB_ACCESS_TOKEN")).toBe(
      "GITHUB_ACCESS_TOKEN ok env (TRIBUTARY__CONTEXT__SECRETS__GITHUB_ACCESS_TOKEN)",
    );
    expect(list.stdout).toContain(`also set in store (${path}): not used`);
    expect(list.stdout).toContain("also set in default-chain (env GITHUB_TOKEN): not used");
    expect(row(list, "AWS_CREDENTIALS")).toBe(
      "AWS_CREDENTIALS ok env (TRIBUTARY__CONTEXT__SECRETS__AWS_CREDENTIALS__<FIELD>)",
    );

    const doctor = JSON.parse((await runBin(["doctor", "--json"], { home, env })).stdout);
    expect(doctor.secrets.find((s: { name: string }) => s.name === "GITHUB_ACCESS_TOKEN")).toMatchObject({
      status: "ok",
      source: { kind: "env", detail: "TRIBUTARY__CONTEXT__SECRETS__GITHUB_ACCESS_TOKEN" },
      shadowed: [
        { kind: "store", detail: path },
        { kind: "default-chain", detail: "env GITHUB_TOKEN" },
      ],
    });
    const text = await runBin(["doctor"], { home, env });
    expect(row(text, "GITHUB_ACCESS_TOKEN")).toBe(
      "GITHUB_ACCESS_TOKEN ok env (TRIBUTARY__CONTEXT__SECRETS__GITHUB_ACCESS_TOKEN)",
    );
    for (const r of [list, text]) {
      expect(printed(r)).not.toContain(GH_TOKEN);
      expect(printed(r)).not.toContain(AWS.SECRET_ACCESS_KEY);
    }
  });

  it("--version, --help, and usage errors", async () => {
    const home = tempHome();
    expect(await runBin(["--version"], { home })).toMatchObject({
      code: 0,
      stdout: `${packageJson.version}\n`,
    });
    const help = await runBin(["--help"], { home });
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("Usage: tributary <command> [options]");
    const unknown = await runBin(["frobnicate"], { home });
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('error: unknown command "frobnicate"');
    expect(unknown.stderr).toContain("Usage: tributary <command> [options]");
    expect((await runBin([], { home })).code).toBe(2);
  });

  it("a broken install says which file is missing instead of an error's bare name", () => {
    // The command on its own, without the files it loads: what a half-copied or half-installed package leaves.
    const dir = tempHome();
    copyFileSync(BIN, join(dir, "bin.js"));
    const run = spawnSync(process.execPath, [join(dir, "bin.js"), "--version"], { encoding: "utf8" });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/ERR_MODULE_NOT_FOUND/);
    expect(run.stderr).toContain(dir);
  });
});
