import { generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { fakeTerminal, removeTempHomes, runInProcess, tempHome } from "../test/helpers.js";
import { EXIT_CODES } from "./cli-io.js";

afterAll(removeTempHomes);

const stored = (home: string) =>
  (JSON.parse(readFileSync(join(home, "secrets.json"), "utf8")) as { secrets: Record<string, unknown> })
    .secrets;
const tick = () => new Promise((resolve) => setImmediate(resolve));

describe("runCli (in process)", () => {
  it.each([
    ["one trailing \\n", "xoxb-123-abc\n", "xoxb-123-abc"],
    ["one trailing \\r\\n", "xoxb-123-abc\r\n", "xoxb-123-abc"],
    ["only the last of two line breaks", "xoxb-123-abc\n\n", "xoxb-123-abc\n"],
    ["no line break", "xoxb-123-abc", "xoxb-123-abc"],
  ])("piped input: drops %s", async (_, input, value) => {
    const home = tempHome();
    // An unregistered name, so that the value is stored as given (SLACK_BOT_TOKEN would refuse the \n).
    const r = await runInProcess(["secrets", "set", "PIPE_TEST"], { home, input });
    expect(r.code).toBe(0);
    expect(stored(home).PIPE_TEST).toBe(value);
  });

  it("stores an unregistered name as text, with a warning that nothing checks it", async () => {
    const home = tempHome();
    const value = '{"looks":"like json"}\nsecond line';
    const r = await runInProcess(["secrets", "set", "MY_SERVICE_KEY"], { home, input: value });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(
      "warning: MY_SERVICE_KEY is not a registered secret name, so no schema checks it",
    );
    expect(stored(home).MY_SERVICE_KEY).toBe(value);
    const list = await runInProcess(["secrets", "list"], { home });
    expect(list.stdout).toContain("unregistered name: no schema checks it");
  });

  it("parses JSON-shaped names and stores the object", async () => {
    const home = tempHome();
    const value = {
      APP_ID: 123,
      INSTALLATION_ID: "456",
      PRIVATE_KEY: generateKeyPairSync("rsa", {
        modulusLength: 2048,
        publicKeyEncoding: { type: "spki", format: "pem" },
        privateKeyEncoding: { type: "pkcs8", format: "pem" },
      }).privateKey,
    };
    const r = await runInProcess(["secrets", "set", "GITHUB_APP_CREDENTIALS"], {
      home,
      input: JSON.stringify(value),
    });
    expect(r).toMatchObject({ code: 0, stderr: "" });
    expect(stored(home).GITHUB_APP_CREDENTIALS).toEqual(value);
    const doctor = await runInProcess(["doctor", "--json"], { home });
    const entry = JSON.parse(doctor.stdout).secrets.find(
      (s: { name: string }) => s.name === "GITHUB_APP_CREDENTIALS",
    );
    expect(entry).toMatchObject({ status: "ok", source: { kind: "store" } });
  });

  it("reads from a terminal through a hidden prompt: raw mode, no echo, backspace", async () => {
    const home = tempHome();
    const terminal = fakeTerminal();
    const run = runInProcess(["secrets", "set", "SLACK_BOT_TOKEN"], { home, input: terminal });
    await tick();
    const typed = `xoxb-typed-${randomBytes(4).toString("hex")}-`;
    terminal.type(typed);
    terminal.type("secretX\u007f-value\u001b[D\r");
    const r = await run;
    expect(r.code).toBe(0);
    expect(stored(home).SLACK_BOT_TOKEN).toBe(`${typed}secret-value`);
    expect(r.stderr).toBe("Value for SLACK_BOT_TOKEN (input hidden, Enter to finish): \n");
    expect(terminal.rawModes).toEqual([true, false]);
  });

  it("Ctrl-C at the prompt cancels with exit 130 and stores nothing", async () => {
    const home = tempHome();
    const terminal = fakeTerminal();
    const run = runInProcess(["secrets", "set", "SLACK_BOT_TOKEN"], { home, input: terminal });
    await tick();
    terminal.type("xoxb-half\u0003");
    const r = await run;
    expect(r.code).toBe(EXIT_CODES.cancelled);
    expect(r.stderr).toContain("Cancelled; nothing was stored.");
    expect(terminal.rawModes).toEqual([true, false]);
    expect(() => stored(home)).toThrow();
  });

  it("refuses empty input", async () => {
    const home = tempHome();
    const r = await runInProcess(["secrets", "set", "SLACK_BOT_TOKEN"], { home, input: "\n" });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("no value for SLACK_BOT_TOKEN on stdin; nothing was stored");
  });

  it.each([
    [["secrets", "set"], "missing NAME"],
    [["secrets", "set", "slack-bot-token"], "invalid secret name"],
    [
      ["secrets", "set", "slack_bot_token"],
      "invalid secret name: use upper case letters, digits and single underscores, such as SLACK_WEBHOOK_URL. Did you mean SLACK_BOT_TOKEN?",
    ],
    [["secrets", "rm", "A", "B"], "secrets rm takes one NAME"],
    [["secrets", "list", "--verbose"], "unknown option --verbose"],
    [["secrets", "list", "--json=yes"], "--json takes no value"],
    [["doctor", "extra"], "doctor takes no arguments"],
    [["secrets"], "missing secrets command"],
    [["secrets", "get"], 'unknown secrets command "get"'],
    [["Xyz123"], "unknown command\n"],
  ])("usage error for %j: exit 2, %s", async (args, message) => {
    const r = await runInProcess(args, { home: tempHome() });
    expect(r.code).toBe(EXIT_CODES.usage);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain(`error: ${message}`);
    expect(r.stderr).toContain("Usage: tributary");
  });

  it.each([
    [["--help"], "Usage: tributary <command>"],
    [["help", "doctor"], "Usage: tributary doctor [--check] [--json]"],
    [["secrets", "--help"], "Usage: tributary secrets <set|list|rm>"],
    [["secrets", "set", "--help"], "Usage: tributary secrets set NAME"],
    [["secrets", "list", "-h"], "Usage: tributary secrets list [--json]"],
    [["secrets", "rm", "--help"], "Usage: tributary secrets rm NAME"],
    [["doctor", "--help"], "One trailing line break"],
  ])("%j prints help on stdout and exits 0", async (args, text) => {
    const r = await runInProcess(args, { home: tempHome() });
    expect(r.code).toBe(0);
    if (args[0] === "doctor") expect(r.stdout).toContain("Usage: tributary doctor");
    else expect(r.stdout).toContain(text);
  });

  it("doctor: library defaults — SDK chains for cloud credentials, plain env variables for tokens", async () => {
    const home = tempHome();
    mkdirSync(join(home, ".aws"));
    writeFileSync(
      join(home, ".aws", "credentials"),
      "[default]\naws_access_key_id = AKIDX\naws_secret_access_key = s\n",
    );
    const r = await runInProcess(["doctor", "--json"], {
      home,
      env: { GH_TOKEN: "ghp_fallbackTokenValue1", CLOUDSDK_CONFIG: join(home, "gcloud") },
    });
    const doctor = JSON.parse(r.stdout);
    const byName = Object.fromEntries(doctor.secrets.map((s: { name: string }) => [s.name, s]));
    expect(byName.AWS_CREDENTIALS).toMatchObject({
      status: "ok",
      source: {
        kind: "default-chain",
        detail: "AWS SDK default provider chain: shared credentials file ~/.aws/credentials, profile default",
      },
    });
    expect(byName.GCP_CREDENTIALS).toMatchObject({
      status: "missing",
      looked: [
        { place: "env GOOGLE_APPLICATION_CREDENTIALS", outcome: "not set" },
        { place: `gcloud's file ~/gcloud/application_default_credentials.json`, outcome: "no such file" },
        { place: "metadata server", outcome: "disabled (METADATA_SERVER_DETECTION=none)" },
      ],
    });
    expect(byName.GITHUB_ACCESS_TOKEN).toMatchObject({
      status: "ok",
      source: { kind: "default-chain", detail: "env GH_TOKEN" },
    });
    expect(byName.SLACK_BOT_TOKEN).toMatchObject({ status: "missing", source: null });
    expect(byName.SLACK_BOT_TOKEN.howToSet).toContain("tributary secrets set SLACK_BOT_TOKEN");
    expect(doctor.store).toEqual({ path: join(home, "secrets.json"), status: "missing" });
    expect(doctor).toMatchObject({
      ok: true,
      exitCode: 0,
      summary: { "default-chain": 0, ok: 2, missing: 5, invalid: 0 },
    });
  });

  it("--json: a store problem carries the TributaryError code", async () => {
    const home = tempHome();
    writeFileSync(join(home, "secrets.json"), "[]", { mode: 0o600 });
    const list = await runInProcess(["secrets", "list", "--json"], { home });
    expect(list.code).toBe(1);
    const json = JSON.parse(list.stdout);
    expect(json).toMatchObject({ ok: false, store: { error: { code: "STORE_CORRUPT" } } });
    expect(json.secrets.find((s: { name: string }) => s.name === "SLACK_BOT_TOKEN")).toMatchObject({
      status: "error",
      error: { code: "STORE_CORRUPT" },
    });
    const rm = await runInProcess(["secrets", "rm", "SLACK_BOT_TOKEN", "--json"], { home });
    expect(rm.code).toBe(2);
  });

  it("set notes when an environment variable wins over the stored value; rm notes it is still set", async () => {
    const home = tempHome();
    const env = {
      TRIBUTARY__CONTEXT__SECRETS__SLACK_BOT_TOKEN: `xoxb-from-env-${randomBytes(8).toString("hex")}`,
    };
    const set = await runInProcess(["secrets", "set", "SLACK_BOT_TOKEN"], {
      home,
      input: "xoxb-stored",
      env,
    });
    expect(set.stderr).toContain(
      "note: TRIBUTARY__CONTEXT__SECRETS__SLACK_BOT_TOKEN is set in this environment and wins over the local store.",
    );
    const rm = await runInProcess(["secrets", "rm", "SLACK_BOT_TOKEN"], { home, env });
    expect(rm.code).toBe(0);
    expect(rm.stderr).toContain("is still set in this environment");
  });

  it("restores process.env after a call with its own env", async () => {
    const before = process.env;
    await runInProcess(["doctor"], { home: tempHome(), env: { GITHUB_TOKEN: "ghp_onlyDuringTheCall" } });
    expect(process.env).toBe(before);
    expect(process.env.GITHUB_TOKEN).not.toBe("ghp_onlyDuringTheCall");
  });
});
