import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type CliResult, removeTempHomes, runBin, tempHome } from "../test/helpers.js";

afterAll(removeTempHomes);

const PREFIX = "TRIBUTARY__CONTEXT__SECRETS__";
const AWS = JSON.stringify({ ACCESS_KEY: "AKIDDIAGNOSTICS", SECRET_ACCESS_KEY: "diagnostics-secret-value" });
/** The row of `name` and its detail lines, with runs of spaces squeezed. */
const section = (r: CliResult, name: string): string => {
  const lines = r.stdout.split("\n");
  const start = lines.findIndex((l) => l.startsWith(`${name} `));
  if (start === -1) return "";
  let end = start + 1;
  while (end < lines.length && lines[end]?.startsWith(" ")) end++;
  return lines
    .slice(start, end)
    .map((l) => l.replace(/ {2,}/g, " ").trim())
    .join("\n");
};

describe("doctor tells the truth about the default chains (child process)", () => {
  it("says AWS and Google credentials are missing when the SDK chains have nothing either", async () => {
    const r = await runBin(["doctor"], { home: tempHome() });
    expect(r.code).toBe(0);
    expect(section(r, "AWS_CREDENTIALS")).toContain(
      "AWS_CREDENTIALS missing not set\ndefault chain, env AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY: not set",
    );
    expect(section(r, "GCP_CREDENTIALS")).toContain(
      "default chain, env GOOGLE_APPLICATION_CREDENTIALS: not set",
    );
    expect(r.stdout).not.toContain("No problems");
    expect(r.stdout).toContain("Missing secrets fail the flows that need them.");
  });

  it.each([
    [
      "the shared credentials file",
      (home: string) => {
        mkdirSync(join(home, ".aws"));
        writeFileSync(
          join(home, ".aws", "credentials"),
          "[ops]\naws_access_key_id = AKIDX\naws_secret_access_key = s\n",
        );
        return { AWS_PROFILE: "ops" };
      },
      "AWS_CREDENTIALS ok default-chain (AWS SDK default provider chain: shared credentials file ~/.aws/credentials, profile ops)",
    ],
    [
      "an instance role that only the metadata service can confirm",
      () => ({
        AWS_EC2_METADATA_SERVICE_ENDPOINT: "http://169.254.169.254",
        AWS_EC2_METADATA_DISABLED: "false",
      }),
      "AWS_CREDENTIALS unverified not set in Tributary; AWS SDK default provider chain: the EC2 instance metadata service (an instance role): not contacted by this check",
    ],
    [
      "gcloud's application default credentials",
      (home: string) => {
        mkdirSync(join(home, ".config", "gcloud"), { recursive: true });
        writeFileSync(
          join(home, ".config", "gcloud", "application_default_credentials.json"),
          '{"type":"authorized_user"}',
        );
        return {};
      },
      "GCP_CREDENTIALS ok default-chain (Google Application Default Credentials: gcloud's file ~/.config/gcloud/application_default_credentials.json (authorized_user))",
    ],
  ])("finds %s", async (_, setup, says) => {
    const home = tempHome();
    const env = setup(home);
    const r = await runBin(["doctor"], { home, env });
    expect(r.code).toBe(0);
    expect(r.stdout.replace(/ {2,}/g, " ")).toContain(says);
  });
});

describe("misspelled names (child process)", () => {
  const env = { [`${PREFIX}AWS_CREDENTAILS`]: AWS };

  it("doctor warns, and exits 1 with --strict", async () => {
    const home = tempHome();
    const r = await runBin(["doctor"], { home, env });
    expect(r.code).toBe(0);
    expect(section(r, "AWS_CREDENTAILS")).toContain(
      "WARNING: not a registered name: did you mean AWS_CREDENTIALS?",
    );
    expect(r.stdout).not.toContain("No problems");
    const strict = await runBin(["doctor", "--strict", "--json"], { home, env });
    expect(strict.code).toBe(1);
    expect(JSON.parse(strict.stdout)).toMatchObject({
      ok: false,
      warnings: ["AWS_CREDENTAILS is not a registered name: did you mean AWS_CREDENTIALS?"],
    });
    expect(r.stdout + strict.stdout).not.toContain("diagnostics-secret-value");
  });

  it("secrets set refuses a name that looks like a registered one, before reading the value; --force stores it", async () => {
    const home = tempHome();
    const r = await runBin(["secrets", "set", "AWS_CREDENTAILS"], { home, input: AWS });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      "error: AWS_CREDENTAILS is not a registered name: did you mean AWS_CREDENTIALS? Nothing was stored.",
    );
    expect(() => readFileSync(join(home, "secrets.json"))).toThrow();
    const forced = await runBin(["secrets", "set", "AWS_CREDENTAILS", "--force"], { home, input: AWS });
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain("Stored AWS_CREDENTAILS");
  });

  it("secrets set names an unknown field and the one it looks like", async () => {
    const home = tempHome();
    const r = await runBin(["secrets", "set", "AWS_CREDENTIALS"], {
      home,
      input: JSON.stringify({ ACCESS_KEY_ID: "AKIDX", SECRET_ACCESS_KEY: "a-long-enough-secret" }),
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      "  - ACCESS_KEY_ID: is not a field of AWS_CREDENTIALS: did you mean ACCESS_KEY?\n  - ACCESS_KEY: is required",
    );
  });
});

describe("doctor's config file names the backends a run has (child process)", () => {
  it("asks the backends of tributary.config.json and says what it cannot see", async () => {
    const home = tempHome();
    const mounted = join(home, "mounted");
    mkdirSync(mounted);
    writeFileSync(join(mounted, "AWS_CREDENTIALS"), AWS);
    const config = join(home, "tributary.config.json");
    writeFileSync(config, JSON.stringify({ backends: [{ directory: "mounted" }] }));
    const r = await runBin(["doctor", "--config", config], { home });
    expect(r.code).toBe(0);
    expect(section(r, "AWS_CREDENTIALS")).toBe(
      `AWS_CREDENTIALS ok backend (directory ${mounted}, key AWS_CREDENTIALS)`,
    );
    expect(r.stdout).toContain(`Backends (from ${config}): directory ${mounted}; asked for every name.`);
    expect(r.stdout).toContain(
      "Not visible to doctor: values given to a run (flow.run({ secrets }), withSecrets())",
    );
  });

  it("loads backends from tributary.config.js", async () => {
    const home = tempHome();
    const config = join(home, "tributary.config.js");
    const token = `xoxb-${randomBytes(12).toString("hex")}`;
    writeFileSync(
      config,
      `export default { backends: [{ describe: () => "vault stand-in", get: async (name) => name === "SLACK_BOT_TOKEN" ? ${JSON.stringify(token)} : undefined }] };\n`,
    );
    const r = await runBin(["doctor", "--config", config], { home });
    expect(r.code).toBe(0);
    expect(section(r, "SLACK_BOT_TOKEN")).toBe(
      "SLACK_BOT_TOKEN ok backend (vault stand-in, key SLACK_BOT_TOKEN)",
    );
    expect(r.stdout).not.toContain(token);
  });

  it("loads tributary.config.ts found in the current folder where Node strips types, and says why not elsewhere", async () => {
    const home = tempHome();
    const typedToken = `xoxb-${randomBytes(12).toString("hex")}`;
    writeFileSync(
      join(home, "tributary.config.ts"),
      `const backends: { describe(): string; get(name: string): Promise<string | undefined> }[] = [
        { describe: () => "typed backend", get: async (name: string) => (name === "SLACK_BOT_TOKEN" ? ${JSON.stringify(typedToken)} : undefined) },
      ];
      export default { backends };\n`,
    );
    const r = await runBin(["doctor"], { home, cwd: home });
    expect(`${r.stdout}${r.stderr}`).not.toContain(typedToken);
    const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
    if (major > 22 || (major === 22 && minor >= 18)) {
      expect(r.code).toBe(0);
      expect(section(r, "SLACK_BOT_TOKEN")).toBe(
        "SLACK_BOT_TOKEN ok backend (typed backend, key SLACK_BOT_TOKEN)",
      );
    } else {
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(
        `Node ${process.versions.node} cannot import TypeScript files (Node 22.18 and later can)`,
      );
    }
  });

  it.each([
    ["a file that does not exist", "nope.json", undefined, "no such file (given with --config)"],
    [
      "JSON naming a remote backend",
      "c.json",
      '{"backends":[{"aws":"eu-west-1"}]}',
      "a JSON config can name only mounted folders",
    ],
    [
      "a module whose backends are not backends",
      "c.mjs",
      'export default { backends: ["vault"] };',
      "`backends` must be a list of secret backends",
    ],
    ["a misspelt key", "c.json", '{"leastPrivelege":true}', 'unknown key "leastPrivelege"'],
    [
      "a leastPrivilege that is not a boolean",
      "c.mjs",
      'export default { leastPrivilege: "yes" };',
      '"leastPrivilege" must be true or false',
    ],
  ])("exits 1 on %s", async (_, file, text, says) => {
    const home = tempHome();
    if (text !== undefined) writeFileSync(join(home, file), text);
    const r = await runBin(["doctor", "--config", join(home, file)], { home });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(says);
  });
});
