import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from "node:crypto";
import { isDeepStrictEqual } from "node:util";
import { ValidationError } from "@tributary/auth";
import { type DeploymentManifest, untrustedDeployment as untrusted } from "./deployment-manifest.js";

/** The signature's file name inside a deployment, beside `manifest.json`: a DSSE envelope. */
export const SIGNATURE_FILE = "manifest.sig.json";
/** The envelope's `payloadType`: the payload is an in-toto statement. */
export const DSSE_PAYLOAD_TYPE = "application/vnd.in-toto+json";
/** The statement's `_type`: in-toto Statement v1. */
export const STATEMENT_TYPE = "https://in-toto.io/Statement/v1";
/** The statement's `predicateType`: a Tributary deployment. */
export const DEPLOYMENT_PREDICATE_TYPE = "https://tributary.dev/deployment/v1";

/** A DSSE envelope, as written to `manifest.sig.json`. */
export interface DsseEnvelope {
  /** `application/vnd.in-toto+json`. */
  readonly payloadType: string;
  /** The statement's JSON, base64. */
  readonly payload: string;
  /** One signature per signing key: `sig` is the Ed25519 signature (base64) of the envelope's PAE. */
  readonly signatures: readonly { readonly keyid: string; readonly sig: string }[];
}

/** What a deployment's signature says: the predicate of its in-toto statement. */
export interface DeploymentPredicate {
  /** The address the deployment was made for, such as `s3://flows/prod/nightly`. */
  readonly address: string;
  /** The manifest written beside the bundle, field for field. */
  readonly manifest: DeploymentManifest;
  /** When it was signed, ISO 8601. */
  readonly signedAt: string;
}

/** A trusted public key: its key id, its label (when its file names one) and the key itself. */
export interface TrustedKey {
  /** The key id: the first 16 hex characters of the SHA-256 of the public key's DER (SPKI) bytes. */
  readonly keyId: string;
  /** The key's human name, from its file's `Tributary signing key: LABEL` line, if any. */
  readonly label: string | undefined;
  /** The public key. */
  readonly key: KeyObject;
}

/** A signature that verified: who signed (the trusted key), when, for which address, and the signed manifest. */
export interface VerifiedSignature extends DeploymentPredicate {
  /** The key id of the trusted key that signed. */
  readonly keyId: string;
  /** That key's label, if its file names one. */
  readonly label: string | undefined;
}

/** A new signing key pair, as `tributary keys generate` makes it. */
export interface SigningKeyPair {
  /** The private key, PKCS#8 PEM (with the label line when one was given): the value of `TRIBUTARY_SIGNING_KEY`. */
  readonly privateKeyPem: string;
  /** The public key, SPKI PEM (with the label line when one was given): what agents trust. */
  readonly publicKeyPem: string;
  /** The key id. */
  readonly keyId: string;
}

const LABEL_LINE = /^Tributary signing key: (.+)$/m;
const LABEL_TEXT = /^[^\r\n]{1,100}$/;
const PEM_BLOCK = (kind: string) =>
  new RegExp(`-----BEGIN ${kind}-----\\r?\\n[A-Za-z0-9+/=\\r\\n]+-----END ${kind}-----`);

/** A key's label line, written before its PEM block (explanatory text, which PEM readers skip). */
function withLabel(pem: string, label: string | undefined): string {
  return label === undefined ? pem : `Tributary signing key: ${label}\n${pem}`;
}

function labelOf(text: string): string | undefined {
  const before = text.slice(0, Math.max(0, text.indexOf("-----BEGIN")));
  return LABEL_LINE.exec(before)?.[1]?.trim() || undefined;
}

/** The key id of a public key: the first 16 hex characters of the SHA-256 of its DER (SPKI) bytes. */
export function keyIdOf(publicKey: KeyObject): string {
  const der = publicKey.export({ type: "spki", format: "der" });
  return createHash("sha256").update(der).digest("hex").slice(0, 16);
}

/**
 * Makes a new Ed25519 signing key pair. `label` is the key's human name (`release`), written as a line before
 * each PEM block and shown by `tributary verify`.
 * @example
 * const { privateKeyPem, publicKeyPem, keyId } = generateSigningKey("release");
 */
export function generateSigningKey(label?: string): SigningKeyPair {
  if (label !== undefined && !LABEL_TEXT.test(label)) {
    throw new ValidationError("label", "a key's label is one line of up to 100 characters, such as release");
  }
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  return {
    privateKeyPem: withLabel(privateKey.export({ type: "pkcs8", format: "pem" }) as string, label),
    publicKeyPem: withLabel(publicKey.export({ type: "spki", format: "pem" }) as string, label),
    keyId: keyIdOf(publicKey),
  };
}

/**
 * Reads an Ed25519 private key (PKCS#8 PEM, optionally after a `Tributary signing key: LABEL` line). Anything else
 * is a `ValidationError` naming `option`, never repeating the text.
 */
export function readSigningKey(
  pem: unknown,
  option = "signingKey",
): { key: KeyObject; keyId: string; label: string | undefined; publicKeyPem: string } {
  const block = typeof pem === "string" ? PEM_BLOCK("PRIVATE KEY").exec(pem)?.[0] : undefined;
  let key: KeyObject | undefined;
  try {
    key = block === undefined ? undefined : createPrivateKey({ key: block, format: "pem" });
  } catch {
    key = undefined;
  }
  if (key?.asymmetricKeyType !== "ed25519") {
    throw new ValidationError(
      option,
      "is not an Ed25519 private key in PKCS#8 PEM (-----BEGIN PRIVATE KEY-----): make one with tributary keys generate",
    );
  }
  const label = labelOf(pem as string);
  const publicKey = createPublicKey(key);
  return {
    key,
    keyId: keyIdOf(publicKey),
    label,
    publicKeyPem: withLabel(publicKey.export({ type: "spki", format: "pem" }) as string, label),
  };
}

const trustedCache = new Map<string, TrustedKey>();

/**
 * Reads a trusted public key: Ed25519, SPKI PEM (`-----BEGIN PUBLIC KEY-----`), optionally after a
 * `Tributary signing key: LABEL` line, as `tributary keys generate` writes it. Anything else is a `ValidationError`
 * naming `option`. Reading the same text again costs a map lookup.
 */
export function readTrustedKey(pem: unknown, option = "trustedKeys"): TrustedKey {
  if (typeof pem === "string") {
    const hit = trustedCache.get(pem);
    if (hit) return hit;
  }
  const block = typeof pem === "string" ? PEM_BLOCK("PUBLIC KEY").exec(pem)?.[0] : undefined;
  let key: KeyObject | undefined;
  try {
    key = block === undefined ? undefined : createPublicKey({ key: block, format: "pem" });
  } catch {
    key = undefined;
  }
  if (key?.asymmetricKeyType !== "ed25519") {
    throw new ValidationError(
      option,
      "a trusted key is an Ed25519 public key in PEM (-----BEGIN PUBLIC KEY-----), as tributary keys generate prints it",
    );
  }
  const trusted: TrustedKey = Object.freeze({ keyId: keyIdOf(key), label: labelOf(pem as string), key });
  if (trustedCache.size >= 64) trustedCache.delete(trustedCache.keys().next().value as string);
  trustedCache.set(pem as string, trusted);
  return trusted;
}

/** Reads a trust policy: at least one key; an empty list is refused (leave it out to run unverified). */
export function readTrustPolicy(keys: unknown, option = "trustedKeys"): readonly TrustedKey[] {
  if (!Array.isArray(keys) || keys.length === 0) {
    throw new ValidationError(
      option,
      "give a list of one or more trusted public keys (PEM); leave the option out to run deployments unverified",
    );
  }
  return keys.map((key, i) => readTrustedKey(key, `${option}[${i}]`));
}

/**
 * DSSE's pre-authentication encoding: `"DSSEv1" SP LEN(type) SP type SP LEN(body) SP body`, lengths in bytes as
 * ASCII decimal. This, not the payload, is what is signed.
 */
export function preAuthEncoding(payloadType: string, payload: Uint8Array): Buffer {
  const type = Buffer.from(payloadType, "utf8");
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${type.length} `, "utf8"),
    type,
    Buffer.from(` ${payload.length} `, "utf8"),
    payload,
  ]);
}

/** The in-toto statement of a deployment: the bundle as subject, the manifest and the address as predicate. */
export function deploymentStatement(
  manifest: DeploymentManifest,
  address: string,
  signedAt: Date = new Date(),
): object {
  const predicate: DeploymentPredicate = { address, manifest, signedAt: signedAt.toISOString() };
  return {
    _type: STATEMENT_TYPE,
    subject: [{ name: manifest.bundle.file, digest: { sha256: manifest.bundle.sha256 } }],
    predicateType: DEPLOYMENT_PREDICATE_TYPE,
    predicate,
  };
}

/**
 * Signs a deployment: a DSSE envelope over its in-toto statement (subject: the bundle's name and sha256;
 * predicate: the manifest and the address it is deployed to), signed with an Ed25519 private key (PKCS#8 PEM).
 * Written beside the bundle as `manifest.sig.json` by `tributary deploy --sign`.
 * @example
 * const envelope = signDeployment(manifest, "s3://flows/prod/nightly", process.env.SIGNING_KEY_PEM);
 */
export function signDeployment(
  manifest: DeploymentManifest,
  address: string,
  privateKeyPem: string,
  signedAt?: Date,
): DsseEnvelope {
  const { key, keyId } = readSigningKey(privateKeyPem);
  const payload = Buffer.from(JSON.stringify(deploymentStatement(manifest, address, signedAt)), "utf8");
  const sig = sign(null, preAuthEncoding(DSSE_PAYLOAD_TYPE, payload), key);
  return {
    payloadType: DSSE_PAYLOAD_TYPE,
    payload: payload.toString("base64"),
    signatures: [{ keyid: keyId, sig: sig.toString("base64") }],
  };
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** Verified envelopes, by bundle sha256 and key id: the same envelope bytes are not parsed or verified again. */
const verified = new Map<string, { envelope: Buffer; result: VerifiedSignature }>();
const VERIFIED_LIMIT = 64;

/** What `verifyDeploymentSignature` checks the envelope against. */
export interface SignatureCheck {
  /** The manifest read from `manifest.json`: it must be the one signed. */
  readonly manifest: DeploymentManifest;
  /** The address being run: it must be the one signed for (both as `storage.address(name)` gives them). */
  readonly address: string;
  /** The trust policy, as `readTrustPolicy` returns it. */
  readonly trusted: readonly TrustedKey[];
}

/**
 * Verifies a deployment's envelope (`manifest.sig.json`'s bytes, or `undefined` when there is none) against a trust
 * policy: it verifies under a trusted key, its statement's subject digest is the manifest's bundle sha256, its
 * manifest is `manifest.json`'s, and its address is the address being run. Otherwise throws `DeploymentError`
 * `UNTRUSTED_DEPLOYMENT` with the reason. The bundle itself is checked against the same digest by `checkBundle`.
 * A verified envelope is remembered per (bundle sha256, key id): the same bytes again cost a comparison.
 */
export function verifyDeploymentSignature(
  envelopeBytes: Uint8Array | undefined,
  check: SignatureCheck,
): VerifiedSignature {
  const { manifest, address, trusted } = check;
  if (envelopeBytes === undefined) {
    throw untrusted(
      address,
      "unsigned",
      `the deployment has no signature (${SIGNATURE_FILE}): deploy it with tributary deploy --sign`,
    );
  }
  for (const key of trusted) {
    const hit = verified.get(`${manifest.bundle.sha256}:${key.keyId}`);
    if (
      hit &&
      hit.result.address === address &&
      Buffer.compare(hit.envelope, envelopeBytes) === 0 &&
      isDeepStrictEqual(hit.result.manifest, manifest)
    ) {
      return hit.result;
    }
  }
  const envelope = parseEnvelope(envelopeBytes, address);
  // Shown in the error: ids only, anything else the envelope holds is not repeated.
  const ids = envelope.signatures.map((s) => (/^[0-9a-f]{16}$/.test(s.keyid) ? s.keyid : "(malformed)"));
  const signature = envelope.signatures.find((s) => trusted.some((t) => t.keyId === s.keyid));
  const key = trusted.find((t) => t.keyId === signature?.keyid);
  if (!signature || !key) {
    throw untrusted(
      address,
      "unknown-key",
      `signed by key id ${ids.join(", ") || "(none)"}, which is not trusted here (trusted: ${trusted.map((t) => t.keyId).join(", ")})`,
    );
  }
  const payload = Buffer.from(envelope.payload, "base64");
  const ok = verify(
    null,
    preAuthEncoding(envelope.payloadType, payload),
    key.key,
    Buffer.from(signature.sig, "base64"),
  );
  if (!ok) {
    throw untrusted(
      address,
      "bad-signature",
      `the signature does not verify under trusted key ${key.keyId}: the envelope was changed`,
    );
  }
  const predicate = checkStatement(payload, manifest, address);
  const result: VerifiedSignature = Object.freeze({
    ...predicate,
    keyId: key.keyId,
    label: key.label,
  });
  const cacheKey = `${manifest.bundle.sha256}:${key.keyId}`;
  verified.delete(cacheKey);
  if (verified.size >= VERIFIED_LIMIT) verified.delete(verified.keys().next().value as string);
  verified.set(cacheKey, { envelope: Buffer.from(envelopeBytes), result });
  return result;
}

function parseEnvelope(bytes: Uint8Array, address: string): DsseEnvelope {
  const bad = (why: string) => untrusted(address, "bad-signature", `${SIGNATURE_FILE} ${why}`);
  let data: unknown;
  try {
    data = JSON.parse(Buffer.from(bytes).toString("utf8"));
  } catch {
    throw bad("is not JSON");
  }
  if (!isObject(data)) throw bad("is not a DSSE envelope");
  if (data.payloadType !== DSSE_PAYLOAD_TYPE) throw bad(`has payloadType other than ${DSSE_PAYLOAD_TYPE}`);
  if (typeof data.payload !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(data.payload)) {
    throw bad("has no base64 payload");
  }
  const signatures = data.signatures;
  if (
    !Array.isArray(signatures) ||
    !signatures.every((s) => isObject(s) && typeof s.keyid === "string" && typeof s.sig === "string")
  ) {
    throw bad("has no list of signatures ({ keyid, sig })");
  }
  return data as unknown as DsseEnvelope;
}

/** The verified statement's predicate, checked against the manifest read and the address run. */
function checkStatement(payload: Buffer, manifest: DeploymentManifest, address: string): DeploymentPredicate {
  const bad = (why: string) => untrusted(address, "bad-signature", `the signed statement ${why}`);
  let statement: unknown;
  try {
    statement = JSON.parse(payload.toString("utf8"));
  } catch {
    throw bad("is not JSON");
  }
  if (!isObject(statement) || statement._type !== STATEMENT_TYPE) throw bad("is not an in-toto Statement v1");
  if (statement.predicateType !== DEPLOYMENT_PREDICATE_TYPE) throw bad("is not about a Tributary deployment");
  const subject = Array.isArray(statement.subject) ? statement.subject[0] : undefined;
  const digest = isObject(subject) && isObject(subject.digest) ? subject.digest.sha256 : undefined;
  const predicate = statement.predicate;
  if (
    typeof digest !== "string" ||
    !isObject(predicate) ||
    typeof predicate.address !== "string" ||
    typeof predicate.signedAt !== "string"
  ) {
    throw bad("has no subject digest, address or signing time");
  }
  if (digest !== manifest.bundle.sha256) {
    throw untrusted(
      address,
      "digest-mismatch",
      `the bundle's sha256 in the manifest (${manifest.bundle.sha256.slice(0, 12)}…) is not the one signed (${digest.slice(0, 12)}…)`,
    );
  }
  if (!isDeepStrictEqual(predicate.manifest, manifest)) {
    throw untrusted(address, "digest-mismatch", "manifest.json is not the manifest that was signed");
  }
  if (predicate.address !== address) {
    throw untrusted(
      address,
      "wrong-address",
      `it was signed for ${predicate.address}, not for this address: deploy it here with tributary deploy --sign`,
    );
  }
  return predicate as unknown as DeploymentPredicate;
}
