import { Hash } from "@smithy/hash-node";
import { HttpRequest } from "@smithy/protocol-http";
import { SignatureV4 } from "@smithy/signature-v4";

const Sha256 = Hash.bind(null, "sha256");

import { launchServer, onFreePort, type ServerProcess, stopProcess } from "./server-process.js";
import type { AwsKeyPair } from "./sigv4.js";

/** The options of `startMoto`. */
export interface MotoOptions {
  /** The command to run. Default `moto_server` from PATH. */
  command?: string;
  /** How long to wait for it to answer (ms). Default 30 000. */
  startTimeoutMs?: number;
}

/** A running `moto_server` with IAM auth enforced. */
export interface Moto {
  /** Its base URL, such as `http://127.0.0.1:45123`. */
  readonly url: string;
  /** An IAM user's key pair allowed everything (`"Action": "*"`). */
  readonly keyPair: AwsKeyPair;
  /** Creates another IAM user with the given policy document and returns its key pair. */
  createUser(name: string, policy: object): Promise<AwsKeyPair>;
  /** Creates an IAM role that `service` (such as `lambda.amazonaws.com`) may assume, and returns its ARN. */
  createRole(name: string, service: string): Promise<string>;
  /** Stops the server. */
  close(): Promise<void>;
}

/**
 * Starts `moto_server` on a free port, creates an IAM user with an allow-all policy, and turns IAM auth on
 * (`POST /moto-api/reset-auth` with `0`): from then on moto recomputes SigV4 and evaluates IAM policies.
 * Throws a clear error when `moto_server` is not installed.
 * @example
 * const moto = await startMoto();
 * const s3 = new S3Client({ endpoint: moto.url, forcePathStyle: true, region: "us-east-1", credentials: moto.keyPair });
 * await moto.close();
 */
export async function startMoto(options: MotoOptions = {}): Promise<Moto> {
  const command = options.command ?? "moto_server";
  const server: ServerProcess = {
    command,
    args: (port) => ["-p", String(port), "-H", "127.0.0.1"],
    install: `The AWS tests need moto's server: pip install "moto[server]>=5" (it provides moto_server).`,
    ready: (port) =>
      fetch(`http://127.0.0.1:${port}/moto-api/`)
        .then((r) => r.ok)
        .catch(() => false),
    startTimeoutMs: options.startTimeoutMs ?? 30_000,
    pollMs: 100,
  };
  // Started again on another port when the one chosen was taken before moto could bind it.
  const { child, port } = await onFreePort(async (port) => ({
    child: await launchServer(server, port),
    port,
  }));
  const url = `http://127.0.0.1:${port}`;
  const stop = () => stopProcess(child);

  const iam = async (params: Record<string, string>, key: AwsKeyPair): Promise<string> => {
    const body = new URLSearchParams({ ...params, Version: "2010-05-08" }).toString();
    const signer = new SignatureV4({ credentials: key, region: "us-east-1", service: "iam", sha256: Sha256 });
    const signed = await signer.sign(
      new HttpRequest({
        method: "POST",
        protocol: "http:",
        hostname: "127.0.0.1",
        port,
        path: "/",
        headers: {
          host: `127.0.0.1:${port}`,
          "content-type": "application/x-www-form-urlencoded; charset=utf-8",
        },
        body,
      }),
    );
    const response = await fetch(`${url}/`, {
      method: "POST",
      headers: signed.headers as Record<string, string>,
      body,
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`moto IAM ${params.Action} failed: ${response.status} ${text}`);
    return text;
  };
  const bootstrap: AwsKeyPair = { accessKeyId: "bootstrap", secretAccessKey: "bootstrap" };
  const createUser = async (name: string, policy: object, signer: AwsKeyPair): Promise<AwsKeyPair> => {
    await iam({ Action: "CreateUser", UserName: name }, signer);
    await iam(
      {
        Action: "PutUserPolicy",
        UserName: name,
        PolicyName: `${name}-policy`,
        PolicyDocument: JSON.stringify(policy),
      },
      signer,
    );
    const created = await iam({ Action: "CreateAccessKey", UserName: name }, signer);
    const accessKeyId = /<AccessKeyId>([^<]+)<\/AccessKeyId>/.exec(created)?.[1];
    const secretAccessKey = /<SecretAccessKey>([^<]+)<\/SecretAccessKey>/.exec(created)?.[1];
    if (!accessKeyId || !secretAccessKey) throw new Error("moto CreateAccessKey returned no key");
    return { accessKeyId, secretAccessKey };
  };
  try {
    const keyPair = await createUser(
      "tributary-admin",
      { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] },
      bootstrap,
    );
    const reset = await fetch(`${url}/moto-api/reset-auth`, { method: "POST", body: "0" });
    if (!reset.ok) throw new Error(`moto reset-auth failed: ${reset.status}`);
    return {
      url,
      keyPair,
      createUser: (name, policy) => createUser(name, policy, keyPair),
      createRole: async (name, service) => {
        const trust = {
          Version: "2012-10-17",
          Statement: [{ Effect: "Allow", Principal: { Service: service }, Action: "sts:AssumeRole" }],
        };
        const created = await iam(
          { Action: "CreateRole", RoleName: name, AssumeRolePolicyDocument: JSON.stringify(trust) },
          keyPair,
        );
        const arn = /<Arn>([^<]+)<\/Arn>/.exec(created)?.[1];
        if (!arn) throw new Error("moto CreateRole returned no ARN");
        return arn;
      },
      close: stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}
