import { inspect } from "node:util";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isolateEnvironment } from "../test/helpers.js";
import { withSecrets } from "./context.js";
import { InvalidSecretError, MissingCredentialsError } from "./errors.js";
import { maskValue } from "./mask.js";
import { mask, REDACTED } from "./masked-values.js";
import { resolveSecret } from "./resolve-secret.js";
import { Secret } from "./secret.js";

isolateEnvironment();

/** Secret-shaped strings of every kind the issue lists, long enough not to occur in our own words by chance. */
const secretValue = fc
  .oneof(
    fc.string({ minLength: 8, maxLength: 40 }),
    fc.string({ unit: "grapheme", minLength: 6, maxLength: 20 }),
    fc.string({ minLength: 6, maxLength: 30 }).map((s) => JSON.stringify(s).slice(1, -1)),
    fc.string({ minLength: 6, maxLength: 30 }).map((s) => encodeURIComponent(s)),
    fc.uint8Array({ minLength: 6, maxLength: 30 }).map((b) => Buffer.from(b).toString("base64")),
    fc
      .tuple(fc.string({ minLength: 4, maxLength: 12 }), fc.string({ minLength: 4, maxLength: 12 }))
      .map(([a, b]) => `${a}\n${b}`),
  )
  .filter((s) => s.trim().length >= 6)
  // A fixed tail keeps a random value from being a word our messages use anyway ("secret", "value").
  .map((s) => `${s}~Zq`);

describe("no secret value escapes", () => {
  it("through errors, mask(), JSON.stringify and util.inspect", async () => {
    await fc.assert(
      fc.asyncProperty(secretValue, async (value) => {
        // A malformed value: the error must name the field, never quote the value.
        const bad = { ACCESS_KEY: value, SECRET_ACCESS_KEY: `${value} with space` };
        const invalid = await withSecrets({ AWS_CREDENTIALS: bad }, () =>
          resolveSecret("AWS_CREDENTIALS"),
        ).catch((e) => e);
        expect(InvalidSecretError.isInstance(invalid)).toBe(true);
        const token = `xoxb-${value}`;
        const missing = await resolveSecret("SLACK_BOT_TOKEN", { secretName: "MISSING_TOKEN_NAME" }).catch(
          (e) => e,
        );
        expect(MissingCredentialsError.isInstance(missing)).toBe(true);
        const resolved = await withSecrets({ SLACK_BOT_TOKEN: token, AWS_CREDENTIALS: bad }, () =>
          resolveSecret("SLACK_BOT_TOKEN").catch((e) => e),
        );
        const outputs = [
          String(invalid.message),
          inspect(invalid),
          JSON.stringify(invalid),
          String(missing.message),
          mask(`the token is ${token} and the key is ${value}!`),
          mask(JSON.stringify({ token, value })),
          JSON.stringify(maskValue({ nested: { token, note: `has ${value}` }, password: "short" })),
          JSON.stringify(resolved),
          inspect(resolved),
          String(new Secret("X", value)),
          `${new Secret("X", value)}`,
          JSON.stringify({ s: new Secret("X", value) }),
          inspect({ s: new Secret("X", value) }),
        ];
        for (const out of outputs) {
          expect(out).not.toContain(value);
          expect(out).not.toContain(token);
        }
      }),
      { numRuns: 150 },
    );
  });

  it("masks the JSON-escaped and URL-encoded forms of a value and fields with sensitive names", () => {
    const value = 'p@ss "word"/with\nnewline';
    withSecrets({ CUSTOM_PASSWORD: value }, () => undefined);
    expect(mask(JSON.stringify({ v: value }))).toBe(`{"v":"${REDACTED}"}`);
    expect(mask(`?q=${encodeURIComponent(value)}`)).toBe(`?q=${REDACTED}`);
    expect(maskValue({ api_key: "abc", Authorization: "Bearer x", name: "ok" })).toEqual({
      api_key: REDACTED,
      Authorization: REDACTED,
      name: "ok",
    });
  });

  it("copies a value with cycles and shared parts: a cycle becomes [circular], a shared part is masked twice", () => {
    const value = "shared-part-secret";
    withSecrets({ CUSTOM_TOKEN: value }, () => undefined);
    const part = { note: `has ${value}` };
    const cyclic: Record<string, unknown> = { name: "run", left: part, right: part, list: [part, part] };
    cyclic.self = cyclic;
    (part as Record<string, unknown>).back = cyclic;
    const masked = { note: `has ${REDACTED}`, back: "[circular]" };
    expect(maskValue(cyclic)).toEqual({
      name: "run",
      left: masked,
      right: masked,
      list: [masked, masked],
      self: "[circular]",
    });
  });

  it("masks each string field of an object secret of 4 characters or more, and leaves shorter ones", () => {
    withSecrets(
      { AWS_CREDENTIALS: { ACCESS_KEY: "AKIDMASKME1", SECRET_ACCESS_KEY: "s3cr3t-value", REGION: "eu" } },
      () => undefined,
    );
    expect(mask("AKIDMASKME1 / s3cr3t-value / eu")).toBe(`${REDACTED} / ${REDACTED} / eu`);
  });
});
