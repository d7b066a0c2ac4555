import { ValidationError } from "@tributary/auth";
import { parseDeploymentAddress, parseStorageAddress } from "@tributary/flow";
import { describe, expect, it } from "vitest";
import { allStorageKinds, STORAGE_SCHEMES, storageKindsFor } from "./storage-kinds.js";

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
});
