import { registerSecretValue, ServiceError, ValidationError } from "@tributary/auth";
import { task, taskContext } from "@tributary/flow";
import { toAwsError } from "./aws-errors.js";
import type { Grant } from "./s3-scope.js";
import {
  checkParameterName,
  decryptGrant,
  parameterArn,
  type SsmConnectionOptions,
  ssmConnection,
} from "./ssm-client.js";

/** The options of `ssmGetParameters`: some names, or a path. */
export type SsmGetParametersOptions = SsmConnectionOptions & {
  /** Decrypt `SecureString` values (default true; the credential then needs `kms:Decrypt` through SSM). */
  withDecryption?: boolean;
} & (
    | {
        /** The parameters' names (any number: read ten at a time). Each must exist. */
        names: readonly string[];
        path?: never;
        recursive?: never;
      }
    | {
        /** A hierarchy such as `/app/prod`: every parameter directly under it. */
        path: string;
        /** Also the parameters below its sub-paths. Default false. */
        recursive?: boolean;
        names?: never;
      }
  );

/** One parameter read. */
export interface SsmParameter {
  /** Its name. */
  name: string;
  /** Its value (for a `SecureString`, decrypted, and registered with the run's masker). */
  value: string;
  /** `String`, `StringList` or `SecureString`. */
  type: string;
  /** Its version. */
  version: number | undefined;
}

/** What `ssmGetParameters` returns. */
export interface SsmGetParametersResult {
  parameters: SsmParameter[];
}

function toParameter(p: { Name?: string; Value?: string; Type?: string; Version?: number }): SsmParameter {
  const value = p.Value ?? "";
  if (p.Type === "SecureString" && value) registerSecretValue(value);
  return { name: p.Name ?? "", value, type: p.Type ?? "String", version: p.Version };
}

/**
 * Reads parameters from AWS Systems Manager Parameter Store, by name (`GetParameters`, ten at a time) or under a path
 * (`GetParametersByPath`, every page). `SecureString` values are decrypted and registered with the run's masker, so
 * logs and reports show `[redacted]`. A name that does not exist is a `ServiceError` `NOT_FOUND` naming it. With
 * `leastPrivilege` and a role, the credentials allow only reading these parameters (or this path), and `kms:Decrypt`
 * through SSM.
 * @example
 * const { parameters } = await ssmGetParameters({ path: "/etl/prod", recursive: true });
 */
export const ssmGetParameters = task(
  { name: "ssmGetParameters" },
  async (options: SsmGetParametersOptions): Promise<SsmGetParametersResult> => {
    const byNames = options?.names !== undefined;
    if (byNames === (options?.path !== undefined)) {
      throw new ValidationError("names", "give either `names` or `path`, not both");
    }
    const withDecryption = options.withDecryption ?? true;
    const region = options.region;
    const grants: Grant[] = [];
    let names: string[] = [];
    let path = "";
    if (byNames) {
      if (!Array.isArray(options.names) || options.names.length === 0) {
        throw new ValidationError("names", "give at least one parameter name");
      }
      names = [...new Set(options.names.map((n, i) => checkParameterName(n, `names[${i}]`)))];
      let resources = names.map((n) => parameterArn(n, region));
      // STS takes a session policy of 2,048 characters (packed): many names are allowed as the prefix they share.
      if (resources.join('","').length > 1500) {
        let shared = names[0] as string;
        for (const n of names) while (!n.startsWith(shared)) shared = shared.slice(0, -1);
        resources = [parameterArn(`${shared}*`, region)];
      }
      grants.push({ actions: ["ssm:GetParameters", "ssm:GetParameter"], resources });
    } else {
      path = checkParameterName(options.path, "path");
      if (!path.startsWith("/")) throw new ValidationError("path", "must start with / (such as /app/prod)");
      const trimmed = path === "/" ? "" : path.replace(/\/$/, "");
      grants.push({
        actions: ["ssm:GetParametersByPath"],
        resources: [parameterArn(trimmed || "/", region), parameterArn(`${trimmed}/*`, region)],
      });
    }
    if (withDecryption) grants.push(decryptGrant(region));
    const { client, source, sdk } = await ssmConnection(options, grants);
    const signal = taskContext()?.signal;
    const send = signal ? { abortSignal: signal } : {};
    const parameters: SsmParameter[] = [];
    const what = byNames ? `reading parameters ${names.join(", ")}` : `reading parameters under ${path}`;
    try {
      if (byNames) {
        const missing: string[] = [];
        for (let i = 0; i < names.length; i += 10) {
          const out = await client.send(
            new sdk.GetParametersCommand({ Names: names.slice(i, i + 10), WithDecryption: withDecryption }),
            send,
          );
          for (const p of out.Parameters ?? []) parameters.push(toParameter(p));
          missing.push(...(out.InvalidParameters ?? []));
        }
        if (missing.length > 0) {
          throw new ServiceError("NOT_FOUND", "SSM", `${what}: not found: ${missing.join(", ")}`, 400, {
            reason: "ParameterNotFound",
          });
        }
        parameters.sort((a, b) => names.indexOf(a.name) - names.indexOf(b.name));
      } else {
        let token: string | undefined;
        do {
          const out = await client.send(
            new sdk.GetParametersByPathCommand({
              Path: path,
              Recursive: options.recursive === true,
              WithDecryption: withDecryption,
              ...(token ? { NextToken: token } : {}),
            }),
            send,
          );
          for (const p of out.Parameters ?? []) parameters.push(toParameter(p));
          token = out.NextToken;
        } while (token);
      }
    } catch (error) {
      throw toAwsError(error, "SSM", source, what, signal);
    }
    return { parameters };
  },
);
