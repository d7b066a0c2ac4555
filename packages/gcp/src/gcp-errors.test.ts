import { CredentialRejectedError, SanitizedCause, ServiceError } from "@tributary/auth";
import { describe, expect, it } from "vitest";
import { useGoogle } from "../test/helpers.js";
import { gcsCopy, gcsDownload, gcsExists, gcsList, gcsUpload } from "./index.js";

const env = useGoogle();
const opts = () => ({ credentials: env.key(), endpoint: env.google().url, bucket: env.bucket, retries: 1 });
const storagePaths = (r: { path: string }) => !r.path.includes("/token");
const noWait = { "Retry-After": "0" };

describe("Cloud Storage errors carry Google's own reason", () => {
  it.each([
    {
      meets: "an object that does not exist",
      setup: () => undefined,
      call: () => gcsDownload({ ...opts(), key: "missing/report.csv" }),
      code: "NOT_FOUND",
      status: 404,
      reason: "notFound",
      says: "No such object: test-bucket/missing/report.csv",
    },
    {
      meets: "a bucket that does not exist",
      setup: () => undefined,
      call: () => gcsList({ ...opts(), bucket: "no-such-bucket" }),
      code: "NOT_FOUND",
      status: 404,
      reason: "notFound",
      says: "The specified bucket does not exist",
    },
    {
      meets: "an object its principal may not read",
      setup: () => env.google().denyAccess(env.key().client_email, `/storage/v1/b/${env.bucket}/o/locked`),
      call: () => gcsDownload({ ...opts(), key: "locked/x.csv" }),
      code: "ACCESS_DENIED",
      status: 403,
      reason: "forbidden",
      says: "does not have storage.objects",
    },
    {
      meets: "a precondition that did not hold",
      setup: () => env.google().failNext(1, 412, { match: storagePaths }),
      call: () => gcsUpload({ ...opts(), key: "p.txt", body: "x" }),
      code: "PRECONDITION_FAILED",
      status: 412,
      reason: "conditionNotMet",
      says: "pre-conditions you specified did not hold",
    },
    {
      meets: "a conflicting change",
      setup: () => env.google().failNext(1, 409, { match: storagePaths }),
      call: () => gcsCopy({ ...opts(), from: { bucket: env.bucket, key: "a.txt" }, to: { key: "b.txt" } }),
      code: "CONFLICT",
      status: 409,
      reason: "conflict",
      says: "conflict",
    },
    {
      meets: "rate limiting that outlasts the retries",
      setup: () => env.google().failNext(2, 429, { headers: noWait, match: storagePaths }),
      call: () => gcsExists({ ...opts(), key: "a.txt" }),
      code: "THROTTLED",
      status: 429,
      reason: "rateLimitExceeded",
      says: "exceeds the rate limit",
    },
    {
      meets: "a backend error that outlasts the retries",
      setup: () => env.google().failNext(2, 503, { headers: noWait, match: storagePaths }),
      call: () => gcsList({ ...opts() }),
      code: "SERVICE_UNAVAILABLE",
      status: 503,
      reason: "backendError",
      says: "Backend Error",
    },
    {
      meets: "an access token Cloud Storage refuses",
      setup: () => env.google().failNext(5, 401, { match: storagePaths }),
      call: () => gcsExists({ ...opts(), key: "a.txt" }),
      code: "CREDENTIAL_REJECTED",
      status: 401,
      reason: "authError",
      says: "Invalid Credentials",
    },
  ])("$meets: $code, reason $reason", async ({ setup, call, code, status, reason, says }) => {
    await env.google().putObject(env.bucket, "a.txt", "a");
    setup();
    const error = await call().catch((e) => e);
    const expectedClass = code === "CREDENTIAL_REJECTED" ? CredentialRejectedError : ServiceError;
    expect(expectedClass.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ code, reason });
    if (ServiceError.isInstance(error)) expect(error.status).toBe(status);
    expect(error.message).toContain(reason);
    expect(error.message).toContain(says);
    // The cause stands for Google's answer — status and reason — and holds nothing of the request.
    expect(SanitizedCause.isInstance(error.cause)).toBe(true);
    expect(error.cause).toMatchObject({ status, reason });
    expect(Object.keys(error.cause)).not.toEqual(expect.arrayContaining(["config"]));
  });
});
