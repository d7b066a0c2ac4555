import { describe, expect, it, vi } from "vitest";
import {
  CredentialRejectedError,
  InvalidSecretError,
  MissingCredentialsError,
  SecretBackendError,
  TributaryError,
  ValidationError,
} from "./errors.js";

describe("errors", () => {
  it("recognises instances from another copy of the package", async () => {
    vi.resetModules();
    const other = (await import(
      /* @vite-ignore */ `./errors.js?copy=${Date.now()}`
    )) as typeof import("./errors.js");
    const foreign = new other.MissingCredentialsError("AWS_CREDENTIALS", []);
    expect(foreign instanceof MissingCredentialsError).toBe(false);
    expect(MissingCredentialsError.isInstance(foreign)).toBe(true);
    expect(TributaryError.isInstance(foreign)).toBe(true);
    expect(InvalidSecretError.isInstance(foreign)).toBe(false);
  });

  it.each([
    [new MissingCredentialsError("X", []), "MISSING_CREDENTIALS", "MissingCredentialsError", false],
    [new ValidationError("bucket", "must not be empty"), "INVALID_INPUT", "ValidationError", false],
    [
      new SecretBackendError("THROTTLED", "slow down", "aws", "K", { retryable: true }),
      "THROTTLED",
      "SecretBackendError",
      true,
    ],
    [
      new CredentialRejectedError(
        "S3",
        { kind: "env", detail: "TRIBUTARY__CONTEXT__SECRETS__AWS_CREDENTIALS" },
        "SignatureDoesNotMatch",
        {
          retryable: true,
        },
      ),
      "CREDENTIAL_REJECTED",
      "CredentialRejectedError",
      false,
    ],
  ])("%s has a stable code, name and retryable flag", (error, code, name, retryable) => {
    expect([error.code, error.name, error.retryable]).toEqual([code, name, retryable]);
    expect(error).toBeInstanceOf(Error);
  });

  it("keeps a sanitized cause and says where a rejected credential came from", () => {
    const cause = Object.assign(new Error("403"), { config: { headers: { authorization: "token x" } } });
    const error = new CredentialRejectedError(
      "S3",
      { kind: "store", detail: "/home/u/.config/tributary/secrets.json" },
      "SignatureDoesNotMatch",
      { cause },
    );
    expect(error.cause).toMatchObject({ name: "Error", message: "403" });
    expect(error.cause).not.toHaveProperty("config");
    expect(error.message).toContain("store (/home/u/.config/tributary/secrets.json)");
  });
});
