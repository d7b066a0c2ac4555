import { randomBytes } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { Hash } from "@smithy/hash-node";
import { HttpRequest } from "@smithy/protocol-http";
import { SignatureV4 } from "@smithy/signature-v4";

const Sha256 = Hash.bind(null, "sha256");

/** An AWS key pair a stand-in accepts. */
export interface AwsKeyPair {
  /** The access key id. */
  accessKeyId: string;
  /** The secret access key. */
  secretAccessKey: string;
  /** When set, requests with this key must carry this session token (temporary credentials). */
  sessionToken?: string;
  /** Epoch ms after which the stand-in answers `ExpiredToken`. */
  expiresAt?: number;
}

/**
 * Makes a random key pair for a test run. The id starts with `TEST` so it never looks like a real AWS key.
 * @example
 * const key = randomKeyPair();
 * const s3 = await startS3StandIn({ keyPairs: [key] });
 */
export function randomKeyPair(): AwsKeyPair {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  const bytes = randomBytes(16);
  const id = [...bytes].map((b) => alphabet[b % 32]).join("");
  return { accessKeyId: `TEST${id}`, secretAccessKey: randomBytes(30).toString("base64") };
}

/** The outcome of checking a request's SigV4 signature. */
export type SigV4Check =
  | { ok: true; key: AwsKeyPair; region: string; service: string }
  | {
      ok: false;
      /** The AWS error code: `MissingAuthenticationToken`, `InvalidAccessKeyId`, `SignatureDoesNotMatch`, `ExpiredToken`, `InvalidToken`, `AuthorizationHeaderMalformed`. */
      code: string;
      message: string;
    };

const AUTH_RE =
  /^AWS4-HMAC-SHA256\s+Credential=([^/,\s]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request,\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})$/;

/**
 * Checks a request's `Authorization: AWS4-HMAC-SHA256 …` header by recomputing the signature with
 * `@smithy/signature-v4` from the headers it names, the way AWS does.
 */
export async function checkSigV4(
  request: { method: string; rawUrl: string; headers: IncomingHttpHeaders; body?: Buffer },
  keyPairs: Iterable<AwsKeyPair>,
  options: { uriEscapePath: boolean },
): Promise<SigV4Check> {
  const auth = request.headers.authorization;
  if (!auth) return { ok: false, code: "AccessDenied", message: "Access Denied: the request is not signed" };
  const m = AUTH_RE.exec(auth.trim());
  if (!m) {
    return {
      ok: false,
      code: "AuthorizationHeaderMalformed",
      message: "The authorization header is malformed",
    };
  }
  const [, accessKeyId, , region, service, signedList, signature] = m as unknown as string[];
  let key: AwsKeyPair | undefined;
  for (const k of keyPairs) if (k.accessKeyId === accessKeyId) key = k;
  if (!key) {
    return {
      ok: false,
      code: "InvalidAccessKeyId",
      message: "The AWS Access Key Id you provided does not exist in our records.",
    };
  }
  const amzDate = String(request.headers["x-amz-date"] ?? "");
  const dm = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (!dm) return { ok: false, code: "AccessDenied", message: "X-Amz-Date is missing or malformed" };
  const signingDate = new Date(Date.UTC(+dm[1]!, +dm[2]! - 1, +dm[3]!, +dm[4]!, +dm[5]!, +dm[6]!));
  const signed = (signedList as string).split(";");
  const headers: Record<string, string> = {};
  for (const name of signed) {
    const value = request.headers[name];
    if (value === undefined) {
      return { ok: false, code: "SignatureDoesNotMatch", message: `Signed header ${name} is missing` };
    }
    headers[name] = Array.isArray(value) ? value.join(",") : value;
  }
  const token = request.headers["x-amz-security-token"];
  const url = new URL(request.rawUrl, "http://stand-in");
  const query: Record<string, string | string[]> = {};
  for (const [k, v] of url.searchParams) {
    const prev = query[k];
    query[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  const signer = new SignatureV4({
    credentials: {
      accessKeyId: key.accessKeyId,
      secretAccessKey: key.secretAccessKey,
      ...(typeof token === "string" ? { sessionToken: token } : {}),
    },
    region: region as string,
    service: service as string,
    sha256: Sha256,
    uriEscapePath: options.uriEscapePath,
    applyChecksum: false,
  });
  const toSign = new HttpRequest({
    method: request.method,
    protocol: "http:",
    hostname: String(request.headers.host ?? "").split(":")[0] ?? "",
    path: request.rawUrl.split("?")[0] ?? "/",
    query,
    headers,
    ...(request.body ? { body: request.body } : {}),
  });
  const result = await signer.sign(toSign, {
    signingDate,
    signableHeaders: new Set(signed),
    signingRegion: region,
    signingService: service,
  });
  const expected = /Signature=([0-9a-f]{64})/.exec(String(result.headers.authorization ?? ""))?.[1];
  if (expected !== signature) {
    return {
      ok: false,
      code: "SignatureDoesNotMatch",
      message:
        "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
    };
  }
  if (key.sessionToken !== undefined && token !== key.sessionToken) {
    return {
      ok: false,
      code: "InvalidToken",
      message: "The provided token is malformed or otherwise invalid.",
    };
  }
  if (key.expiresAt !== undefined && Date.now() >= key.expiresAt) {
    return { ok: false, code: "ExpiredToken", message: "The provided token has expired." };
  }
  return { ok: true, key, region: region as string, service: service as string };
}
