import { randomBytes, randomUUID } from "node:crypto";
import { type AwsAuthorizeRequest, awsJsonErrorReply, awsStandInAuth, readJsonRequest } from "./aws-sts.js";

export { awsJsonErrorReply };

import { type AwsKeyPair, randomKeyPair } from "./sigv4.js";
import { route, type StandIn, type StandInReply, startStandIn } from "./stand-in.js";

/** The options of `startSecretsManagerStandIn`. */
export interface SecretsManagerStandInOptions {
  /** The key pairs accepted. Default: one random pair (see `keyPairs` on the stand-in). */
  keyPairs?: AwsKeyPair[];
  /** Secrets present at start: name → `SecretString`. */
  secrets?: Record<string, string>;
  /** Return false to answer `AccessDeniedException`. Default: everything allowed. */
  authorize?: (request: AwsAuthorizeRequest) => boolean;
  /** The region in ARNs. Default `us-east-1`. */
  region?: string;
}

/** A running Secrets Manager stand-in. */
export interface SecretsManagerStandIn extends StandIn {
  /** The key pairs accepted. `keyPairs[0]` is the default one. */
  readonly keyPairs: AwsKeyPair[];
  /** Sets a secret directly (no request). */
  setSecret(name: string, value: string): void;
  /** How many `GetSecretValue` calls were answered with a value, per secret. */
  readonly reads: Map<string, number>;
}

/**
 * Starts an AWS Secrets Manager stand-in (JSON protocol: `GetSecretValue`, `CreateSecret`, `PutSecretValue`,
 * `DeleteSecret`), checking every request's SigV4 signature: an unknown key is `UnrecognizedClientException`, a wrong
 * secret `InvalidSignatureException`. Point the SDK at it with `endpoint: sm.url`.
 * @example
 * const sm = await startSecretsManagerStandIn({ secrets: { AWS_CREDENTIALS: JSON.stringify(value) } });
 */
export async function startSecretsManagerStandIn(
  options: SecretsManagerStandInOptions = {},
): Promise<SecretsManagerStandIn> {
  const keyPairs: AwsKeyPair[] = options.keyPairs ? [...options.keyPairs] : [randomKeyPair()];
  const region = options.region ?? "us-east-1";
  const authorize = options.authorize ?? (() => true);
  const auth = awsStandInAuth(keyPairs, authorize, undefined);
  const secrets = new Map<string, { value: string; versionId: string; created: Date; arn: string }>();
  const reads = new Map<string, number>();
  const arnOf = (name: string) =>
    `arn:aws:secretsmanager:${region}:123456789012:secret:${name}-${randomBytes(3).toString("hex")}`;
  const put = (name: string, value: string) => {
    const prev = secrets.get(name);
    secrets.set(name, { value, versionId: randomUUID(), created: new Date(), arn: prev?.arn ?? arnOf(name) });
  };
  for (const [name, value] of Object.entries(options.secrets ?? {})) put(name, value);

  const error = (type: string, message: string, status = 400): StandInReply => ({
    status,
    ...awsJsonErrorReply(type, message),
  });
  const find = (id: string) => {
    for (const [name, s] of secrets) if (name === id || s.arn === id) return { name, ...s };
    return undefined;
  };

  const standIn = await startStandIn(
    [
      route("POST", "/", async (request) => {
        const signed = await readJsonRequest(auth, request, "secretsmanager.");
        if (!signed.ok) return signed.reply;
        const { action, input } = signed;
        const id = String(input.SecretId ?? input.Name ?? "");
        if (
          !authorize({ accessKeyId: signed.accessKeyId, action: `secretsmanager:${action}`, resource: id })
        ) {
          return error(
            "AccessDeniedException",
            `User ${signed.accessKeyId} is not authorized to perform: secretsmanager:${action} on resource: ${id}`,
          );
        }
        const json = (value: object): StandInReply => ({
          headers: { "content-type": "application/x-amz-json-1.1", "x-amzn-requestid": randomUUID() },
          body: value,
        });
        switch (action) {
          case "GetSecretValue": {
            const s = find(id);
            if (!s)
              return error("ResourceNotFoundException", "Secrets Manager can't find the specified secret.");
            reads.set(s.name, (reads.get(s.name) ?? 0) + 1);
            return json({
              ARN: s.arn,
              Name: s.name,
              VersionId: s.versionId,
              SecretString: s.value,
              VersionStages: ["AWSCURRENT"],
              CreatedDate: s.created.getTime() / 1000,
            });
          }
          case "CreateSecret": {
            if (!id || typeof input.SecretString !== "string") {
              return error("InvalidParameterException", "Name and SecretString are required.");
            }
            if (secrets.has(id)) {
              return error(
                "ResourceExistsException",
                `The operation failed because the secret ${id} already exists.`,
              );
            }
            put(id, input.SecretString);
            const s = secrets.get(id) as { arn: string; versionId: string };
            return json({ ARN: s.arn, Name: id, VersionId: s.versionId });
          }
          case "PutSecretValue": {
            if (!find(id))
              return error("ResourceNotFoundException", "Secrets Manager can't find the specified secret.");
            if (typeof input.SecretString !== "string")
              return error("InvalidParameterException", "SecretString is required.");
            const name = find(id)?.name as string;
            put(name, input.SecretString);
            const s = secrets.get(name) as { arn: string; versionId: string };
            return json({ ARN: s.arn, Name: name, VersionId: s.versionId, VersionStages: ["AWSCURRENT"] });
          }
          case "DeleteSecret": {
            const s = find(id);
            if (!s)
              return error("ResourceNotFoundException", "Secrets Manager can't find the specified secret.");
            secrets.delete(s.name);
            return json({ ARN: s.arn, Name: s.name, DeletionDate: Date.now() / 1000 });
          }
          default:
            return error(
              "UnknownOperationException",
              `The Secrets Manager stand-in does not implement ${action}`,
            );
        }
      }),
    ],
    { name: "secrets-manager" },
  );
  return {
    ...standIn,
    keyPairs,
    reads,
    setSecret: put,
  };
}
