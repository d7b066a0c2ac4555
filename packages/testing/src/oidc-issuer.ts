import { createPublicKey, generateKeyPairSync, type KeyObject, randomUUID, sign, verify } from "node:crypto";

/** The claims of an OIDC identity token, as Kubernetes or GitHub Actions issue them. */
export interface OidcClaims {
  /** Issuer URL. */
  iss: string;
  /** Subject, such as `system:serviceaccount:etl:runner` or `repo:acme/etl:ref:refs/heads/main`. */
  sub: string;
  /** Audience: the one the token is meant for (`sts.amazonaws.com`, a workload identity provider). */
  aud: string | string[];
  /** Expiry (epoch seconds). */
  exp: number;
  /** Issued at (epoch seconds). */
  iat: number;
  [claim: string]: unknown;
}

/** A test OIDC issuer: an RSA key that signs identity tokens, and its public key to verify them. */
export interface OidcIssuer {
  /** The issuer URL put in `iss`. */
  readonly issuer: string;
  /** The public key tokens are verified with. */
  readonly publicKey: KeyObject;
  /** Signs an RS256 identity token. `expiresIn` in seconds (negative for an expired token). Default 3600. */
  token(options: {
    subject: string;
    audience: string;
    expiresIn?: number;
    claims?: Record<string, unknown>;
  }): string;
}

const b64url = (value: Buffer | string) => Buffer.from(value).toString("base64url");

/**
 * Starts a test OIDC issuer (no server: the stand-ins are given its public key), to mint the web-identity tokens
 * that Kubernetes projects into pods and GitHub Actions hands to jobs.
 * @example
 * const oidc = createOidcIssuer();
 * const s3 = await startS3StandIn({ sts: { webIdentity: { issuer: oidc, audience: "sts.amazonaws.com" } } });
 * const jwt = oidc.token({ subject: "system:serviceaccount:etl:runner", audience: "sts.amazonaws.com" });
 */
export function createOidcIssuer(issuer = "https://oidc.stand-in.test"): OidcIssuer {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const kid = randomUUID();
  return {
    issuer,
    publicKey,
    token({ subject, audience, expiresIn = 3600, claims = {} }) {
      const now = Math.floor(Date.now() / 1000);
      const header = b64url(JSON.stringify({ alg: "RS256", typ: "JWT", kid }));
      const body = b64url(
        JSON.stringify({
          iss: issuer,
          sub: subject,
          aud: audience,
          iat: now,
          exp: now + expiresIn,
          ...claims,
        }),
      );
      const signature = sign("RSA-SHA256", Buffer.from(`${header}.${body}`), privateKey);
      return `${header}.${body}.${b64url(signature)}`;
    },
  };
}

/** Why an identity token was refused, in the words the services use. */
export type OidcRejection = {
  ok: false;
  code: "InvalidIdentityToken" | "ExpiredTokenException";
  message: string;
};

/**
 * Verifies an RS256 identity token's signature, audience and expiry against an issuer's public key, as AWS STS and
 * Google STS do before they exchange it.
 */
export function verifyIdentityToken(
  token: string,
  expected: { publicKey: KeyObject | string; audience: string; issuer?: string },
): { ok: true; claims: OidcClaims } | OidcRejection {
  const parts = token.split(".");
  const reject = (message: string): OidcRejection => ({ ok: false, code: "InvalidIdentityToken", message });
  if (parts.length !== 3) return reject("The web identity token is not a JWT");
  const [header, body, signature] = parts as [string, string, string];
  let claims: OidcClaims;
  try {
    const h = JSON.parse(Buffer.from(header, "base64url").toString("utf8")) as { alg?: string };
    if (h.alg !== "RS256") return reject(`Unsupported token algorithm ${String(h.alg)}`);
    claims = JSON.parse(Buffer.from(body, "base64url").toString("utf8")) as OidcClaims;
  } catch {
    return reject("The web identity token could not be decoded");
  }
  const key =
    typeof expected.publicKey === "string" ? createPublicKey(expected.publicKey) : expected.publicKey;
  if (!verify("RSA-SHA256", Buffer.from(`${header}.${body}`), key, Buffer.from(signature, "base64url"))) {
    return reject("The signature of the web identity token does not match its issuer's key");
  }
  if (expected.issuer !== undefined && claims.iss !== expected.issuer) {
    return reject(`The token's issuer ${String(claims.iss)} is not trusted`);
  }
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (!audiences.includes(expected.audience)) {
    return reject(`Incorrect token audience: expected ${expected.audience}`);
  }
  if (typeof claims.exp !== "number" || claims.exp * 1000 <= Date.now()) {
    return { ok: false, code: "ExpiredTokenException", message: "Token expired" };
  }
  return { ok: true, claims };
}
