import { InvalidSecretError } from "@tributary/auth";
import { describe, expect, it } from "vitest";
import { useGoogle } from "../test/helpers.js";
import { gcsUpload } from "./index.js";

const env = useGoogle();

// Tokens and keys with a character HTTP cannot carry, or nested past the limit, are refused before any request.
describe("GCP credentials that cannot be sent", () => {
  it.each([
    ["refresh_token with a line break", "refresh_token", "\n"],
    ["client_secret with a non-ASCII character", "client_secret", "\u00e4"],
  ])("%s", async (_, field, ch) => {
    const google = env.google();
    const user = google.createAuthorizedUser() as unknown as Record<string, string>;
    const bad = { ...user, [field]: `${user[field]}${ch}x` };
    const before = google.tokensIssued;
    const error = await gcsUpload({
      credentials: bad as never,
      endpoint: google.url,
      bucket: env.bucket,
      key: "never.txt",
      body: "x",
    }).catch((e) => e);
    expect(InvalidSecretError.isInstance(error), String(error)).toBe(true);
    expect(error.issues[0].field).toBe(field);
    expect(error.message).toContain("which an HTTP header cannot carry");
    expect(google.tokensIssued).toBe(before);
    expect(await google.readObject(env.bucket, "never.txt")).toBeUndefined();
  });

  it("refuses a key nested 5,000 deep with InvalidSecretError, not a RangeError", async () => {
    const google = env.google();
    let extra: unknown = 1;
    for (let i = 0; i < 5000; i++) extra = [extra];
    const error = await gcsUpload({
      credentials: { ...env.key(), extra } as never,
      endpoint: google.url,
      bucket: env.bucket,
      key: "never.txt",
      body: "x",
    }).catch((e) => e);
    expect(InvalidSecretError.isInstance(error), String(error)).toBe(true);
    expect(error.message).toContain("nests deeper than 32 levels");
  });
});
