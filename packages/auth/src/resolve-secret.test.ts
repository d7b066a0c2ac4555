import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { fakeSlackToken, isolateEnvironment } from "../test/helpers.js";
import { configureBackends, directoryBackend } from "./backend.js";
import { withSecrets } from "./context.js";
import { InvalidSecretError, MissingCredentialsError, SecretNotAllowedError } from "./errors.js";
import { defineSecret } from "./registry.js";
import { findSecret, resolveSecret } from "./resolve-secret.js";
import type { SecretSourceKind } from "./source.js";
import { localStore } from "./store.js";

const env = isolateEnvironment();
const NAME = "GITHUB_ACCESS_TOKEN";
const ORDER = ["argument", "run", "env", "store", "backend", "default-chain"] as const;
type Place = (typeof ORDER)[number];

/** Puts `value` for `name` in one place; returns what resolveSecret needs to see it (argument, run values). */
async function put(place: Place, name: string, value: unknown, setup: Setup): Promise<void> {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  switch (place) {
    case "argument":
      setup.argument = value;
      break;
    case "run":
      setup.run[name] = value;
      break;
    case "env":
      process.env[`TRIBUTARY__CONTEXT__SECRETS__${name}`] = text;
      break;
    case "store": {
      // Written as a hand-edited file would be: `set` itself refuses malformed values.
      const path = localStore().path;
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      const file = existsSync(path) ? JSON.parse(readFileSync(path, "utf8")) : { version: 1, secrets: {} };
      file.secrets[name] = value;
      writeFileSync(path, JSON.stringify(file), { mode: 0o600 });
      break;
    }
    case "backend": {
      const dir = join(env.home(), "mounted");
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, name), `${text}\n`);
      configureBackends([directoryBackend(dir)]);
      break;
    }
    case "default-chain":
      process.env.GITHUB_TOKEN = text;
      break;
  }
}
/** An AWS SDK chain with nothing in it: no keys, no files, no instance metadata. */
function noAwsChain(): void {
  for (const key of Object.keys(process.env)) if (key.startsWith("AWS_")) delete process.env[key];
  process.env.AWS_CONFIG_FILE = join(env.home(), "no-aws-config");
  process.env.AWS_SHARED_CREDENTIALS_FILE = join(env.home(), "no-aws-credentials");
  process.env.AWS_EC2_METADATA_DISABLED = "true";
}

interface Setup {
  argument?: unknown;
  run: Record<string, unknown>;
}

async function resolveWith(
  setup: Setup,
  name = NAME,
  options: { secretName?: string; declare?: boolean } = {},
) {
  return withSecrets(
    setup.run,
    () =>
      resolveSecret(name as typeof NAME, {
        value: setup.argument as string,
        argument: "token",
        secretName: options.secretName,
      }),
    { declare: options.declare === false ? [] : [options.secretName ?? name] },
  );
}

const token = (place: string) => `ghp_${place.replace(/-/g, "")}TokenValue123`;

describe("resolveSecret: the resolution order", () => {
  const singles = ORDER.map((place) => [place] as const);
  it.each(singles)("finds a value set only in %s", async (place) => {
    const setup: Setup = { run: {} };
    await put(place, NAME, token(place), setup);
    const result = await resolveWith(setup);
    expect(result.value).toBe(token(place));
    expect(result.source.kind).toBe(place);
  });

  const pairs = ORDER.flatMap((a, i) => ORDER.slice(i + 1).map((b) => [a, b] as const));
  it.each(pairs)("prefers %s over %s", async (first, second) => {
    const setup: Setup = { run: {} };
    await put(first, NAME, token(first), setup);
    await put(second, NAME, token(second), setup);
    const result = await resolveWith(setup);
    expect([result.source.kind, result.value]).toEqual([first, token(first)]);
  });

  it.each([
    ["argument", "token"],
    ["run", "run "],
    ["env", "TRIBUTARY__CONTEXT__SECRETS__GITHUB_ACCESS_TOKEN"],
    ["store", "secrets.json"],
    ["backend", "mounted, key GITHUB_ACCESS_TOKEN"],
    ["default-chain", "env GITHUB_TOKEN"],
  ] as const)("names the exact place in source.detail for %s", async (place, detail) => {
    const setup: Setup = { run: {} };
    await put(place, NAME, token(place), setup);
    const result = await resolveWith(setup);
    expect(result.source.detail).toContain(detail);
  });

  it("reads the nested env form field by field, keeping every value as text", async () => {
    process.env.TRIBUTARY__CONTEXT__SECRETS__AWS_CREDENTIALS__ACCESS_KEY = "AKIDEXAMPLE42";
    process.env.TRIBUTARY__CONTEXT__SECRETS__AWS_CREDENTIALS__SECRET_ACCESS_KEY = "0042";
    const result = await resolveSecret("AWS_CREDENTIALS");
    expect(result.value).toEqual({ ACCESS_KEY: "AKIDEXAMPLE42", SECRET_ACCESS_KEY: "0042" });
    expect(result.source).toEqual({
      kind: "env",
      detail: "TRIBUTARY__CONTEXT__SECRETS__AWS_CREDENTIALS__<FIELD>",
      summary: "access key",
    });
  });

  it("never coerces or expands string values", async () => {
    defineSecret({
      name: "PLAIN_TEXT_SECRET",
      schema: { "~standard": { version: 1, vendor: "test", validate: (v) => ({ value: v as string }) } },
      description: "test",
      services: [],
    });
    for (const raw of ["42", "$HOME", "true", " padded "]) {
      process.env.TRIBUTARY__CONTEXT__SECRETS__PLAIN_TEXT_SECRET = raw;
      expect((await resolveSecret("PLAIN_TEXT_SECRET")).value).toBe(raw);
    }
  });

  it("asks backends only for declared names or names asked for with secretName", async () => {
    const setup: Setup = { run: {} };
    await put("backend", NAME, token("backend"), setup);
    await put("default-chain", NAME, token("default-chain"), setup);
    const undeclared = await resolveWith(setup, NAME, { declare: false });
    expect(undeclared.source.kind).toBe("default-chain");
    expect(undeclared.tried.find((t) => t.source.kind === "backend")?.outcome).toMatch(/not declared/);
    await put("backend", "OTHER_GITHUB_TOKEN", token("named"), setup);
    const named = await resolveWith(setup, NAME, { secretName: "OTHER_GITHUB_TOKEN", declare: false });
    expect([named.source.kind, named.value]).toEqual(["backend", token("named")]);
  });

  it("reads a secretName instead of the default name, checked with the default name's schema", async () => {
    process.env.TRIBUTARY__CONTEXT__SECRETS__DEPLOY_TOKEN = token("deploy");
    process.env.GITHUB_TOKEN = token("ambient");
    const result = await resolveSecret(NAME, { secretName: "DEPLOY_TOKEN" });
    expect(result.value).toBe(token("deploy"));
    process.env.TRIBUTARY__CONTEXT__SECRETS__DEPLOY_TOKEN = "has spaces in it";
    await expect(resolveSecret(NAME, { secretName: "DEPLOY_TOKEN" })).rejects.toThrow(InvalidSecretError);
  });

  it("never falls back to ambient credentials for a name asked for with secretName", async () => {
    process.env.GITHUB_TOKEN = token("ambient");
    const error = await resolveSecret(NAME, { secretName: "DEPLOY_TOKEN" }).catch((e) => e);
    expect(MissingCredentialsError.isInstance(error)).toBe(true);
    expect(error.message).toMatch(/does not fall back to ambient credentials/);
    expect(error.tried.map((t: { source: { kind: SecretSourceKind } }) => t.source.kind)).not.toContain(
      "default-chain",
    );
  });

  it("hands over to the SDK's chain for names whose default is the SDK's own, when the chain has a credential", async () => {
    noAwsChain();
    process.env.AWS_ACCESS_KEY_ID = "AKIDCHAIN";
    process.env.AWS_SECRET_ACCESS_KEY = "chain-secret";
    const logged: string[] = [];
    const result = await withSecrets({}, () => resolveSecret("AWS_CREDENTIALS"), {
      onResolve: (name, source) => logged.push(`${name} from ${source.detail}`),
    });
    expect(result.value).toBeUndefined();
    expect(result.source.kind).toBe("default-chain");
    expect(result.source.detail).toMatch(/AWS SDK default provider chain.*: env AWS_ACCESS_KEY_ID$/);
    expect(logged).toEqual([`AWS_CREDENTIALS from ${result.source.detail}`]);
  });

  it("fails, and logs no source, when the SDK's chain has nothing either", async () => {
    noAwsChain();
    const logged: string[] = [];
    const error = await withSecrets({}, () => resolveSecret("AWS_CREDENTIALS"), {
      onResolve: (name) => logged.push(name),
    }).catch((e) => e);
    expect(MissingCredentialsError.isInstance(error)).toBe(true);
    expect(logged).toEqual([]);
    expect(error.message).toContain("default-chain (env AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY): not set");
    expect(error.message).toMatch(/default-chain \(profile default in .*\): no such files/);
    expect(error.message).toContain("default-chain (instance metadata service): disabled");
  });

  it("lists every source tried, in order, with how to set each, when nothing is found", async () => {
    const error = await withSecrets({}, () => resolveSecret("SLACK_BOT_TOKEN", { argument: "token" })).catch(
      (e) => e,
    );
    expect(MissingCredentialsError.isInstance(error)).toBe(true);
    expect(error.tried.map((t: { source: { kind: string } }) => t.source.kind)).toEqual([
      "argument",
      "run",
      "env",
      "store",
      "backend",
      "default-chain",
    ]);
    for (const hint of [
      "pass `token`",
      "flow.run({ secrets",
      "export TRIBUTARY__CONTEXT__SECRETS__SLACK_BOT_TOKEN=",
      "tributary secrets set SLACK_BOT_TOKEN",
      "configureBackends",
      "export SLACK_BOT_TOKEN=",
    ]) {
      expect(error.message).toContain(hint);
    }
  });

  it("findSecret returns undefined instead of using the default chain", async () => {
    process.env.GITHUB_TOKEN = token("ambient");
    expect(await findSecret(NAME)).toBeUndefined();
  });

  it("restricts a scope to the names it may read", async () => {
    const allowedToken = fakeSlackToken("allowed");
    process.env.TRIBUTARY__CONTEXT__SECRETS__SLACK_BOT_TOKEN = allowedToken;
    const error = await withSecrets({}, () => resolveSecret(NAME), { allow: ["SLACK_BOT_TOKEN"] }).catch(
      (e) => e,
    );
    expect(SecretNotAllowedError.isInstance(error)).toBe(true);
    const ok = await withSecrets({}, () => resolveSecret("SLACK_BOT_TOKEN"), { allow: ["SLACK_BOT_TOKEN"] });
    expect(ok.value).toBe(allowedToken);
  });

  it("tells the run's listener the name and source of each resolution, never the value", async () => {
    const seen: unknown[] = [];
    await withSecrets({ SLACK_BOT_TOKEN: fakeSlackToken("run") }, () => resolveSecret("SLACK_BOT_TOKEN"), {
      onResolve: (name, source) => seen.push([name, source.kind]),
    });
    expect(seen).toEqual([["SLACK_BOT_TOKEN", "run"]]);
  });

  it("hides the value from JSON.stringify of a resolution", async () => {
    const hiddenToken = fakeSlackToken("hidden");
    const result = await withSecrets({ SLACK_BOT_TOKEN: hiddenToken }, () =>
      resolveSecret("SLACK_BOT_TOKEN"),
    );
    expect(JSON.stringify(result)).not.toContain(hiddenToken);
    expect(result.value).toBe(hiddenToken);
  });
});

describe("resolveSecret: malformed values", () => {
  const AWS = "AWS_CREDENTIALS";
  const broken = { ACCESS_KEY: "AKIDEXAMPLE", SECRET_ACCESS_KEY: "" };
  const places = ["argument", "run", "env", "store", "backend"] as const;

  it.each(places)(
    "fails on a malformed value in %s, naming source and field, without falling through",
    async (place) => {
      const setup: Setup = { run: {} };
      await put(place, AWS, broken, setup);
      // A valid value later in the order must not be used.
      if (place !== "backend") {
        const later = places[places.indexOf(place) + 1] ?? "backend";
        await put(later, AWS, { ACCESS_KEY: "AKIDOTHER", SECRET_ACCESS_KEY: "fine-secret" }, setup);
      }
      const error = await withSecrets(
        setup.run,
        () => resolveSecret(AWS, { value: setup.argument as never, argument: "credentials" }),
        { declare: [AWS] },
      ).catch((e) => e);
      expect(InvalidSecretError.isInstance(error)).toBe(true);
      expect(error.source.kind).toBe(place);
      expect(error.issues.map((i: { field: string }) => i.field)).toEqual(["SECRET_ACCESS_KEY"]);
      expect(error.message).toContain("SECRET_ACCESS_KEY");
    },
  );

  it.each([
    ["not JSON", "{not json", ""],
    ["a JSON array", "[]", ""],
    ["a missing field", JSON.stringify({ ACCESS_KEY: "AKIDEXAMPLE" }), "SECRET_ACCESS_KEY"],
    [
      "EXTERNAL_ID without ROLE_ARN",
      JSON.stringify({ ACCESS_KEY: "A1", SECRET_ACCESS_KEY: "S1", EXTERNAL_ID: "x" }),
      "EXTERNAL_ID",
    ],
  ])("reports %s in env as invalid", async (_what, raw, field) => {
    process.env.TRIBUTARY__CONTEXT__SECRETS__AWS_CREDENTIALS = raw;
    const error = await resolveSecret(AWS).catch((e) => e);
    expect(InvalidSecretError.isInstance(error)).toBe(true);
    expect(error.issues[0].field).toBe(field);
  });

  it.each([
    ["SLACK_WEBHOOK_URL", "http://hooks.slack.com/services/T/B/x", true],
    ["SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/T/B/x", false],
    ["SLACK_WEBHOOK_URL", "http://127.0.0.1:4000/services/T/B/x", false],
    ["SLACK_BOT_TOKEN", "not-a-slack-token", true],
    [
      "GCP_CREDENTIALS",
      JSON.stringify({
        type: "service_account",
        client_email: "x@p.iam.gserviceaccount.com",
        private_key: "nope",
      }),
      true,
    ],
    [
      "GCP_CREDENTIALS",
      JSON.stringify({ type: "authorized_user", client_id: "c", client_secret: "s", refresh_token: "r" }),
      false,
    ],
    ["GITHUB_APP_CREDENTIALS", JSON.stringify({ APP_ID: "12a", PRIVATE_KEY: "x", INSTALLATION_ID: 3 }), true],
  ])("checks %s = %s against its schema (invalid: %s)", async (name, raw, invalid) => {
    process.env[`TRIBUTARY__CONTEXT__SECRETS__${name}`] = raw;
    const outcome = await resolveSecret(name).then(
      () => false,
      (e) => InvalidSecretError.isInstance(e),
    );
    expect(outcome).toBe(invalid);
  });
});
