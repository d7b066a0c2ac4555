import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { isolateEnvironment } from "../test/helpers.js";
import { directoryBackend } from "./backend.js";
import { withSecrets } from "./context.js";
import { InvalidSecretError, SecretBackendError, ValidationError } from "./errors.js";
import { resolveSecret } from "./resolve-secret.js";
import { ENV_PREFIX } from "./source.js";
import { localStore } from "./store.js";

const env = isolateEnvironment();
const hex = () => randomBytes(12).toString("hex");

function nested(depth: number): string {
  return `${'{"a":'.repeat(depth)}"leaf"${"}".repeat(depth)}`;
}

/** A value nested `depth` deep, as an object and as JSON text (built without recursion). */
class Deep {
  readonly text: string;
  readonly value: unknown;
  constructor(depth: number) {
    this.text = nested(depth);
    let value: unknown = "leaf";
    for (let i = 0; i < depth; i++) value = { a: value };
    this.value = value;
  }
}

/** Resolves through each source and returns the error, checking that it never quotes the value. */
async function refused(
  name: string,
  raw: unknown,
  via: "argument" | "run" | "env" | "store",
): Promise<InvalidSecretError> {
  let error: unknown;
  try {
    const value = raw instanceof Deep ? raw.value : raw;
    if (via === "argument") await resolveSecret(name, { value });
    else if (via === "run") await withSecrets({ [name]: value }, () => resolveSecret(name));
    else if (via === "env") {
      process.env[`${ENV_PREFIX}${name}`] = raw instanceof Deep ? raw.text : (raw as string);
      await resolveSecret(name);
    } else {
      mkdirSync(env.home(), { recursive: true });
      const text = raw instanceof Deep ? raw.text : JSON.stringify(raw);
      const file = `{"version":1,"secrets":{${JSON.stringify(name)}:${text}}}`;
      writeFileSync(join(env.home(), "secrets.json"), file, { mode: 0o600 });
      await resolveSecret(name);
    }
  } catch (e) {
    error = e;
  }
  expect(InvalidSecretError.isInstance(error), String(error)).toBe(true);
  const e = error as InvalidSecretError;
  expect(e.retryable).toBe(false);
  if (typeof raw === "string" && raw.length > 8) expect(e.message).not.toContain(raw);
  return e;
}

const SOURCES = ["argument", "run", "env", "store"] as const;

describe("one check of secret input at every entry point", () => {
  // The environment cannot carry a lone surrogate: Node turns it into U+FFFD, which the token schema refuses.
  it.each(["argument", "run", "store"] as const)(
    "refuses a lone surrogate from %s as InvalidSecretError, not URIError",
    async (via) => {
      const token = `xoxb-${hex()}\uD800${hex()}`;
      const error = await refused("SLACK_BOT_TOKEN", token, via);
      expect(error.message).toContain("is not well-formed Unicode text");
      const custom = await refused("CUSTOM_NOTE", `note ${hex()}\uDFFF`, via);
      expect(custom.issues).toEqual([{ field: "", message: expect.stringContaining("lone surrogate") }]);
    },
  );

  it.each(SOURCES)("refuses JSON nested 5,000 deep from %s without a RangeError", async (via) => {
    const error = await refused("GCP_CREDENTIALS", new Deep(5000), via);
    expect(error.issues).toEqual([{ field: expect.any(String), message: "nests deeper than 32 levels" }]);
  });

  it("accepts values nested up to the limit", async () => {
    process.env[`${ENV_PREFIX}CUSTOM_CONFIG`] = nested(31);
    const { value } = await resolveSecret("CUSTOM_CONFIG", { value: JSON.parse(nested(31)) });
    expect(value).toBeTypeOf("object");
  });

  it("refuses a surrogate in a field name, naming where it is", async () => {
    const error = await refused("CUSTOM_CONFIG", { outer: { "k\uD800": "v" } }, "argument");
    expect(error.issues).toEqual([{ field: "outer", message: expect.stringContaining("field name") }]);
  });

  it("keeps withSecrets from registering a malformed value", () => {
    expect(() => withSecrets({ CUSTOM_NOTE: "\uDC00abc" }, () => 1)).toThrow(InvalidSecretError);
  });
});

describe("tokens and keys that HTTP headers cannot carry", () => {
  const cases = [
    { what: "a line break", name: "GITHUB_ACCESS_TOKEN", value: `ghp_${hex()}\n${hex()}`, field: "" },
    { what: "a NUL", name: "GITHUB_ACCESS_TOKEN", value: `ghp_${hex()}\u0000${hex()}`, field: "" },
    { what: "a non-Latin-1 character", name: "SLACK_BOT_TOKEN", value: `xoxb-${hex()}\u20ac`, field: "" },
    { what: "a Latin-1 letter", name: "SLACK_BOT_TOKEN", value: `xoxb-${hex()}\u00e9${hex()}`, field: "" },
    {
      what: "a line break in SESSION_TOKEN",
      name: "AWS_CREDENTIALS",
      value: {
        ACCESS_KEY: `AKIA${hex().slice(0, 16).toUpperCase()}`,
        SECRET_ACCESS_KEY: hex(),
        SESSION_TOKEN: `${hex()}\r\n${hex()}`,
      },
      field: "SESSION_TOKEN",
    },
    {
      what: "a non-ASCII refresh_token",
      name: "GCP_CREDENTIALS",
      value: {
        type: "authorized_user",
        client_id: "id",
        client_secret: hex(),
        refresh_token: `1//${hex()}\u00a0`,
      },
      field: "refresh_token",
    },
  ];
  it.each(cases)("refuses $what in $name, naming the field", async (c) => {
    const error = await refused(c.name, c.value, "argument");
    expect(error.issues[0]?.field).toBe(c.field);
    expect(error.issues[0]?.message).toMatch(/at position \d+, which an HTTP header cannot carry/);
  });
});

describe("directoryBackend", () => {
  it("refuses a name that would leave its folder, before reading anything", async () => {
    const root = join(env.home(), "mounted");
    mkdirSync(root, { recursive: true });
    writeFileSync(join(env.home(), "outside"), "not yours");
    const backend = directoryBackend(root);
    for (const name of ["../outside", "/etc/passwd", "a/b", "__proto__", ""]) {
      await expect(backend.get(name), name).rejects.toBeInstanceOf(ValidationError);
    }
  });

  it("refuses a file that is not valid UTF-8 rather than changing it", async () => {
    const root = join(env.home(), "mounted");
    mkdirSync(root, { recursive: true });
    writeFileSync(join(root, "CUSTOM_NOTE"), Buffer.from([0x61, 0xff, 0x62]));
    const error = await directoryBackend(root)
      .get("CUSTOM_NOTE")
      .catch((e) => e);
    expect(SecretBackendError.isInstance(error)).toBe(true);
    expect(error.message).toContain("not valid UTF-8 text");
  });
});

describe("the store's own checks", () => {
  it("refuses a lone surrogate before writing", async () => {
    await expect(localStore().set("CUSTOM_NOTE", "a\uD800")).rejects.toBeInstanceOf(InvalidSecretError);
  });
});
