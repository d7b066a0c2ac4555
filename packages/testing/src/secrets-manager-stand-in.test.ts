import { Hash } from "@smithy/hash-node";
import { HttpRequest } from "@smithy/protocol-http";
import { SignatureV4 } from "@smithy/signature-v4";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type AwsKeyPair,
  awsJsonErrorReply,
  randomKeyPair,
  type SecretsManagerStandIn,
  startSecretsManagerStandIn,
} from "./index.js";

const Sha256 = Hash.bind(null, "sha256");
let sm: SecretsManagerStandIn;
let key: AwsKeyPair;
const denied = randomKeyPair();

beforeAll(async () => {
  key = randomKeyPair();
  sm = await startSecretsManagerStandIn({
    keyPairs: [key, denied],
    secrets: { EXISTING: "value-1" },
    authorize: ({ accessKeyId }) => accessKeyId !== denied.accessKeyId,
  });
});
afterAll(() => sm.close());

/** Sends a JSON-protocol call signed like the AWS SDK does. */
async function call(action: string, input: object, as: AwsKeyPair = key) {
  const url = new URL(sm.url);
  const body = JSON.stringify(input);
  const signer = new SignatureV4({
    credentials: as,
    region: "us-east-1",
    service: "secretsmanager",
    sha256: Sha256,
  });
  const signed = await signer.sign(
    new HttpRequest({
      method: "POST",
      protocol: "http:",
      hostname: url.hostname,
      port: Number(url.port),
      path: "/",
      headers: {
        host: url.host,
        "content-type": "application/x-amz-json-1.1",
        "x-amz-target": `secretsmanager.${action}`,
      },
      body,
    }),
  );
  const response = await fetch(`${sm.url}/`, {
    method: "POST",
    headers: Object.fromEntries(Object.entries(signed.headers).filter(([h]) => h !== "host")),
    body,
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

describe("Secrets Manager stand-in", () => {
  it("creates and reads secrets, counting reads", async () => {
    expect((await call("CreateSecret", { Name: "NEW", SecretString: '{"a":1}' })).status).toBe(200);
    const out = await call("GetSecretValue", { SecretId: "NEW" });
    expect(out.json).toMatchObject({ Name: "NEW", SecretString: '{"a":1}', VersionStages: ["AWSCURRENT"] });
    expect(sm.reads.get("NEW")).toBe(1);
    const byArn = await call("GetSecretValue", { SecretId: out.json.ARN });
    expect(byArn.json.SecretString).toBe('{"a":1}');
    const dup = await call("CreateSecret", { Name: "NEW", SecretString: "x" });
    expect(dup.json.__type).toBe("ResourceExistsException");
  });

  it.each([
    { what: "a missing secret", id: "NOPE", as: () => key, type: "ResourceNotFoundException" },
    {
      what: "a wrong secret key",
      id: "EXISTING",
      as: () => ({ ...key, secretAccessKey: "wrong" }),
      type: "InvalidSignatureException",
    },
    {
      what: "an unknown key",
      id: "EXISTING",
      as: () => randomKeyPair(),
      type: "UnrecognizedClientException",
    },
    { what: "a denied key", id: "EXISTING", as: () => denied, type: "AccessDeniedException" },
  ])("answers $what with $type", async ({ id, as, type }) => {
    const out = await call("GetSecretValue", { SecretId: id }, as());
    expect(out.status).toBe(400);
    expect(out.json.__type).toBe(type);
    expect(JSON.stringify(out.json)).not.toContain("value-1");
  });

  it("injects AWS JSON errors such as throttling", async () => {
    sm.failNext(1, 400, awsJsonErrorReply("ThrottlingException", "Rate exceeded"));
    expect((await call("GetSecretValue", { SecretId: "EXISTING" })).json.__type).toBe("ThrottlingException");
    expect((await call("GetSecretValue", { SecretId: "EXISTING" })).json.SecretString).toBe("value-1");
  });
});
