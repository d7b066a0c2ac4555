import { execFileSync } from "node:child_process";
import { createHash, createPublicKey } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type SecretBackend, ValidationError } from "@tributary/auth";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  BUNDLE_FILE,
  createManifest,
  DeploymentError,
  type DeploymentManifest,
  MANIFEST_FILE,
} from "./deployment-manifest.js";
import {
  type DsseEnvelope,
  generateSigningKey,
  keyIdOf,
  preAuthEncoding,
  readSigningKey,
  readTrustedKey,
  SIGNATURE_FILE,
  signDeployment,
} from "./deployment-signature.js";
import { fileStorage, fileStorageKind } from "./file-storage.js";
import { readDeploymentManifest, runDeployment, verifyDeployment } from "./run-deployment.js";
import type { FlowStorage } from "./storage.js";

const quiet = { logger: { sink: () => {} } };

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "tributary-sign-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("keys and the DSSE envelope", () => {
  it("encodes PAE exactly as the DSSE spec's example", () => {
    expect(
      preAuthEncoding("http://example.com/HelloWorld", Buffer.from("hello world")).toString("utf8"),
    ).toBe("DSSEv1 29 http://example.com/HelloWorld 11 hello world");
    // Lengths count bytes, not characters.
    expect(preAuthEncoding("t", Buffer.from("é")).toString("utf8")).toBe("DSSEv1 1 t 2 é");
  });

  it("names a key by the first 16 hex characters of the SHA-256 of its SPKI DER, from either half", () => {
    const pair = generateSigningKey("release");
    const der = createPublicKey(pair.publicKeyPem).export({ type: "spki", format: "der" });
    const expected = createHash("sha256").update(der).digest("hex").slice(0, 16);
    expect(pair.keyId).toBe(expected);
    expect(keyIdOf(createPublicKey(pair.publicKeyPem))).toBe(expected);
    expect(readSigningKey(pair.privateKeyPem)).toMatchObject({ keyId: expected, label: "release" });
    expect(readTrustedKey(pair.publicKeyPem)).toMatchObject({ keyId: expected, label: "release" });
    expect(readSigningKey(pair.privateKeyPem).publicKeyPem).toBe(pair.publicKeyPem);
    expect(pair.privateKeyPem).toMatch(/^Tributary signing key: release\n-----BEGIN PRIVATE KEY-----\n/);
  });

  it("signs an envelope that openssl verifies over the PAE, with the keyid and an in-toto statement", () => {
    const pair = generateSigningKey();
    const manifest = createManifest({
      flow: "nightly",
      flowSecrets: [],
      storageSecrets: [],
      bundle: Buffer.from("export {}"),
      tributary: {},
    });
    const envelope = signDeployment(manifest, "s3://flows/prod/nightly", pair.privateKeyPem);
    expect(envelope.payloadType).toBe("application/vnd.in-toto+json");
    expect(envelope.signatures).toEqual([{ keyid: pair.keyId, sig: expect.any(String) }]);
    const statement = JSON.parse(Buffer.from(envelope.payload, "base64").toString("utf8"));
    expect(statement).toMatchObject({
      _type: "https://in-toto.io/Statement/v1",
      subject: [{ name: "flow.mjs", digest: { sha256: manifest.bundle.sha256 } }],
      predicate: { address: "s3://flows/prod/nightly", manifest },
    });
    // A standard tool verifies it: the Ed25519 signature of PAE(payloadType, payload) under the public key.
    const pae = join(dir, "pae.bin");
    const sig = join(dir, "sig.bin");
    const pub = join(dir, "pub.pem");
    writeFileSync(pae, preAuthEncoding(envelope.payloadType, Buffer.from(envelope.payload, "base64")));
    writeFileSync(sig, Buffer.from(envelope.signatures[0]?.sig ?? "", "base64"));
    writeFileSync(pub, pair.publicKeyPem);
    const check = (file: string) =>
      execFileSync(
        "openssl",
        ["pkeyutl", "-verify", "-pubin", "-inkey", pub, "-rawin", "-in", file, "-sigfile", sig],
        { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] },
      );
    expect(check(pae)).toContain("Signature Verified Successfully");
    writeFileSync(pae, Buffer.from(envelope.payload, "base64"));
    expect(() => check(pae)).toThrow();
  });

  it.each([
    ["text", "not a key"],
    ["an RSA-looking block", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"],
    ["a private key given as a trusted key", "PRIVATE"],
  ])("refuses %s as a trusted key with a ValidationError, before any network call", (_, text) => {
    const value = text === "PRIVATE" ? generateSigningKey().privateKeyPem : text;
    const error = (() => {
      try {
        readTrustedKey(value, "trustedKeys[0]");
      } catch (e) {
        return e;
      }
    })();
    expect(ValidationError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(
      /^Invalid trustedKeys\[0\]: a trusted key is an Ed25519 public key/,
    );
    expect((error as Error).message).not.toContain("PRIVATE KEY-----\n");
  });
});

/** A flow module that writes `marker` when imported and when run, and asks for a flow secret. */
function flowModule(name: string, marker: string): string {
  return `import { flow } from "@tributary/flow";
import { resolveSecret } from "@tributary/auth";
import { appendFileSync } from "node:fs";
appendFileSync(${JSON.stringify(marker)}, "imported\\n");
export const main = flow({ name: ${JSON.stringify(name)}, secrets: ["FLOW_TOKEN"] }, async () => {
  appendFileSync(${JSON.stringify(marker)}, "ran\\n");
  return typeof (await resolveSecret("FLOW_TOKEN")).value;
});
`;
}

interface Deployed {
  storage: FlowStorage;
  address: string;
  manifest: DeploymentManifest;
  bundle: Buffer;
  envelope: DsseEnvelope | undefined;
}

async function deploy(
  folder: string,
  name: string,
  code: string,
  signWith: string | undefined,
  signedFor?: string,
): Promise<Deployed> {
  const storage = fileStorage({ path: folder });
  const bundle = Buffer.from(code);
  const manifest = createManifest({ flow: name, flowSecrets: [], storageSecrets: [], bundle, tributary: {} });
  const address = storage.address(name);
  const envelope =
    signWith === undefined ? undefined : signDeployment(manifest, signedFor ?? address, signWith);
  await storage.save(name, [
    { name: BUNDLE_FILE, bytes: bundle },
    ...(envelope ? [{ name: SIGNATURE_FILE, bytes: Buffer.from(JSON.stringify(envelope)) }] : []),
    { name: MANIFEST_FILE, bytes: Buffer.from(JSON.stringify(manifest)) },
  ]);
  return { storage, address, manifest, bundle, envelope };
}

describe("runDeployment with a trust policy (file storage)", () => {
  const owner = generateSigningKey("release");
  const attacker = generateSigningKey("attacker");

  /** A backend that counts lookups: a flow secret resolved would show here. */
  function countingBackend(): SecretBackend & { asked: string[] } {
    const asked: string[] = [];
    return {
      asked,
      describe: () => "counting",
      get: async (name) => {
        asked.push(name);
        return "value";
      },
    };
  }

  type Attack = (d: Deployed, folder: string, marker: string) => Promise<void>;
  const attacks: [string, string, Attack][] = [
    [
      "bundle and manifest rewritten with a consistent sha256",
      "digest-mismatch",
      async (d, _, marker) => {
        const evil = Buffer.from(flowModule("nightly", marker).replace('"ran', '"evil'));
        const manifest = createManifest({
          flow: "nightly",
          flowSecrets: [],
          storageSecrets: [],
          bundle: evil,
          tributary: {},
        });
        await d.storage.save("nightly", [
          { name: BUNDLE_FILE, bytes: evil },
          { name: MANIFEST_FILE, bytes: Buffer.from(JSON.stringify(manifest)) },
        ]);
      },
    ],
    [
      "the signature stripped",
      "unsigned",
      async (_, folder) => rmSync(join(folder, "nightly", SIGNATURE_FILE)),
    ],
    [
      "one byte of the bundle changed",
      "digest-mismatch",
      async (d) => {
        const bytes = Buffer.from(d.bundle);
        const at = bytes.indexOf("appendFileSync(");
        bytes.writeUInt8((bytes[at] as number) ^ 1, at);
        await d.storage.save("nightly", [{ name: BUNDLE_FILE, bytes }]);
      },
    ],
    [
      "a valid signature of another flow copied in",
      "digest-mismatch",
      async (d, folder, marker) => {
        const other = await deploy(folder, "other", flowModule("other", marker), owner.privateKeyPem);
        await d.storage.save("nightly", [
          { name: SIGNATURE_FILE, bytes: Buffer.from(JSON.stringify(other.envelope)) },
        ]);
      },
    ],
    [
      "the signature's payload edited",
      "bad-signature",
      async (d) => {
        const statement = JSON.parse(Buffer.from(d.envelope?.payload ?? "", "base64").toString("utf8"));
        statement.predicate.signedAt = new Date(0).toISOString();
        const payload = Buffer.from(JSON.stringify(statement)).toString("base64");
        await d.storage.save("nightly", [
          { name: SIGNATURE_FILE, bytes: Buffer.from(JSON.stringify({ ...d.envelope, payload })) },
        ]);
      },
    ],
    [
      "a deployment signed with the attacker's own key",
      "unknown-key",
      async (_, folder, marker) => {
        await deploy(folder, "nightly", flowModule("nightly", marker), attacker.privateKeyPem);
      },
    ],
    [
      "a deployment signed for another address copied here",
      "wrong-address",
      async (_, folder, marker) => {
        const dev = mkdtempSync(join(tmpdir(), "tributary-sign-dev-"));
        try {
          await deploy(dev, "nightly", flowModule("nightly", marker), owner.privateKeyPem);
          for (const file of [BUNDLE_FILE, SIGNATURE_FILE, MANIFEST_FILE]) {
            writeFileSync(join(folder, "nightly", file), readFileSync(join(dev, "nightly", file)));
          }
        } finally {
          rmSync(dev, { recursive: true, force: true });
        }
      },
    ],
  ];

  it.each(attacks)(
    "refuses %s (%s): nothing imported, no flow secret resolved",
    async (_, reason, attack) => {
      const folder = join(dir, "flows");
      const marker = join(dir, "marker");
      const d = await deploy(folder, "nightly", flowModule("nightly", marker), owner.privateKeyPem);
      await attack(d, folder, marker);
      const backend = countingBackend();
      const error = await runDeployment(d.address, {
        trustedKeys: [owner.publicKeyPem],
        backends: [backend],
        root: process.cwd(),
        ...quiet,
      }).catch((e: unknown) => e);
      expect(DeploymentError.isInstance(error)).toBe(true);
      expect(error).toMatchObject({ code: "UNTRUSTED_DEPLOYMENT", reason, address: d.address });
      expect((error as Error).message).toContain(`not trusted (${reason})`);
      expect(existsSync(marker)).toBe(false);
      expect(backend.asked).toEqual([]);
      // verify says the same, and so does reading the manifest under the policy (the bundle is not read there).
      await expect(verifyDeployment(d.address, { trustedKeys: [owner.publicKeyPem] })).rejects.toMatchObject({
        reason,
      });
      // The same tampering without a policy: the bundle is imported (the marker proves the attack would work).
      if (reason !== "digest-mismatch" || attack !== attacks[2]?.[2]) {
        await runDeployment(d.address, { backends: [backend], ...quiet }).catch(() => {});
        expect(existsSync(marker)).toBe(true);
      }
    },
  );

  it("runs a correctly signed deployment; after rotation the old one is refused and a redeploy runs", async () => {
    const folder = join(dir, "flows");
    const marker = join(dir, "marker");
    const d = await deploy(folder, "nightly", flowModule("nightly", marker), owner.privateKeyPem);
    const report = await runDeployment(d.address, {
      trustedKeys: [owner.publicKeyPem],
      secrets: { FLOW_TOKEN: "t" },
      ...quiet,
    });
    expect(report).toMatchObject({ state: "completed", result: "string" });
    expect(readFileSync(marker, "utf8")).toBe("imported\nran\n");
    const signed = await verifyDeployment(d.address, { trustedKeys: [owner.publicKeyPem] });
    expect(signed).toMatchObject({
      keyId: owner.keyId,
      label: "release",
      address: d.address,
      sha256: d.manifest.bundle.sha256,
    });
    expect(Date.parse(signed.signedAt)).not.toBeNaN();

    const next = generateSigningKey("release-2");
    const rotated = [next.publicKeyPem];
    await expect(readDeploymentManifest(d.address, { trustedKeys: rotated })).rejects.toMatchObject({
      code: "UNTRUSTED_DEPLOYMENT",
      reason: "unknown-key",
    });
    await expect(
      runDeployment(d.address, { trustedKeys: rotated, secrets: { FLOW_TOKEN: "t" }, ...quiet }),
    ).rejects.toMatchObject({ reason: "unknown-key" });
    await deploy(folder, "nightly", flowModule("nightly", marker), next.privateKeyPem);
    const again = await runDeployment(d.address, {
      trustedKeys: rotated,
      secrets: { FLOW_TOKEN: "t" },
      ...quiet,
    });
    expect(again.state).toBe("completed");
    // During a rotation both keys are trusted: either signature is accepted.
    const both = await verifyDeployment(d.address, { trustedKeys: [owner.publicKeyPem, next.publicKeyPem] });
    expect(both.keyId).toBe(next.keyId);
  });

  it("compares addresses as the storage writes them (file://localhost/… is file:///…)", async () => {
    const folder = join(dir, "flows");
    const d = await deploy(folder, "nightly", flowModule("nightly", join(dir, "m")), owner.privateKeyPem);
    const other = d.address.replace("file:///", "file://localhost/");
    const signed = await verifyDeployment(other, {
      trustedKeys: [owner.publicKeyPem],
      kinds: [fileStorageKind],
    });
    expect(signed.address).toBe(d.address);
  });

  it("refuses an empty or malformed policy before reading anything", async () => {
    await expect(runDeployment("file:///nowhere/x", { trustedKeys: [] })).rejects.toMatchObject({
      code: "INVALID_INPUT",
      option: "trustedKeys",
    });
    await expect(runDeployment("file:///nowhere/x", { trustedKeys: ["nope"] })).rejects.toMatchObject({
      code: "INVALID_INPUT",
      option: "trustedKeys[0]",
    });
  });
});
