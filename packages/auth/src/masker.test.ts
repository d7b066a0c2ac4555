import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { inspect } from "node:util";
import { describe, expect, it } from "vitest";
import { isolateEnvironment } from "../test/helpers.js";
import { configureBackends, directoryBackend } from "./backend.js";
import { MAX_SECRET_VALUE_BYTES } from "./check-secret-input.js";
import { withSecrets } from "./context.js";
import { InvalidSecretError, ServiceError } from "./errors.js";
import { createMaskerScope, maskValue, registerSecretValue } from "./mask.js";
import { mask, maskerStats, REDACTED, RETAINED_SCOPES } from "./masked-values.js";
import { resolveSecret } from "./resolve-secret.js";
import { SanitizedCause, sanitizeCause } from "./sanitize-cause.js";
import { localStore } from "./store.js";

const env = isolateEnvironment();
const fresh = (label: string) => `${label}-${randomBytes(12).toString("hex")}`;

describe("mask()", () => {
  const value = `p@ss wörd+/${fresh("v")}`;
  const bytes = Buffer.from(value);
  it.each([
    ["the value", value],
    ["its JSON-escaped form", JSON.stringify(value).slice(1, -1)],
    ["encodeURIComponent", encodeURIComponent(value)],
    ["form encoding", new URLSearchParams({ v: value }).toString().slice(2)],
    ["base64", bytes.toString("base64")],
    ["base64url", bytes.toString("base64url")],
    ["Basic auth built from it", `Basic ${Buffer.from(`user:${value}`).toString("base64")}`],
    ["base64 at another offset", Buffer.from(`ab${value}`).toString("base64")],
    ["base64 inside a longer text", Buffer.from(`x-access-token:${value}@github.com`).toString("base64url")],
  ])("masks %s", (_, form) => {
    registerSecretValue(value, { scope: "process" });
    const masked = mask(`before ${form} after`);
    expect(masked).toContain(REDACTED);
    expect(masked).not.toContain(form.replace(/^Basic /, ""));
  });

  it("registers a value with a lone surrogate without throwing, and masks it", () => {
    const value = `lone-\ud800-${fresh("s")}`;
    expect(() => registerSecretValue(value, { scope: "process" })).not.toThrow();
    expect(mask(`x ${value} y`)).toBe(`x ${REDACTED} y`);
  });

  it("replaces overlapping values as one stretch, leaving no part of either", () => {
    registerSecretValue("overlap-AAAA-BBBB", { scope: "process" });
    registerSecretValue("BBBB-CCCC-tail", { scope: "process" });
    expect(mask("x overlap-AAAA-BBBB-CCCC-tail y")).toBe(`x ${REDACTED} y`);
  });

  it("never throws, and never returns the text unmasked when it cannot mask it", () => {
    const hostile = {
      toString() {
        throw new Error("no");
      },
    };
    expect(mask(hostile as unknown as string)).toBe(REDACTED);
    const getter = Object.defineProperty({}, "boom", {
      enumerable: true,
      get() {
        throw new Error("getter");
      },
    });
    expect(maskValue({ ok: "fine", getter })).toEqual({ ok: "fine", getter: { boom: REDACTED } });
    const unreadable = new Proxy(
      {},
      {
        ownKeys() {
          throw new Error("no keys");
        },
      },
    );
    expect(maskValue(unreadable)).toBe(REDACTED);
  });

  it("masks keys of logged objects, and Buffers and typed arrays as text", () => {
    const secret = fresh("key");
    registerSecretValue(secret, { scope: "process" });
    const out = maskValue({
      [secret]: "v",
      buffer: Buffer.from(`raw ${secret}`),
      array: new Uint8Array(Buffer.from(secret)),
      nested: { list: [new TextEncoder().encode(`x${secret}`)] },
    });
    expect(JSON.stringify(out)).not.toContain(secret);
    expect(out).toEqual({
      [REDACTED]: "v",
      buffer: `raw ${REDACTED}`,
      array: REDACTED,
      nested: { list: [`x${REDACTED}`] },
    });
  });
});

describe("masker scopes", () => {
  it("masks a run's values during the run and lets them go some runs after it; process values stay", async () => {
    const processValue = fresh("env");
    process.env.TRIBUTARY__CONTEXT__SECRETS__FROM_ENV = processValue;
    const runValue = fresh("run");
    const argument = fresh("arg");
    await withSecrets({ RUN_VALUE: runValue }, async () => {
      await resolveSecret("FROM_ENV");
      await resolveSecret("SOME_ARG", { value: argument });
      expect(mask(`${runValue} ${argument} ${processValue}`)).toBe(`${REDACTED} ${REDACTED} ${REDACTED}`);
    });
    // An error the run threw is still masked where its caller logs it.
    expect(mask(runValue)).toBe(REDACTED);
    for (let i = 0; i < RETAINED_SCOPES; i++) await withSecrets({ OTHER: fresh("other") }, async () => {});
    expect(mask(`${runValue} ${argument}`)).toBe(`${runValue} ${argument}`);
    expect(mask(processValue)).toBe(REDACTED);
  });

  it("a scope a runner makes masks its values after it ended, and the process masker stays flat", () => {
    const before = maskerStats();
    const scope = createMaskerScope();
    const token = fresh("job");
    scope.register({ nested: { token } });
    expect(mask(token)).toBe(REDACTED);
    scope.end();
    for (let i = 0; i < RETAINED_SCOPES; i++) createMaskerScope().end();
    expect(mask(token)).toBe(token);
    expect(scope.mask(`late ${token}`)).toBe(`late ${REDACTED}`);
    expect(scope.maskValue({ late: [token] })).toEqual({ late: [REDACTED] });
    expect(maskerStats()).toMatchObject({ liveScopes: before.liveScopes, retainedScopes: RETAINED_SCOPES });
  });
});

describe("the size limit of a secret value", () => {
  const big = "x".repeat(MAX_SECRET_VALUE_BYTES + 1);
  const cases: { source: string; setup: () => void | Promise<void>; kind: string }[] = [
    {
      source: "env",
      setup: () => {
        process.env.TRIBUTARY__CONTEXT__SECRETS__BIG_ONE = big;
      },
      kind: "env",
    },
    {
      source: "the local store file",
      setup: () =>
        writeFileSync(
          join(env.home(), "secrets.json"),
          JSON.stringify({ version: 1, secrets: { BIG_ONE: big } }),
          {
            mode: 0o600,
          },
        ),
      kind: "store",
    },
    {
      source: "a backend",
      setup: () => {
        const dir = join(env.home(), "mounted");
        mkdirSync(dir);
        writeFileSync(join(dir, "BIG_ONE"), big);
        configureBackends([directoryBackend(dir)]);
      },
      kind: "backend",
    },
  ];
  it.each(cases)("is checked for a value from $source", async ({ setup, kind }) => {
    await setup();
    const error = await resolveSecret("BIG_ONE", { secretName: "BIG_ONE" }).catch((e) => e);
    expect(InvalidSecretError.isInstance(error)).toBe(true);
    expect(error.source.kind).toBe(kind);
    expect(error.message).toContain("65536 bytes (64 KiB)");
    expect(error.message).not.toContain("xxxx");
    expect(maskerStats().values).not.toBeGreaterThan(10_000);
  });

  it("is checked for run values, arguments, object fields and the store's set, before anything is registered", async () => {
    const before = maskerStats().values;
    const caught = async (fn: () => unknown) => {
      try {
        await fn();
        return undefined;
      } catch (error) {
        return error;
      }
    };
    const thrown = [
      await caught(() => withSecrets({ BIG_ONE: big }, () => undefined)),
      await caught(() => resolveSecret("BIG_ONE", { value: big })),
      await caught(() => withSecrets({ OBJ: { FIELD: big } }, () => undefined)),
      await caught(() => localStore().set("BIG_ONE", big)),
    ];
    for (const error of thrown) expect(InvalidSecretError.isInstance(error)).toBe(true);
    expect(thrown.map((e) => (e as InvalidSecretError).issues?.[0]?.field)).toEqual(["", "", "FIELD", ""]);
    expect(localStore().get("BIG_ONE")).toBeUndefined();
    expect(maskerStats().values).toBe(before);
  });
});

describe("sanitizeCause", () => {
  it("keeps status, code, reason and request id, and nothing of the request", () => {
    const token = fresh("ghp");
    registerSecretValue(token, { scope: "process" });
    const raw = Object.assign(new Error(`Bad credentials for ${token}`), {
      status: 401,
      request: { headers: { authorization: `token ${token}` }, body: token },
      config: { data: `refresh_token=${token}` },
      response: {
        status: 401,
        headers: { "x-github-request-id": "ABCD:1234" },
        data: { message: `Bad credentials ${token}`, echo: { authorization: token } },
      },
      cause: Object.assign(new Error("socket hang up"), { code: "ECONNRESET", socket: { token } }),
    });
    const error = new ServiceError("UNAUTHORIZED", "GitHub", "rejected", 401, { cause: raw });
    const cause = error.cause as SanitizedCause;
    expect(SanitizedCause.isInstance(cause)).toBe(true);
    expect(cause).toMatchObject({
      status: 401,
      requestId: "ABCD:1234",
      message: `Bad credentials for ${REDACTED}`,
    });
    expect((cause.cause as SanitizedCause).code).toBe("ECONNRESET");
    const printed = `${inspect(error, { depth: Number.POSITIVE_INFINITY, showHidden: true })} ${JSON.stringify(error)}`;
    expect(printed).not.toContain(token);
    expect(printed).not.toContain("refresh_token");
    expect(sanitizeCause(cause)).toBe(cause);
    expect(sanitizeCause(undefined)).toBeUndefined();
  });
});
