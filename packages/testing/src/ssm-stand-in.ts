import { randomUUID } from "node:crypto";
import {
  type AwsServiceStandIn,
  type AwsServiceStandInOptions,
  awsJsonErrorReply,
  awsStandInAuth,
  readJsonRequest,
  STAND_IN_ACCOUNT,
} from "./aws-sts.js";
import { type AwsKeyPair, randomKeyPair } from "./sigv4.js";
import { route, type StandInReply, startStandIn } from "./stand-in.js";

/** A parameter of the Parameter Store stand-in. */
export interface SsmStandInParameter {
  value: string;
  /** Default `String`. */
  type?: "String" | "StringList" | "SecureString";
}

/** The options of `startSsmStandIn`. */
export interface SsmStandInOptions extends AwsServiceStandInOptions {
  /** Parameters present at start: name → value (a `String`) or `{ value, type }`. */
  parameters?: Record<string, string | SsmStandInParameter>;
}

/** A running Parameter Store stand-in. */
export interface SsmStandIn extends AwsServiceStandIn {
  /** Sets a parameter directly (no request); its version goes up by one. */
  setParameter(name: string, value: string, type?: SsmStandInParameter["type"]): void;
}

/**
 * Starts an AWS Systems Manager Parameter Store stand-in (JSON protocol: `GetParameter`, `GetParameters`,
 * `GetParametersByPath`, `PutParameter`), checking every request's SigV4 signature as SSM does, the session policy of
 * keys it issued through STS and the `authorize` hook (`ssm:GetParameter` on `parameter/NAME`). A `SecureString` read
 * without `WithDecryption` answers a ciphertext stand-in, as SSM does. Point the SDK at it with `endpoint: ssm.url`.
 * @example
 * const ssm = await startSsmStandIn({ parameters: { "/app/token": { value: "abc", type: "SecureString" } } });
 */
export async function startSsmStandIn(options: SsmStandInOptions = {}): Promise<SsmStandIn> {
  const keyPairs: AwsKeyPair[] = options.keyPairs ? [...options.keyPairs] : [randomKeyPair()];
  const region = options.region ?? "us-east-1";
  const auth = awsStandInAuth(keyPairs, options.authorize ?? (() => true), options.sts);
  const parameters = new Map<string, { value: string; type: string; version: number; modified: Date }>();
  const put = (name: string, value: string, type: string = "String") => {
    const version = (parameters.get(name)?.version ?? 0) + 1;
    parameters.set(name, { value, type, version, modified: new Date() });
    return version;
  };
  for (const [name, p] of Object.entries(options.parameters ?? {})) {
    if (typeof p === "string") put(name, p);
    else put(name, p.value, p.type);
  }
  const arnOf = (name: string) =>
    `arn:aws:ssm:${region}:${STAND_IN_ACCOUNT}:parameter/${name.replace(/^\//, "")}`;
  const error = (type: string, message: string, status = 400): StandInReply => ({
    status,
    ...awsJsonErrorReply(type, message),
  });
  const json = (value: object): StandInReply => ({
    headers: { "content-type": "application/x-amz-json-1.1", "x-amzn-requestid": randomUUID() },
    body: value,
  });
  const shape = (name: string, decrypt: boolean) => {
    const p = parameters.get(name) as { value: string; type: string; version: number; modified: Date };
    const value =
      p.type === "SecureString" && !decrypt ? Buffer.from(`kms:${randomUUID()}`).toString("base64") : p.value;
    return {
      Name: name,
      Type: p.type,
      Value: value,
      Version: p.version,
      ARN: arnOf(name),
      DataType: "text",
      LastModifiedDate: p.modified.getTime() / 1000,
    };
  };

  const standIn = await startStandIn(
    [
      route("POST", "/", async (request) => {
        if (await auth.isSts(request)) return auth.answerSts(request);
        const signed = await readJsonRequest(auth, request, "AmazonSSM.");
        if (!signed.ok) return signed.reply;
        const { action, input } = signed;
        const denied = (name: string) => {
          const arn = arnOf(name);
          return auth.allows(signed.accessKeyId, `ssm:${action}`, arn, name)
            ? undefined
            : error(
                "AccessDeniedException",
                `User: ${signed.accessKeyId} is not authorized to perform: ssm:${action} on resource: ${arn}`,
              );
        };
        const decrypt = input.WithDecryption === true;
        switch (action) {
          case "GetParameter": {
            const name = String(input.Name ?? "");
            const refused = denied(name);
            if (refused) return refused;
            if (!parameters.has(name)) return error("ParameterNotFound", `Parameter ${name} not found.`);
            return json({ Parameter: shape(name, decrypt) });
          }
          case "GetParameters": {
            const names = (input.Names as string[] | undefined) ?? [];
            for (const name of names) {
              const refused = denied(name);
              if (refused) return refused;
            }
            return json({
              Parameters: names.filter((n) => parameters.has(n)).map((n) => shape(n, decrypt)),
              InvalidParameters: names.filter((n) => !parameters.has(n)),
            });
          }
          case "GetParametersByPath": {
            const path = String(input.Path ?? "");
            const refused = denied(path);
            if (refused) return refused;
            const base = path.endsWith("/") ? path : `${path}/`;
            const matching = [...parameters.keys()]
              .filter(
                (n) =>
                  n.startsWith(base) && (input.Recursive === true || !n.slice(base.length).includes("/")),
              )
              .sort();
            const start = Number(input.NextToken ?? 0);
            const max = Number(input.MaxResults ?? 10);
            return json({
              Parameters: matching.slice(start, start + max).map((n) => shape(n, decrypt)),
              ...(start + max < matching.length ? { NextToken: String(start + max) } : {}),
            });
          }
          case "PutParameter": {
            const name = String(input.Name ?? "");
            const refused = denied(name);
            if (refused) return refused;
            if (parameters.has(name) && input.Overwrite !== true) {
              return error("ParameterAlreadyExists", "The parameter already exists.");
            }
            return json({ Version: put(name, String(input.Value ?? ""), String(input.Type ?? "String")) });
          }
          default:
            return error("UnknownOperationException", `The SSM stand-in does not implement ${action}`);
        }
      }),
    ],
    { name: "ssm" },
  );
  return {
    ...standIn,
    keyPairs,
    assumedRoles: auth.assumedRoles,
    setParameter: (name, value, type) => {
      put(name, value, type);
    },
  };
}
