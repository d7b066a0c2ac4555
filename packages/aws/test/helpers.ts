import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import type { AwsCredentials } from "@tributary/auth";
import { type AwsKeyPair, type S3StandIn, startMoto, startS3StandIn } from "@tributary/testing";

/** @internal Our `AWS_CREDENTIALS` shape for a key pair. */
export function asSecret(key: AwsKeyPair): AwsCredentials {
  return { ACCESS_KEY: key.accessKeyId, SECRET_ACCESS_KEY: key.secretAccessKey };
}

/** @internal Clears every AWS and Tributary variable and points TRIBUTARY_HOME at a fresh folder. */
export async function cleanEnv(): Promise<() => Promise<void>> {
  for (const k of Object.keys(process.env)) {
    if (k.startsWith("AWS_") || k.startsWith("TRIBUTARY__")) delete process.env[k];
  }
  const home = await mkdtemp(join(tmpdir(), "tributary-aws-home-"));
  process.env.TRIBUTARY_HOME = home;
  // Keep the SDK away from the machine's own ~/.aws files.
  process.env.AWS_CONFIG_FILE = join(home, "aws-config");
  process.env.AWS_SHARED_CREDENTIALS_FILE = join(home, "aws-credentials");
  process.env.AWS_EC2_METADATA_DISABLED = "true";
  return () => rm(home, { recursive: true, force: true });
}

/** @internal An S3 service to run the task suite against. */
export interface S3Target {
  name: string;
  endpoint: string;
  key: AwsKeyPair;
  standIn: S3StandIn | undefined;
  createBucket(name: string): Promise<void>;
  close(): Promise<void>;
}

/** @internal The S3 stand-in as a target. */
export async function standInTarget(): Promise<S3Target> {
  const s3 = await startS3StandIn();
  return {
    name: "stand-in",
    endpoint: s3.url,
    key: s3.keyPairs[0] as AwsKeyPair,
    standIn: s3,
    createBucket: async (name) => s3.createBucket(name),
    close: () => s3.close(),
  };
}

/** @internal moto_server with IAM auth enforced as a target. */
export async function motoTarget(): Promise<S3Target> {
  const moto = await startMoto();
  const admin = new S3Client({
    endpoint: moto.url,
    forcePathStyle: true,
    region: "us-east-1",
    credentials: moto.keyPair,
  });
  return {
    name: "moto",
    endpoint: moto.url,
    key: moto.keyPair,
    standIn: undefined,
    createBucket: async (name) => {
      await admin.send(new CreateBucketCommand({ Bucket: name }));
    },
    close: async () => {
      admin.destroy();
      await moto.close();
    },
  };
}
