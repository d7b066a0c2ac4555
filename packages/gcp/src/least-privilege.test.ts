import { describe, expect, it } from "vitest";
import { useGoogle } from "../test/helpers.js";
import { gcsClient, gcsCopy, gcsList, gcsUpload } from "./index.js";

const env = useGoogle();

const scopedOptions = () => ({
  credentials: env.key(),
  endpoint: env.google().url,
  stsEndpoint: env.google().stsUrl,
  leastPrivilege: true,
});

/** What a bearer token may do, asked of the stand-in over HTTP as any client would. */
async function status(token: string, path: string): Promise<number> {
  const res = await fetch(`${env.google().url}${path}`, { headers: { authorization: `Bearer ${token}` } });
  await res.arrayBuffer();
  return res.status;
}

const objectPath = (bucket: string, name: string) => `/storage/v1/b/${bucket}/o/${encodeURIComponent(name)}`;

describe("leastPrivilege on GCS tasks: a downscoped token (Credential Access Boundary)", () => {
  it("lets an upload write its one object, and its token reaches no other object or bucket", async () => {
    const google = env.google();
    google.createBucket("elsewhere");
    await google.putObject(env.bucket, "exports/2025/old.csv", "old");
    await google.putObject("elsewhere", "exports/2026/a.csv", "x");
    const before = google.downscopedBoundaries.length;
    await gcsUpload({ ...scopedOptions(), bucket: env.bucket, key: "exports/2026/a.csv", body: "a" });
    expect((await google.readObject(env.bucket, "exports/2026/a.csv"))?.toString()).toBe("a");
    expect(google.downscopedBoundaries.length - before).toBe(1);

    // The token the task held: only objectCreator on that one object.
    const { auth } = await gcsClient(scopedOptions(), {
      bucket: env.bucket,
      object: "exports/2026/a.csv",
      access: "write",
    });
    expect(google.downscopedBoundaries.length - before).toBe(1);
    const token = (await auth.client.getAccessToken()).token as string;
    expect(await status(token, objectPath(env.bucket, "exports/2025/old.csv"))).toBe(403);
    expect(await status(token, objectPath("elsewhere", "exports/2026/a.csv"))).toBe(403);
    expect(auth.source.detail).toContain("scoped to write on gs://test-bucket/exports/2026/a.csv");
  });

  it("lets a listing read under its prefix only", async () => {
    const google = env.google();
    await google.putObject(env.bucket, "logs/2026/1.txt", "1");
    const listed = await gcsList({ ...scopedOptions(), bucket: env.bucket, prefix: "logs/2026/" });
    expect(listed.objects.map((o) => o.key)).toEqual(["logs/2026/1.txt"]);
    const { auth } = await gcsClient(scopedOptions(), {
      bucket: env.bucket,
      prefix: "logs/2026/",
      access: "read",
    });
    const token = (await auth.client.getAccessToken()).token as string;
    const list = (prefix: string) =>
      status(token, `/storage/v1/b/${env.bucket}/o?prefix=${encodeURIComponent(prefix)}`);
    expect(await list("logs/2026/")).toBe(200);
    expect(await list("")).toBe(403);
    expect(await status(token, objectPath(env.bucket, "logs/2026/1.txt"))).toBe(200);
    expect(await status(token, objectPath(env.bucket, "exports/2025/old.csv"))).toBe(403);
  });

  it("gives a copy read on its source and create on its target, in one token", async () => {
    const google = env.google();
    await google.putObject(env.bucket, "in/a.csv", "a");
    await gcsCopy({
      ...scopedOptions(),
      from: { bucket: env.bucket, key: "in/a.csv" },
      to: { bucket: env.bucket, key: "out/a.csv" },
    });
    expect((await google.readObject(env.bucket, "out/a.csv"))?.toString()).toBe("a");
    expect(google.downscopedBoundaries.at(-1)).toHaveLength(2);
  });
});
