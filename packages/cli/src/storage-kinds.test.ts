import { ValidationError } from "@tributary/auth";
import { s3Storage, s3StorageKind } from "@tributary/aws";
import {
  allStorageKinds,
  parseDeploymentAddress,
  parseStorageAddress,
  STORAGE_SCHEMES,
  storageKindsFor,
} from "@tributary/flow";
import { gcsStorage } from "@tributary/gcp";
import { githubStorage, githubStorageKind } from "@tributary/github";
import { describe, expect, it } from "vitest";

const kinds = await allStorageKinds();

describe("the storage kinds the CLI knows", () => {
  it("are file, s3, gs and github, each loaded only when an address names it", async () => {
    expect(kinds.map((k) => k.scheme)).toEqual(["file", "s3", "gs", "github"]);
    expect(STORAGE_SCHEMES).toEqual(["file", "s3", "gs", "github"]);
    expect((await storageKindsFor("gs://flows/nightly")).map((k) => k.scheme)).toEqual(["gs"]);
    expect((await storageKindsFor("nope://x")).map((k) => k.scheme)).toEqual(STORAGE_SCHEMES);
  });

  const addresses: [string, string, string, readonly string[]][] = [
    ["s3://flows/prod/nightly", "s3://flows/prod/", "nightly", ["AWS_CREDENTIALS"]],
    ["s3://flows/nightly", "s3://flows/", "nightly", ["AWS_CREDENTIALS"]],
    ["gs://flows/a/b/nightly", "gs://flows/a/b/", "nightly", ["GCP_CREDENTIALS"]],
    [
      "github://acme/flows/prod/nightly@main",
      "github://acme/flows/prod/@main",
      "nightly",
      ["GITHUB_ACCESS_TOKEN"],
    ],
    [
      "github://acme/flows/nightly@release/2026",
      "github://acme/flows/@release/2026",
      "nightly",
      ["GITHUB_ACCESS_TOKEN"],
    ],
    ["github://acme/flows/nightly", "github://acme/flows/", "nightly", ["GITHUB_ACCESS_TOKEN"]],
    ["file:///srv/flows/nightly", "file:///srv/flows/", "nightly", []],
  ];
  it.each(addresses)("parses %s into its storage and name, and back", (address, storage, name, secrets) => {
    const parsed = parseDeploymentAddress(address, kinds);
    expect(parsed.storage.describe()).toBe(storage);
    expect(parsed.name).toBe(name);
    expect(parsed.storage.secrets).toEqual(secrets);
    expect(parsed.storage.address(name)).toBe(address);
    expect(parseStorageAddress(storage, kinds).address(name)).toBe(address);
  });

  const bad: [string, string, RegExp][] = [
    ["no bucket", "s3:///prod/nightly", /an s3:\/\/ address starts with the bucket/],
    ["an invalid bucket", "s3://Flows_Bad/nightly", /not a valid S3 bucket name/],
    ["no GCS bucket", "gs:///nightly", /a gs:\/\/ address starts with the bucket/],
    ["no repository", "github://acme/nightly@main", /cannot name a deployment|starts with the repository/],
    ["an empty ref", "github://acme/flows/nightly@", /ends with @ref/],
    ["a presigned URL", "s3://flows/prod/nightly?X-Amz-Signature=0123456789abcdef", /query or fragment/],
    ["user info", "https://user:ghp_notarealtoken0000@github.com/acme/flows", /user info/],
    [
      "an unknown scheme",
      "azure://container/nightly",
      /unknown storage kind "azure:\/\/"; known: file:\/\/, s3:\/\/, gs:\/\/, github:\/\//,
    ],
  ];
  it.each(bad)("refuses %s before any network call", (_, address, message) => {
    let error: unknown;
    try {
      parseDeploymentAddress(address, kinds);
    } catch (e) {
      error = e;
    }
    expect(ValidationError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toMatch(/0123456789abcdef|ghp_notarealtoken/);
  });

  const declared: [string, () => readonly string[] | undefined, readonly string[]][] = [
    ["s3Storage by default", () => s3Storage({ bucket: "flows" }).secrets, ["AWS_CREDENTIALS"]],
    [
      "s3Storage with secretName",
      () => s3Storage({ bucket: "flows", secretName: "PROD_AWS" }).secrets,
      ["PROD_AWS"],
    ],
    ["s3Storage with a profile", () => s3Storage({ bucket: "flows", profile: "prod" }).secrets, []],
    [
      "s3Storage with secrets",
      () => s3Storage({ bucket: "flows", secrets: ["A_B", "C"] }).secrets,
      ["A_B", "C"],
    ],
    ["a configured s3 kind", () => s3StorageKind.configure({ secretName: "PROD_AWS" }).secrets, ["PROD_AWS"]],
    ["gcsStorage by default", () => gcsStorage({ bucket: "flows" }).secrets, ["GCP_CREDENTIALS"]],
    [
      "githubStorage with a token",
      () => githubStorage({ repo: "acme/flows", token: "x".repeat(20) }).secrets,
      [],
    ],
    [
      "a github kind for an App",
      () => githubStorageKind.configure({ appSecretName: "GITHUB_APP_CREDENTIALS" }).secrets,
      ["GITHUB_APP_CREDENTIALS"],
    ],
  ];
  it.each(declared)("%s declares the right secret names", (_, secrets, expected) => {
    expect(secrets()).toEqual(expected);
  });

  it("refuses a storage secret list that is not names", () => {
    expect(() => s3Storage({ bucket: "flows", secrets: ["not a name"] })).toThrow(
      /secrets: must be a list of secret names/,
    );
  });
});
