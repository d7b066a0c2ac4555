import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { resetMasker } from "@tributary/auth";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CliResult, removeTempHomes, runBin, runInProcess, tempHome } from "../test/helpers.js";

afterAll(removeTempHomes);

/** Random secret values: ASCII, unicode, JSON-escaped, URL-encoded, base64, multi-line; at least 6 characters. */
const secretValue = fc
  .oneof(
    fc.string({ minLength: 6, maxLength: 40 }),
    fc.string({ minLength: 6, maxLength: 24, unit: "grapheme" }),
    fc.string({ minLength: 4, maxLength: 30 }).map((s) => JSON.stringify(s)),
    fc.string({ minLength: 4, maxLength: 20, unit: "grapheme" }).map(encodeURIComponent),
    fc.uint8Array({ minLength: 6, maxLength: 48 }).map((b) => Buffer.from(b).toString("base64")),
    fc
      .array(fc.string({ minLength: 2, maxLength: 12, unit: "grapheme" }), { minLength: 2, maxLength: 4 })
      .map((lines) => lines.join("\n")),
  )
  .filter((v) => v.length >= 6);

type Run = (
  args: string[],
  options: { home: string; input?: string; env?: Record<string, string> },
) => Promise<CliResult>;

const REPORTS = [["secrets", "list"], ["doctor"], ["doctor", "--json"], ["secrets", "list", "--json"]];

async function reports(run: Run, home: string, env: Record<string, string>): Promise<string> {
  let text = "";
  for (const args of REPORTS) {
    const r = await run(args, { home, env });
    text += r.stdout + r.stderr;
  }
  return text;
}

/**
 * One scenario through every source. `set`: what `secrets set` printed for an unregistered name, a string name and a
 * JSON name (each stored or refused, depending on the value). `valid`: what `secrets list`, `doctor` and
 * `doctor --json` printed with those stored values plus an env value. `invalid`: what they printed when the value
 * is only in malformed secrets (store and env): such values are never registered with the masker, so this output
 * shows that the commands do not print values, not only that the masker hides them.
 */
async function scenario(run: Run, value: string): Promise<{ set: string; valid: string; invalid: string }> {
  const home = tempHome();
  let set = "";
  for (const [name, input] of [
    ["PROPERTY_SECRET", value],
    ["GITHUB_ACCESS_TOKEN", value],
    ["AWS_CREDENTIALS", JSON.stringify({ ACCESS_KEY: "AKIAPROPERTYTEST", SECRET_ACCESS_KEY: value })],
  ] as const) {
    const r = await run(["secrets", "set", name], { home, input });
    set += r.stdout + r.stderr;
  }
  const valid = await reports(run, home, { TRIBUTARY__CONTEXT__SECRETS__SLACK_WEBHOOK_URL: value });

  resetMasker();
  const malformedHome = tempHome();
  const secrets = {
    GITHUB_APP_CREDENTIALS: { APP_ID: 1, INSTALLATION_ID: 2, PRIVATE_KEY: value },
    AWS_CREDENTIALS: { ACCESS_KEY: "AKIAPROPERTYTEST", SECRET_ACCESS_KEY: `${value} x` },
    GITHUB_ACCESS_TOKEN: `${value} x`,
  };
  writeFileSync(join(malformedHome, "secrets.json"), JSON.stringify({ version: 1, secrets }), {
    mode: 0o600,
  });
  const invalid = await reports(run, malformedHome, {
    TRIBUTARY__CONTEXT__SECRETS__SLACK_WEBHOOK_URL: `not a URL ${value}`,
    TRIBUTARY__CONTEXT__SECRETS__SLACK_BOT_TOKEN: `xoxb- ${value}`,
  });
  return { set, valid, invalid };
}

/** The forms of a value that must never be printed: as given, as stored (trailing line break dropped), JSON-escaped. */
function forms(value: string): string[] {
  const stored = value.replace(/\r?\n$/, "");
  const all = [value, stored, JSON.stringify(value).slice(1, -1), JSON.stringify(stored).slice(1, -1)];
  return [...new Set(all)].filter((f) => f.trim().length >= 4);
}

describe("no secret value in CLI output (property)", () => {
  // Every piece of text the commands print for placeholder values; a random value that happens to be part of
  // it (such as "secrets") is skipped, since finding it in the output would prove nothing.
  let vocabulary = "";
  beforeAll(async () => {
    for (const placeholder of [
      "placeholder-value",
      "place holder\nvalue",
      "short1",
      "https://hooks.example.com/x",
    ]) {
      const { set, valid, invalid } = await scenario(runInProcess, placeholder);
      vocabulary += set + valid + invalid;
    }
  });

  it("set, list, doctor and doctor --json never print a stored value (in process, 50 runs)", async () => {
    await fc.assert(
      fc.asyncProperty(secretValue, async (value) => {
        const checked = forms(value);
        fc.pre(checked.length > 0 && checked.every((f) => !vocabulary.includes(f)));
        const { set, valid, invalid } = await scenario(runInProcess, value);
        for (const form of checked) {
          expect(set).not.toContain(form);
          expect(valid).not.toContain(form);
          expect(invalid).not.toContain(form);
        }
        expect(valid).toContain("PROPERTY_SECRET");
        expect(invalid).toContain("INVALID");
      }),
      { numRuns: 50 },
    );
  });

  it("the same through a real child process", async () => {
    const value = 'pä$$"w\\ord 🔑 %2F+/=\nline2\r\nend';
    const { set, valid, invalid } = await scenario(runBin, value);
    for (const form of forms(value)) {
      expect(set).not.toContain(form);
      expect(valid).not.toContain(form);
      expect(invalid).not.toContain(form);
    }
    expect(valid).toContain("PROPERTY_SECRET");
    expect(invalid).toContain("INVALID");
  });
});
